"""``rag ui``: the command line and environment that start the Streamlit page, and a check that its port is free."""

from __future__ import annotations

import errno
import os
import socket
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from .paths import IN_CHECKOUT, shipped, ui_import_root

DEFAULT_PORT = 8501


def _option(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in Streamlit's arguments (the last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def port_and_address(args: Sequence[str]) -> tuple[int, str]:
    """The port and address Streamlit will listen on, given the extra arguments (its defaults otherwise)."""
    port = _option(args, "--server.port") or os.environ.get("STREAMLIT_SERVER_PORT") or DEFAULT_PORT
    address = _option(args, "--server.address") or os.environ.get("STREAMLIT_SERVER_ADDRESS") or ""
    return int(port), address


def port_in_use(port: int, address: str = "") -> bool:
    """Whether another process listens on ``port`` (binding as Tornado does, with SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _theme_args(given: Sequence[str]) -> list[str]:
    """The project's ``.streamlit/config.toml`` as ``--section.key=value`` flags, except those given.

    Streamlit reads that file only from the current folder; an installed app runs from anywhere.
    """
    if IN_CHECKOUT:
        return []
    path = shipped(".streamlit") / "config.toml"
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return []
    out = []
    for section, values in config.items():
        for key, value in values.items():
            flag = f"--{section}.{key}"
            if _option(given, flag) is None:
                out.append(f"{flag}={str(value).lower() if isinstance(value, bool) else value}")
    return out


def ui_command(args: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """``python -m streamlit run <ui/app.py> ...`` and its environment (the page's package on PYTHONPATH)."""
    app = shipped("ui") / "app.py"
    root = str(ui_import_root())
    paths = [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), *_theme_args(args), *args]
    return cmd, {**env, "PYTHONPATH": os.pathsep.join(paths)}


def start_ui(args: Sequence[str], env: Mapping[str, str]) -> None:
    """Replace this process with Streamlit serving the page (signals then reach Streamlit directly)."""
    cmd, env = ui_command(args, env)
    os.execve(cmd[0], cmd, env)


def port_taken_message(port: int) -> str:
    return (f"Port {port} is already in use: the chat UI may be running already (open http://localhost:{port}), "
            f"or another program holds the port. Start it on another port with: rag ui --server.port {port + 1}")


def app_path() -> Path:
    return shipped("ui") / "app.py"
