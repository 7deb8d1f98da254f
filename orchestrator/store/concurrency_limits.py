"""Global concurrency limits in the database: their names, sizes, decay and whether they are
enforced. The slots taken on them live in Redis (orchestrator/slots.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, NotFound
from ..models import new_id
from ..models.concurrency_limits import (ConcurrencyLimit, ConcurrencyLimitCreate,
                                         ConcurrencyLimitUpdate)
from .pages import Order, Page, fetch_page
from .tables import concurrency_limits

LIMIT_ORDER = Order((concurrency_limits.c.name,))


def create_concurrency_limit(conn: sa.Connection, request: ConcurrencyLimitCreate,
                             now: datetime) -> ConcurrencyLimit:
    exists = sa.select(concurrency_limits.c.id).where(concurrency_limits.c.name == request.name)
    if conn.execute(exists).first():
        raise AlreadyExists(f"concurrency limit {request.name!r} already exists", [FieldError(
            "name", f"change it with `flowpool concurrency-limit update {request.name}`")])
    values = dict(request.model_dump(), id=new_id(), created=now, updated=now)
    conn.execute(concurrency_limits.insert().values(**values))
    return ConcurrencyLimit.model_validate(values)


def read_concurrency_limit(conn: sa.Connection, name: str) -> ConcurrencyLimit:
    row = conn.execute(sa.select(concurrency_limits)
                       .where(concurrency_limits.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"concurrency limit {name!r} does not exist", [FieldError(
            "name", "see `flowpool concurrency-limit ls` for the limits there are")])
    return ConcurrencyLimit.model_validate(dict(row))


def read_concurrency_limits(conn: sa.Connection,
                            names: Iterable[str]) -> dict[str, ConcurrencyLimit]:
    """The limits among `names` that exist, by name."""
    rows = conn.execute(sa.select(concurrency_limits)
                        .where(concurrency_limits.c.name.in_(list(names)))).mappings()
    return {row["name"]: ConcurrencyLimit.model_validate(dict(row)) for row in rows}


def page_concurrency_limits(conn: sa.Connection, cursor: str | None,
                            limit: int) -> Page[ConcurrencyLimit]:
    return fetch_page(conn, sa.select(concurrency_limits), LIMIT_ORDER, cursor, limit,
                      lambda row: ConcurrencyLimit.model_validate(dict(row)))


def update_concurrency_limit(conn: sa.Connection, name: str, update: ConcurrencyLimitUpdate,
                             now: datetime) -> ConcurrencyLimit:
    read_concurrency_limit(conn, name)
    values = update.model_dump(include=update.model_fields_set)
    if values:
        conn.execute(concurrency_limits.update().where(concurrency_limits.c.name == name)
                     .values(**values, updated=now))
    return read_concurrency_limit(conn, name)


def delete_concurrency_limit(conn: sa.Connection, name: str) -> ConcurrencyLimit:
    limit = read_concurrency_limit(conn, name)
    conn.execute(concurrency_limits.delete().where(concurrency_limits.c.name == name))
    return limit
