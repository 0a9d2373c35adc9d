"""``/docs`` must work without internet: Swagger UI's assets come from this process, never a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from frontdoors.api.app import create_app
from monitor.config import Settings


def test_docs_page_references_no_external_host(tmp_path):
    api = TestClient(create_app(Settings(data_dir=tmp_path)))
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page.text), "Swagger UI must not load from a CDN"
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        answer = api.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    assert api.get("/openapi.json").json()["info"]["title"] == "modelwatch"
