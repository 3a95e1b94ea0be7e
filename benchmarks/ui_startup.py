"""How long the chat page takes: cold start (model load + first-start seed indexing), first and later answers.

Drives ui/app.py with Streamlit's AppTest on a fresh store in a temporary folder; prints JSON.
Run: python benchmarks/ui_startup.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the app imports rag and ui from the project folder, as `python -m streamlit` allows


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    os.environ["RAG_STORE_PATH"] = str(tmp / "store")
    os.environ["RAG_UPLOADS_PATH"] = str(tmp / "uploads")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    if at.exception or not at.chat_input:
        sys.exit(f"the page did not start: {at.exception}")
    t0 = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - t0
    timings = []
    for q in ("Who is the Secretary General of NATO?", "What does the troop withdrawal depend on?",
              "How many U.S. troops are still in Afghanistan?"):
        t0 = time.perf_counter()
        at.chat_input[0].set_value(q).run()
        timings.append(round(time.perf_counter() - t0, 3))
    if at.exception:
        sys.exit(f"app raised: {at.exception}")
    print(json.dumps({
        "cold_start_s": round(cold, 3), "rerun_s": round(rerun, 3),
        "first_answer_s": timings[0], "later_answers_s": timings[1:],
        "note": "answer times include the word-by-word display (12 ms a word)",
    }))


if __name__ == "__main__":
    main()
