"""Every form that changes something is protected against cross-site requests, three ways:

- a CSRF token: a random value in an HttpOnly, SameSite=Strict cookie that each form repeats
  in a hidden field (double submit); another site can neither read the cookie nor set it;
- the browser's own word: a POST whose `Sec-Fetch-Site` says cross-site, or whose `Origin` is
  not this server, is refused;
- with FLOWPOOL_API_KEY set, the session cookie is SameSite=Strict too, so a cross-site POST
  does not even arrive signed in.

Form bodies are URL-encoded (the UI uploads no files) and bounded by the API's body limit.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import Response

from ..errors import FlowpoolError

CSRF_COOKIE = "flowpool_csrf"
CSRF_FIELD = "csrf_token"
TOKEN_BYTES = 24


class Forbidden(FlowpoolError):
    status_code = 403


class FormData(dict):
    """Field name -> its values, in the order sent; `get` gives the last one."""

    def get(self, key: str, default: str = "") -> str:  # type: ignore[override]
        values = super().get(key)
        return values[-1] if values else default

    def getlist(self, key: str) -> list[str]:
        return list(super().get(key, []))


def csrf_token(request: Request) -> str:
    """The request's token: the cookie's, or a new one that the response will set."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) < TOKEN_BYTES:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(TOKEN_BYTES)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/ui",
                            secure=request.url.scheme == "https")


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token and origin are checked; Forbidden (403) otherwise."""
    _check_origin(request)
    body = (await request.body()).decode("utf-8", errors="replace")
    form = FormData(parse_qs(body, keep_blank_values=True))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden("this form has expired or came from another site: reload the page and"
                        " send it again")
    return form


def _check_origin(request: Request) -> None:
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        raise Forbidden(f"a form sent from another site ({site}) is refused")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("a form sent from another origin is refused")
