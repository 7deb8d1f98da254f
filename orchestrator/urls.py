"""URLs as they may be shown: wherever a broker or database URL is logged or printed, its
password is masked, so a log or a terminal never carries a secret."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "********"


def masked_url(url: str) -> str:
    """`redis://:secret@host:6379/0` -> `redis://:********@host:6379/0`; a URL without a
    password is returned unchanged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostport}"))
