"""The report's templates ship with the package and escape whatever the summary holds."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from monitor.reports import render_html, templating

ROOT = Path(__file__).resolve().parents[2]


def test_every_template_is_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["monitor.reports"]
    folder = ROOT / "monitor" / "reports" / "templates"
    files = [p.relative_to(folder.parent).as_posix() for p in folder.iterdir()]
    assert files and all(any(fnmatch(f, pattern) for pattern in patterns) for f in files), files


def test_autoescape_is_on_for_every_template():
    env = templating.environment()
    assert all(env.autoescape(name) if callable(env.autoescape) else env.autoescape for name in env.list_templates())
    out = render_html({"model": "<b>m</b>", "run_id": 1, "kpis": {"<i>k</i>": {"value": 1.0, "baseline": 0.5}},
                       "alerts": [{"id": 1, "state": "firing", "kind": "<u>x</u>", "message": "<script>1</script>"}]})
    assert "<b>m</b>" not in out and "<i>k</i>" not in out and "<script>1" not in out and "<u>x</u>" not in out
