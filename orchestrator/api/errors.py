"""Errors to HTTP, in one place: every error answer is `{"detail": ..., "errors": [{"field",
"message"}]}`, and the OpenAPI document says so for each status a route can answer with."""
from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ..bounds import MAX_JSON_DEPTH
from ..errors import FlowpoolError, validation_message

# Where FastAPI puts a parameter in an error's location; the field is named without it.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    detail: str
    errors: list[ErrorItem]


_STATUS_TEXT = {
    400: "The request cannot be read (e.g. a body that is not what the route takes).",
    401: "The API key is missing or wrong.",
    404: "The named object (or the route) does not exist.",
    409: "A conflict: the name exists, or the state changed meanwhile.",
    413: "The request body is larger than FLOWPOOL_MAX_REQUEST_BYTES.",
    422: "The input does not validate; each entry of `errors` names a field and the fix.",
}
ERROR_RESPONSES = {code: {"model": ErrorBody, "description": text}
                   for code, text in _STATUS_TEXT.items()}
BROKER_DOWN = {503: {"model": ErrorBody, "description": "The broker's Redis does not answer."}}


def error_body(message: str, errors: list[dict]) -> dict:
    return {"detail": message, "errors": errors}


async def _flowpool_error(_request: Request, exc: FlowpoolError) -> JSONResponse:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return JSONResponse(error_body(exc.message, errors), status_code=exc.status_code)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field(e["loc"]), "message": _message(e)} for e in exc.errors()]
    return JSONResponse(error_body("invalid request", errors), status_code=422)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    if len(parts) == 1 and parts[0].isdigit() and loc[:1] == ("body",):
        return "body"  # a JSON syntax error, located by character offset
    return ".".join(parts) or "body"


def _message(error: dict) -> str:
    if error["type"] == "json_invalid":
        ctx = error.get("ctx") or {}
        return f"the body is not valid JSON ({ctx.get('error', 'cannot parse it')})"
    return validation_message(error)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own answers (unknown route, wrong method, unreadable body) in our shape."""
    headers = dict(exc.headers or {})
    errors = []
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        errors = [{"field": "method", "message": f"use one of: {', '.join(allowed)}"}]
    elif exc.status_code == 404:
        errors = [{"field": "path", "message": "see /docs for the routes there are"}]
    elif exc.status_code == 400:
        errors = [{"field": "body", "message": "send JSON as the route's schema describes,"
                                               f" nested at most {MAX_JSON_DEPTH} levels"}]
    return JSONResponse(error_body(str(exc.detail), errors), status_code=exc.status_code,
                        headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the API serves at this path, as its OpenAPI document lists them
    (Starlette's own 405 names only the methods of the first route that matched)."""
    path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
    return sorted({method for pattern, methods in _methods_by_path(request.app)
                   if pattern.fullmatch(path) for method in methods})


def _methods_by_path(app: FastAPI) -> list[tuple[re.Pattern, set[str]]]:
    table = getattr(app.state, "methods_by_path", None)
    if table is None:
        table = [(_path_pattern(path), {method.upper() for method in operations})
                 for path, operations in app.openapi()["paths"].items()]
        app.state.methods_by_path = table
    return table


def _path_pattern(template: str) -> re.Pattern:
    """/a/{x}/b as a regex: each {parameter} is one path segment."""
    return re.compile("/".join("[^/]+" if part.startswith("{") else re.escape(part)
                               for part in template.split("/")))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FlowpoolError, _flowpool_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
