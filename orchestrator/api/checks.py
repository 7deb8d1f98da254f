"""What every route refuses before its models see the request: numbers JSON cannot carry
(NaN, Infinity, which Python's JSON reader accepts), text no database can store (NUL
characters, which PostgreSQL refuses, and lone UTF-16 surrogates such as "\ud800", which
are not Unicode) anywhere in the body, the path or the query, and bodies nested deeper than
MAX_JSON_DEPTH (stored, they could not be serialized back). Each refusal is a 422 naming
the field, never a 500 from deep in the store."""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from ..bounds import MAX_JSON_DEPTH

Location = tuple[str | int, ...]


class CheckedRoute(APIRoute):
    """An APIRoute that checks the request's JSON body and parameters first."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            problems = [*_parameter_problems(request), *await _body_problems(request)]
            if problems:
                raise RequestValidationError([_error(loc, message) for loc, message in problems])
            return await handle(request)

        return checked


def _parameter_problems(request: Request) -> Iterator[tuple[Location, str]]:
    for name, value in request.path_params.items():
        if problem := text_problem(str(value)):
            yield ("path", name), problem
    for name, value in request.query_params.multi_items():
        if problem := text_problem(name) or text_problem(value):
            yield ("query", name), problem


async def _body_problems(request: Request) -> list[tuple[Location, str]]:
    body = await request.body()  # read once; the route reads the same cached bytes
    if not body or "json" not in request.headers.get("content-type", "json"):
        return []
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []  # the route answers malformed JSON itself (422, or 400 when too deep)
    try:
        return [(("body", *loc), message) for loc, message in json_problems(data)]
    except RecursionError:
        return [(("body",), "the JSON is nested too deeply")]


NUL_MESSAGE = "text cannot contain NUL characters (\\u0000); remove them"
SURROGATE_MESSAGE = "text cannot contain lone surrogates (\\ud800-\\udfff); send valid Unicode"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE
NON_FINITE_MESSAGE = "NaN and Infinity are not JSON numbers; send a finite number"
DEPTH_MESSAGE = f"nested more than {MAX_JSON_DEPTH} levels deep; flatten it"


def json_problems(value: Any, loc: Location = ()) -> Iterator[tuple[Location, str]]:
    """Where a parsed JSON value holds a non-finite number, a NUL character, or nesting
    deeper than MAX_JSON_DEPTH (reported once, where it crosses the limit)."""
    if len(loc) > MAX_JSON_DEPTH:
        yield loc, DEPTH_MESSAGE
    elif isinstance(value, float) and not math.isfinite(value):
        yield loc, NON_FINITE_MESSAGE
    elif isinstance(value, str) and (problem := text_problem(value)):
        yield loc, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(key):
                yield (*loc, key), problem
            yield from json_problems(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, (*loc, index))


def _error(loc: Location, message: str) -> dict:
    return {"type": "value_error", "loc": loc, "msg": message, "input": None,
            "ctx": {"error": message}}


__all__ = ["CheckedRoute", "json_problems"]
