"""Configuration flows from one place: :class:`monitor.config.Settings`.

``monitor/config.py`` promises that no other module of the domain reads ``os.environ``; this
test holds it to that by reading every module's syntax tree, so a new
``os.environ.get("MODELWATCH_...")`` fails here instead of becoming a setting nobody documents.
"""

from __future__ import annotations

import ast
from pathlib import Path

from monitor import audit
from monitor.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def environment_reads(tree: ast.AST) -> list[int]:
    """Line numbers of ``os.environ`` / ``os.getenv`` / ``from os import environ, getenv``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(alias.name in ("environ", "getenv", "environb") for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_no_domain_module_reads_the_environment_itself():
    readers = {}
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        if path == ROOT / "monitor" / "config.py":  # the one reader: Settings, and env_secret for spec secrets
            continue
        lines = environment_reads(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            readers[path.relative_to(ROOT).as_posix()] = lines
    assert readers == {}, f"read MODELWATCH_* through monitor.config.Settings instead: {readers}"


def test_the_checker_sees_each_way_of_reading_the_environment():
    source = "import os\nfrom os import getenv\na = os.environ['X']\nb = os.getenv('Y')\n"
    assert environment_reads(ast.parse(source)) == [2, 3, 4]


def test_the_cli_actor_comes_from_settings(monkeypatch):
    monkeypatch.setenv("MODELWATCH_ACTOR", "carol")
    assert audit.cli_actor() == "cli:carol"
    assert audit.cli_actor(Settings(actor="dave")) == "cli:dave"
    monkeypatch.delenv("MODELWATCH_ACTOR")
    assert audit.cli_actor(Settings()).startswith("cli:") and audit.cli_actor() != "cli:carol"
