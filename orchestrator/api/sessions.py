"""Browser sessions of the web UI: with FLOWPOOL_API_KEY set, a person types the key once on
the login page and gets a cookie instead of sending `Authorization: Bearer` on every page.

The cookie is `EXPIRY.SIGNATURE`, the signature an HMAC of the expiry made with the API key, so
every API replica checks it without shared state, and changing the key ends every session. It
is HttpOnly and SameSite=Strict, and it opens the UI's pages only (`/` and `/ui/...`): never
`/api`, `/metrics` or the OpenAPI documents, which still want the key itself.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

COOKIE_NAME = "flowpool_session"
SESSION_S = 12 * 3600
UI_PREFIX = "/ui"
# Open without a session: the login page itself and what it is drawn with.
OPEN_UI_PATHS = frozenset({"/ui/login"})
OPEN_UI_PREFIXES = ("/ui/static/",)


def is_ui_path(path: str) -> bool:
    return path == "/" or path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def is_open_ui_path(path: str) -> bool:
    return path in OPEN_UI_PATHS or path.startswith(OPEN_UI_PREFIXES)


def issue(api_key: str, now: float | None = None, lifetime_s: int = SESSION_S) -> str:
    expiry = int((now if now is not None else time.time()) + lifetime_s)
    return f"{expiry}.{_signature(api_key, expiry)}"


def valid(api_key: str, cookie: str, now: float | None = None) -> bool:
    """Whether `cookie` was issued with this key and has not expired."""
    expiry_text, _, signature = cookie.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    if expiry < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature, _signature(api_key, expiry))


def _signature(api_key: str, expiry: int) -> str:
    digest = hmac.new(api_key.encode(), f"ui-session:{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cookie_value(header: str, name: str = COOKIE_NAME) -> str:
    """The value of cookie `name` in a Cookie header ('' when absent)."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""
