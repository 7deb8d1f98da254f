"""Secrets shown as `********`: in API answers, CLI tables and logs.

What counts as a secret, in nested job variables, pull steps and job templates:
- a string under a key whose name looks secret (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*KEY*`,
  `*CREDENTIAL*`, `*PASSWD*`), unless it is only `{{ placeholders }}`, which name where the
  secret comes from and are not secrets themselves;
- the credentials inside a URL: `https://user:pw@host` shows as `https://user:********@host`,
  and a lone `https://token@host` as `https://********@host`.

Whoever holds the API key can still fetch a run's real values through the claim and launch
routes, which workers and runs use; everything meant for people is masked.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

MASK = "********"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
_ONLY_PLACEHOLDERS = re.compile(r"^\s*(\{\{[^{}]*\}\}\s*)+$")
# scheme://userinfo@ where userinfo has no '/', '@' or whitespace
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
MIN_REDACTED_LENGTH = 4  # shorter values would mask ordinary words in logs


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and bool(SECRET_NAME.search(name))


def is_literal(value: str) -> bool:
    """A value typed in, as opposed to `{{ $ENV }}` / `{{ flowpool.variables.x }}`."""
    return bool(value) and not _ONLY_PLACEHOLDERS.match(value)


def mask_text(text: str) -> str:
    """`text` with the credentials of every URL in it masked."""
    return _URL_CREDENTIALS.sub(_mask_userinfo, text)


def _mask_userinfo(match: re.Match) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match['scheme']}{shown}@"


def mask_secrets(value: Any) -> Any:
    """A copy of a nested structure with its secrets masked."""
    if isinstance(value, dict):
        return {key: _mask_entry(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_entry(key: Any, value: Any) -> Any:
    if is_secret_name(key) and isinstance(value, str) and is_literal(value):
        return MASK
    return mask_secrets(value)


def restore_masked(new: Any, old: Any) -> Any:
    """`new` with every value that is the masked form of the matching value in `old` put back,
    so a document read from the API and sent back unchanged keeps its real secrets."""
    if isinstance(new, str) and isinstance(old, str):
        return old if new != old and new in (MASK, mask_text(old)) else new
    if isinstance(new, dict) and isinstance(old, dict):
        return {key: restore_masked(item, old.get(key)) for key, item in new.items()}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [restore_masked(a, b) for a, b in zip(new, old)]
    return new


def literal_secrets(value: Any, path: str = "") -> Iterator[str]:
    """The path of every literal secret in a nested structure (for deploy-time warnings)."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if is_secret_name(key) and isinstance(item, str) and is_literal(item):
                yield where
            else:
                yield from literal_secrets(item, where)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from literal_secrets(item, f"{path}[{position}]")
    elif isinstance(value, str) and mask_text(value) != value:
        yield path


def secret_values(value: Any) -> Iterator[str]:
    """The secret strings inside a nested structure, to redact them from output."""
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(key) and isinstance(item, str) and is_literal(item):
                yield item
            else:
                yield from secret_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from secret_values(item)
    elif isinstance(value, str):
        for match in _URL_CREDENTIALS.finditer(value):
            user, colon, password = match["userinfo"].partition(":")
            yield password if colon else user


def environment_secrets(env: dict[str, str]) -> list[str]:
    """Values of the environment variables whose names look secret."""
    return [value for name, value in env.items() if is_secret_name(name) and value]


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each known secret value replaced by the mask (longest first), and URL
    credentials masked."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_REDACTED_LENGTH}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
    return mask_text(text)
