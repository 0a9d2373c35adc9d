"""Who sees the dashboard: open without tokens, a login page and a cookie once a token is set,
and the CSRF guard on writes that ride on that cookie."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from frontdoors.api.app import create_app
from monitor.config import Settings
from monitor.db.migrate import upgrade


def client(tmp_path, **tokens) -> TestClient:
    settings = Settings(data_dir=tmp_path, **tokens)
    upgrade(settings.effective_database_url)
    return TestClient(create_app(settings), follow_redirects=False)


def test_without_a_token_configured_the_pages_are_open_and_read_only(tmp_path):
    api = client(tmp_path)
    for path in ("/", "/alerts", "/models/anything", "/runs/abc"):
        page = api.get(path)
        assert page.status_code == 200, path
        assert '<div id="root">' in page.text  # the React app; its client routes all answer it
    assert api.get("/v1/dashboard/session").json() == {"auth": False, "actor": "token:anonymous",
                                                       "can_write": False, "version": api.app.version}
    assert api.get("/login?next=/alerts").headers["location"] == "/alerts"
    assert api.get("/v1/dashboard/models/nosuch").status_code == 404
    assert api.get("/no/such/page").status_code == 404


def test_pages_redirect_to_login_until_a_valid_token_is_entered(tmp_path):
    api = client(tmp_path, api_token="w", read_token="r")
    redirect = api.get("/alerts?x=1")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login?next=%2Falerts%3Fx%3D1"
    assert api.get("/login?next=/alerts").status_code == 200

    wrong = api.post("/login", data={"token": "nope", "next": "/alerts"})
    assert wrong.status_code == 303 and wrong.headers["location"] == "/login?next=%2Falerts&error=invalid"
    assert "modelwatch_token" not in wrong.headers.get("set-cookie", "")
    empty = api.post("/login", data={"token": " ", "next": "/alerts"})
    assert empty.headers["location"] == "/login?next=%2Falerts&error=empty"
    assert api.get("/v1/dashboard/alerts").status_code == 401

    signed = api.post("/login", data={"token": "r", "next": "/alerts"})
    assert signed.status_code == 303 and signed.headers["location"] == "/alerts"
    cookie = signed.headers["set-cookie"].lower()
    assert cookie.startswith("modelwatch_token=r;")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert api.get("/alerts").status_code == 200
    assert api.get("/v1/dashboard/session").json()["actor"] == "token:reader"
    assert api.get("/v1/dashboard/session").json()["can_write"] is False

    out = api.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert api.get("/").status_code == 303


def test_login_never_redirects_off_site(tmp_path):
    api = client(tmp_path, api_token="w")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "alerts"):
        signed = api.post("/login", data={"token": "w", "next": target})
        assert signed.headers["location"] == "/", target


def test_pages_carry_a_strict_content_security_policy(tmp_path):
    page = client(tmp_path).get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assets = sorted((Path(__file__).parents[2] / "frontdoors/dashboard/static/app/assets").glob("*.js"))
    assert assets, "the dashboard is not built: make web"
    script = client(tmp_path).get(f"/assets/{assets[0].name}")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_cookie_writes_need_the_csrf_header_and_bearer_writes_do_not(tmp_path):
    api = client(tmp_path, api_token="w", read_token="r")
    api.cookies.set("modelwatch_token", "w")
    refused = api.post("/v1/models/nosuch/checks")
    assert refused.status_code == 403 and "X-Requested-With: modelwatch" in refused.json()["detail"]
    # past authentication and the CSRF guard: the model does not exist
    assert api.post("/v1/models/nosuch/checks", headers={"X-Requested-With": "modelwatch"}).status_code == 404
    api.cookies.clear()
    assert api.post("/v1/models/nosuch/checks", headers={"Authorization": "Bearer w"}).status_code == 404
    api.cookies.set("modelwatch_token", "r")
    read_only = api.post("/v1/models/nosuch/checks", headers={"X-Requested-With": "modelwatch"})
    assert read_only.status_code == 403 and "read-only" in read_only.json()["detail"]
