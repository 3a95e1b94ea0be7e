"""The README stays true: every setting documented, the quick start unchanged in shape."""

import re

from rag import Settings

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    documented = set(re.findall(r"`(RAG_[A-Z_]+)`", README))
    expected = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    assert expected <= documented, expected - documented
    assert documented - {"RAG_DEBUG"} <= expected, documented - expected


def test_quick_start_is_two_commands_that_exist():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "ui/app.py" in commands[0] and (ROOT / "ui" / "app.py").exists()
    assert commands[1].startswith("bash .ci/run") and (ROOT / ".ci" / "run").exists()
