"""The project as an installed package: ranges that admit the pins, and a wheel that works outside the checkout."""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from playwright.sync_api import sync_playwright

from rag.launch import port_and_address, ui_command

from .conftest import GREENHOUSE, ROOT, SEEDS
from .servers import free_port, stop, wait_until_ok

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(name: str) -> dict[str, str]:
    """``requirements*.txt`` as {canonical name: pinned version}, following ``-r``."""
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            continue
        if line:
            req = Requirement(line.split(" --", 1)[0])
            out[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return out


def ranges(reqs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}


@pytest.mark.parametrize("requirements, declared", [
    ("requirements.txt", PROJECT["dependencies"]),
    ("requirements-dev.txt", PROJECT["optional-dependencies"]["dev"]),
    ("requirements-llm.txt", PROJECT["optional-dependencies"]["llm"]),
])
def test_every_pin_is_a_package_dependency_inside_its_range(requirements, declared):
    pinned, declared = pins(requirements), ranges(declared)
    assert set(pinned) == set(declared)
    for name, version in pinned.items():
        assert declared[name].specifier.contains(version), f"{name}=={version} is outside {declared[name]}"
    if requirements == "requirements.txt":  # a machine with the pinned torch installs no other build
        assert declared["torch"].specifier.contains("2.13.0")


def test_what_benchmarks_import_is_installed_by_the_requirements():
    """A fresh ``pip install -r requirements-dev.txt`` (or ``.[dev]``) must let every benchmark start."""
    listed = set(pins("requirements.txt")) | set(pins("requirements-dev.txt")) | set(pins("requirements-llm.txt"))
    reachable = set(listed)
    for name in listed:  # and what those bring: onnxruntime comes with chromadb
        try:
            reachable |= {canonicalize_name(Requirement(r).name) for r in md.requires(name) or [] if "extra ==" not in r}
        except md.PackageNotFoundError:  # the optional LLM packages, when not installed here
            continue
    dists = md.packages_distributions()
    ours = {"rag", "ui", "tests", "bench", "__future__"}
    for script in (ROOT / "benchmarks").glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for top in {n.split(".")[0] for n in names} - ours - set(sys.stdlib_module_names):
                found = {canonicalize_name(d) for d in dists.get(top, [])} or {canonicalize_name(top)}  # not installed here
                assert found & reachable, f"{script.name} imports {top}, which no requirements file installs"


def test_rag_ui_runs_streamlit_on_the_page_with_its_package_importable():
    cmd, env = ui_command(["--server.port=8600", "--server.headless", "true"], {"PYTHONPATH": "/elsewhere"})
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[-2:] == ["--server.headless", "true"]
    app, first = Path(cmd[4]), Path(env["PYTHONPATH"].split(os.pathsep)[0])
    assert app.name == "app.py" and (first / "ui" / "app.py").samefile(app)  # `import ui` finds the page's package
    assert env["PYTHONPATH"].endswith(os.pathsep + "/elsewhere")
    assert port_and_address(cmd[5:]) == (8600, "")


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    # Build from a copy, so the build leaves nothing in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "rag", "ui", "seeds", ".streamlit"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")

    # A venv that sees this machine's packages (torch among them) and installs the wheel without an index:
    # the declared ranges must be met by what is installed, so nothing is downloaded. Without a pip of its
    # own (the machine's runs, installing into the venv), so no older setuptools shadows the machine's.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    py, rag = venv / "bin" / "python", venv / "bin" / "rag"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    installed = subprocess.run([str(py), "-m", "pip", "install", "--no-index", "-q", str(wheel)], env=env,
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "articles").mkdir(parents=True)
    shutil.copy(next(SEEDS.glob("*.txt")), elsewhere / "articles" / "nato.txt")
    (elsewhere / "articles" / "greenhouse.txt").write_bytes(GREENHOUSE)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)

    r = run(str(rag), "--help")
    assert r.returncode == 0 and "Usage: rag" in r.stdout
    assert all(c in r.stdout for c in ("ingest", "ask", "articles", "remove", "eval", "ui"))

    r = run(str(rag), "ingest", "articles")
    assert r.returncode == 0 and "2 added" in r.stdout, r.stderr
    assert (tmp_path / "data" / "rag" / "vectorstore").is_dir()  # the installed default: the user's data folder

    r = run(str(rag), "ask", "--json", "Who leads the greenhouse project?")
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "Okonkwo" in answer["text"] and answer["citations"][0]["title"].startswith("Lunar Greenhouse")

    r = run(str(py), "-c", "import rag, json; from rag import Library, Settings, build_chain; s = Settings(); "
            "print(json.dumps([rag.__file__, str(s.seeds_path), sorted(p.name for p in s.seeds_path.iterdir())]))")
    assert r.returncode == 0, r.stderr
    module, seeds, files = json.loads(r.stdout)
    assert module.startswith(str(venv)) and seeds.startswith(str(venv))
    assert files == sorted(p.name for p in SEEDS.glob("*.txt"))

    # `rag ui` serves the shipped page from anywhere; a second one on the same port says what to do.
    port = free_port()
    log = (tmp_path / "ui.log").open("wb")
    ui = subprocess.Popen([str(rag), "ui", "--server.port", str(port), "--server.headless", "true",
                           "--server.address", "127.0.0.1"], cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/_stcore/health", ui, timeout=120)
        taken = run(str(rag), "ui", "--server.port", str(port), "--server.address", "127.0.0.1")
        assert taken.returncode == 1 and f"Port {port} is already in use" in taken.stderr
        assert f"rag ui --server.port {port + 1}" in taken.stderr
        _ask_in_browser(f"http://127.0.0.1:{port}")
    finally:
        stop(ui, timeout=20)
        log.close()


def _ask_in_browser(url: str) -> None:
    """The installed page loads, lists the library and answers with a citation."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        box = page.get_by_placeholder("Ask a question about the articles")
        box.wait_for()
        box.fill("Who leads the greenhouse project?")
        box.press("Enter")
        page.locator(".rag-card").first.wait_for()
        assert "Lunar Greenhouse" in page.locator(".rag-card").first.inner_text()
        browser.close()
