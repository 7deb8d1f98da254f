"""Keyset pagination of listings: a page is `limit` rows in a fixed order, and its cursor is
the sort key of its last row, so the next page starts right after it however many rows
were added or deleted meanwhile (no OFFSET that skips or repeats rows).

The cursor travels as opaque text (URL-safe base64 of the key as JSON); a cursor that does
not decode to a key of the listing is refused naming the field, `after`.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Generic, Sequence, TypeVar

import sqlalchemy as sa

from ..errors import FieldError, InvalidInput

Item = TypeVar("Item")
MAX_CURSOR_CHARS = 1_000


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    cursor: str | None  # where the next page starts; None on the last page


@dataclass(frozen=True)
class Order:
    """A listing's order: its columns (the last one unique), ascending or descending."""

    columns: tuple[sa.ColumnElement, ...]
    descending: bool = False

    def clauses(self) -> list:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def after(self, key: Sequence[Any]):
        """Rows strictly after `key` in this order: (a > x) or (a = x and b > y) ..."""
        alternatives = []
        for index, column in enumerate(self.columns):
            beyond = column < key[index] if self.descending else column > key[index]
            same = [c == k for c, k in zip(self.columns[:index], key[:index])]
            alternatives.append(sa.and_(*same, beyond))
        return sa.or_(*alternatives)


def fetch_page(conn: sa.Connection, query: sa.Select, order: Order, cursor: str | None,
               limit: int, make: Callable[[Any], Item]) -> Page[Item]:
    """One page of `query` in `order`, after `cursor`; `make(row)` is a row's item."""
    if cursor:
        query = query.where(order.after(decode_cursor(cursor, order)))
    rows = conn.execute(query.order_by(*order.clauses()).limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    last_key = [rows[-1][column.name] for column in order.columns] if more else None
    return Page([make(row) for row in rows], encode_cursor(last_key) if more else None)


def encode_cursor(key: Sequence[Any]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> list[Any]:
    """The key a cursor of this listing holds; InvalidInput naming `after` otherwise."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(order.columns):
            raise ValueError
        return [_typed(value, column) for value, column in zip(raw, order.columns)]
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", [FieldError(
            "after", "give the X-Next-Cursor value of the previous page as it was sent")]) from None


def _typed(value: Any, column: sa.ColumnElement) -> Any:
    python_type = getattr(column.type, "impl", column.type).python_type
    if python_type is datetime and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(timezone.utc)
    if python_type is int and type(value) is int and abs(value) < 2 ** 63:
        return value
    if python_type is str and isinstance(value, str) and "\x00" not in value:
        return value
    raise ValueError
