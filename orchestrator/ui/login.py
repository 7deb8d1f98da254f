"""Signing in to the UI with the API key, once: the login page sets the session cookie (see
`api/sessions.py`) and goes back to the page that was asked for."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..api import sessions
from .forms_security import FormData, checked_form
from .rendering import render
from .routing import PageRoute, back_to

router = APIRouter(route_class=PageRoute)


def safe_next(target: str) -> str:
    """Only a path of this UI: never another site (`//host`, `https://...`)."""
    if target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/"


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/ui/"):
    if not request.app.state.api_key:
        return back_to(safe_next(next))  # nothing to sign in to
    return render(request, "login.html", title="Sign in", next=safe_next(next), error="")


@router.post("/ui/login", response_class=HTMLResponse)
def login(request: Request, form: FormData = Depends(checked_form)):
    api_key = request.app.state.api_key
    target = safe_next(form.get("next", "/ui/"))
    if not api_key:
        return back_to(target)
    if not hmac.compare_digest(form.get("key").encode(), api_key.encode()):
        return render(request, "login.html", status_code=401, title="Sign in", next=target,
                      error="That is not the server's API key (FLOWPOOL_API_KEY).")
    response = back_to(target)
    response.set_cookie(sessions.COOKIE_NAME, sessions.issue(api_key),
                        max_age=sessions.SESSION_S, httponly=True, samesite="strict",
                        path="/", secure=request.url.scheme == "https")
    return response


@router.post("/ui/logout")
def logout(request: Request, form: FormData = Depends(checked_form)):
    response = back_to("/ui/login")
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response
