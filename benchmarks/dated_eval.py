"""How often dated answers (rag.dated) reorder answers on real news, and what that does to answer hits; prints JSON.

    python benchmarks/dated_eval.py --every 3 --distractors 150   # a sample of news-2025

Indexes the gold articles of every n-th question of the set plus random other articles into a
temporary store, answers each sampled question extractively, and compares the plain answer with the
same answer after :func:`rag.dated.lead_with_latest`: how many changed, the answer hit of each (the
set's scoring: a gold answer in the answer, at most 60 words), and every changed answer to read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, Settings  # noqa: E402
from rag.answer import ExtractiveAnswerer  # noqa: E402
from rag.dated import lead_with_latest  # noqa: E402
from rag.evaluate import contains_any  # noqa: E402


def hit(text: str, golds: list[str]) -> bool:
    return contains_any(text, golds) and len(text.split()) <= 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, default=ROOT.parent / "shared" / "eval" / "news-2025")
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--distractors", type=int, default=150)
    args = ap.parse_args()
    questions = [json.loads(line) for line in (args.set / "questions.jsonl").open()][:: args.every]
    articles = {a["id"]: a for a in map(json.loads, (args.set / "articles.jsonl").open())}
    keep = {q["article_id"] for q in questions} | set(random.Random(0).sample(sorted(articles), args.distractors))
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "articles.jsonl"
        corpus.write_text("".join(json.dumps(articles[i]) + "\n" for i in sorted(keep)))
        lib = Library(Settings(store_path=Path(work) / "store"))
        report = lib.ingest([corpus])
        s = lib.settings
        answerer = ExtractiveAnswerer(lib.embedder, max_words=s.answer_max_words, answerable_threshold=s.answerable_threshold,
                                      library_size=lib.chunk_count, term_weights=lib.term_weights,
                                      stored=lib.store.sentence_blobs)
        changed, plain_hits, dated_hits = [], 0, 0
        for q in questions:
            passages, qvec = lib.search_with_vector(q["question"])
            plain = answerer.answer(q["question"], passages, qvec)
            dated = lead_with_latest(plain, s.answer_max_words)
            plain_hits += hit(plain.text, q["answers"])
            dated_hits += hit(dated.text, q["answers"])
            if dated is not plain:
                changed.append({"question": q["question"], "asked": q.get("asked"), "answers": q["answers"],
                                "plain": plain.text, "dated": dated.text,
                                "plain_hit": hit(plain.text, q["answers"]), "dated_hit": hit(dated.text, q["answers"])})
    print(json.dumps({"set": str(args.set), "questions": len(questions), "articles": len(keep),
                      "chunks": report.chunks_embedded, "changed": len(changed),
                      "answer_hit_plain": round(plain_hits / len(questions), 4),
                      "answer_hit_dated": round(dated_hits / len(questions), 4), "changed_answers": changed},
                     indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
