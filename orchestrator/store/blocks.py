"""Blocks in the database, addressed by type and name. Their secret fields arrive sealed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, NotFound
from ..models import new_id
from ..models.blocks import SealedBlock
from .pages import Order, Page, fetch_page
from .tables import blocks
from .upserts import insert

BLOCK_ORDER = Order((blocks.c.type, blocks.c.name))


def _values(data: dict[str, Any], secret_data: str | None,
            secret_fields: list[str]) -> dict[str, Any]:
    return {"data": data, "secret_data": secret_data, "secret_fields": secret_fields}


def create_block(conn: sa.Connection, type_: str, name: str, data: dict[str, Any],
                 secret_data: str | None, secret_fields: list[str], now: datetime) -> SealedBlock:
    """A new block; AlreadyExists when TYPE/NAME is taken. ON CONFLICT DO NOTHING: of two
    writers creating the same block, exactly one succeeds."""
    statement = insert(conn, blocks).values(id=new_id(), type=type_, name=name, created=now,
                                            updated=now, **_values(data, secret_data, secret_fields))
    created = conn.execute(statement.on_conflict_do_nothing(
        index_elements=[blocks.c.type, blocks.c.name]).returning(blocks.c.id)).first()
    if created is None:
        raise AlreadyExists(f"block {type_}/{name} already exists", [FieldError(
            "name", f"replace it with `flowpool block create {type_} {name} --overwrite ...`, "
                    "or pick another name")])
    return read_block(conn, type_, name)


def set_block(conn: sa.Connection, type_: str, name: str, data: dict[str, Any],
              secret_data: str | None, secret_fields: list[str],
              now: datetime) -> tuple[SealedBlock, bool]:
    """Create TYPE/NAME or replace its data; the block, and whether it is new."""
    existed = conn.execute(sa.select(blocks.c.id).where(
        blocks.c.type == type_, blocks.c.name == name)).first()
    values = _values(data, secret_data, secret_fields)
    statement = insert(conn, blocks).values(id=new_id(), type=type_, name=name, created=now,
                                            updated=now, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[blocks.c.type, blocks.c.name],
                                                 set_={**values, "updated": now}))
    return read_block(conn, type_, name), existed is None


def read_block(conn: sa.Connection, type_: str, name: str) -> SealedBlock:
    row = conn.execute(sa.select(blocks).where(blocks.c.type == type_, blocks.c.name == name)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"block {type_}/{name} does not exist", [FieldError(
            "name", f"create it with `flowpool block create {type_} {name} ...` "
                    "(see `flowpool block ls` for the blocks there are)")])
    return SealedBlock(**row)


def page_blocks(conn: sa.Connection, type_: str | None, cursor: str | None,
                limit: int) -> Page[SealedBlock]:
    query = sa.select(blocks)
    if type_ is not None:
        query = query.where(blocks.c.type == type_)
    return fetch_page(conn, query, BLOCK_ORDER, cursor, limit, lambda row: SealedBlock(**row))


def delete_block(conn: sa.Connection, type_: str, name: str) -> SealedBlock:
    block = read_block(conn, type_, name)
    conn.execute(blocks.delete().where(blocks.c.type == type_, blocks.c.name == name))
    return block
