"""Pages from Jinja2 templates, autoescaped: whatever a user or a flow wrote (a run named
`<script>`, a log line, a parameter) is shown as text, never run as markup."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import __version__
from ..api import sessions
from . import forms_security

TEMPLATES = Path(__file__).parent / "templates"
# The pages' own headers: nothing but this server's own scripts and styles, never in a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self';"
                                " script-src 'self'; frame-ancestors 'none'; form-action 'self';"
                                " base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def when(moment: datetime | None) -> str:
    """A timestamp as people read it, in UTC (the server's clock and the CLI's)."""
    moment = _utc(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """'3 min ago' or 'in 2 h'."""
    moment = _utc(moment)
    if moment is None:
        return "—"
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    text = duration(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def run_duration(run) -> str:
    if run.start_time is None:
        return "—"
    end = run.end_time or datetime.now(timezone.utc)
    return duration((end - run.start_time).total_seconds())


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def url_part(value: Any) -> str:
    """A name as one path segment of a link (a `/` or `?` in it cannot change the target)."""
    return quote(str(value), safe="")


def state_class(state: Any) -> str:
    """The CSS class of a state badge: the state type, lower-case."""
    return "st-" + str(getattr(state, "value", state)).lower()


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.filters.update(when=when, relative=relative, duration=duration, json=pretty_json,
                       state_class=state_class, run_duration=run_duration,
                       url=url_part, from_epoch=from_epoch)
    env.globals.update(version=__version__)
    return env


ENVIRONMENT = _environment()


def render_text(name: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(name).render(**context)


def _signed_in(request: Request) -> bool:
    """Whether a session cookie of this server's key came with the request (to offer Sign out)."""
    api_key = request.app.state.api_key
    cookie = request.cookies.get(sessions.COOKIE_NAME, "")
    return bool(api_key and cookie and sessions.valid(api_key, cookie))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `name` with the request's CSRF token and who is signed in."""
    token = forms_security.csrf_token(request)
    html = render_text(name, request=request, csrf_token=token, path=request.url.path,
                       signed_in=_signed_in(request), **context)
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    forms_security.remember_csrf(request, response)
    return response
