"""Keep secrets out of logs and error messages.

Steps receive tokens and passwords; anything they print or raise goes through `redact`
first, and URLs are shown with their password part masked.
"""
from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

from ..masking import MASK, mask_text


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every non-empty secret replaced by the mask, longest first, and the
    credentials of any URL in it masked."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_text(text)


def url_password(url: str) -> str | None:
    """The secret part of `https://user:secret@host/...` (or a lone `https://token@host`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return None
    return parts.password or parts.username


def url_without_credentials(url: str) -> str:
    """`https://user:secret@host/path` -> `https://host/path`; other URLs unchanged."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
