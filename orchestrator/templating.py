"""`{{ name }}` placeholders in nested dicts, lists and strings.

A string that is exactly one placeholder becomes the value itself (a dict stays a dict,
a number a number); a placeholder inside a longer string is replaced by its text.
How a name resolves is the caller's business: job templates look up job variables,
project steps look up step outputs, environment variables and flowpool variables.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")

Resolver = Callable[[str], Any]


def placeholders(template: Any) -> list[str]:
    """Every placeholder name in a template, in order of appearance."""
    if isinstance(template, str):
        return PLACEHOLDER.findall(template)
    if isinstance(template, dict):
        return [name for value in template.values() for name in placeholders(value)]
    if isinstance(template, list):
        return [name for value in template for name in placeholders(value)]
    return []


def render(template: Any, resolve: Resolver) -> Any:
    """Return a copy of `template` with every placeholder resolved."""
    if isinstance(template, str):
        return _render_string(template, resolve)
    if isinstance(template, dict):
        return {key: render(value, resolve) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, resolve) for value in template]
    return template


def _render_string(text: str, resolve: Resolver) -> Any:
    whole = PLACEHOLDER.fullmatch(text.strip())
    if whole:
        return resolve(whole.group(1))
    return PLACEHOLDER.sub(lambda m: _as_text(resolve(m.group(1))), text)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
