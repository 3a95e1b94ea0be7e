"""The README stays true: every setting and CLI option documented, the quick start unchanged in shape, short."""

import re

import click

from rag import Settings
from rag.cli import cli

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def cli_block() -> str:
    return README.split("## CLI", 1)[1].split("```bash", 1)[1].split("```", 1)[0]


def test_every_setting_is_in_the_configuration_table():
    documented = set(re.findall(r"`(RAG_[A-Z_]+)`", README))
    expected = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    assert expected <= documented, expected - documented
    assert documented - {"RAG_DEBUG"} <= expected, documented - expected
    table = README.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = set(re.findall(r"^\| `(RAG_[A-Z_]+)` \|", table, re.M))
    assert rows == expected, rows ^ expected


def test_every_cli_command_and_option_is_in_the_cli_block():
    block = cli_block()
    for param in cli.params:
        if isinstance(param, click.Option):
            assert any(opt in block for opt in param.opts), param.opts
    for name, command in cli.commands.items():
        assert re.search(rf"^rag {name}\b", block, re.M), f"rag {name} is not in the README's CLI block"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert any(re.search(rf"{re.escape(opt)}\b", block) for opt in param.opts), f"rag {name} {param.opts}"


def test_exit_codes_documented_as_the_cli_returns_them():
    table = README.split("| code | meaning | examples |", 1)[1].split("\n\n", 1)[0]
    codes = dict(re.findall(r"^\| (\d) \| (.*)$", table, re.M))
    assert set(codes) == {"0", "1", "2"}
    assert "empty question" in codes["2"] and "empty store" in codes["1"]  # tests/test_cli.py checks both codes


def test_quick_start_is_two_commands_that_exist():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "ui/app.py" in commands[0] and (ROOT / "ui" / "app.py").exists()
    assert commands[1].startswith("bash .ci/run") and (ROOT / ".ci" / "run").exists()


def test_readme_fits_on_a_screen_and_its_links_exist():
    assert len(README.splitlines()) <= 200
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
    assert "--index-url https://download.pytorch.org/whl/cpu" in README  # torch without CUDA
