"""The UI's session cookie: signed with the API key, expiring, and good for UI paths only."""
from __future__ import annotations

from orchestrator.api import sessions


def test_a_cookie_is_valid_with_its_key_until_it_expires():
    cookie = sessions.issue("k1", now=1000.0, lifetime_s=60)
    assert sessions.valid("k1", cookie, now=1059.0)
    assert not sessions.valid("k1", cookie, now=1061.0)
    assert not sessions.valid("k2", cookie, now=1001.0)  # a new key ends every session


def test_a_tampered_cookie_is_refused():
    expiry, _, signature = sessions.issue("k", now=1000.0).partition(".")
    for forged in (f"{int(expiry) + 10**6}.{signature}", f"{expiry}.x{signature[1:]}", "",
                   ".", "abc.def", f"{expiry}", "9" * 40 + "." + signature):
        assert not sessions.valid("k", forged, now=1000.0), forged


def test_only_the_ui_s_paths_take_the_cookie():
    assert all(sessions.is_ui_path(p) for p in ("/", "/ui", "/ui/", "/ui/runs/x"))
    assert not any(sessions.is_ui_path(p) for p in (
        "/api/flow_runs", "/metrics", "/docs", "/openapi.json", "/uix", "/api/ui/"))
    assert sessions.is_open_ui_path("/ui/login") and sessions.is_open_ui_path("/ui/static/app.css")
    assert not sessions.is_open_ui_path("/ui/login/x") and not sessions.is_open_ui_path("/ui/")


def test_the_cookie_is_read_from_the_header():
    assert sessions.cookie_value("a=1; flowpool_session=v.s; b=2") == "v.s"
    assert sessions.cookie_value("a=1") == ""
