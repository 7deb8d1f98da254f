"""Variables in the database, addressed by name."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, NotFound
from ..models import new_id
from ..models.variables import Variable
from .pages import Order, Page, fetch_page
from .tables import variables
from .upserts import insert

VARIABLE_ORDER = Order((variables.c.name,))


def set_variable(conn: sa.Connection, name: str, value: Any,
                 now: datetime) -> tuple[Variable, bool]:
    """Create NAME or replace its value; the variable, and whether it is new.

    One INSERT ... ON CONFLICT DO UPDATE: two writers setting the same new name both succeed
    (the last one wins) instead of one failing on the unique name.
    """
    existed = conn.execute(sa.select(variables.c.id).where(variables.c.name == name)).first()
    statement = insert(conn, variables).values(id=new_id(), name=name, value=value, created=now,
                                     updated=now)
    conn.execute(statement.on_conflict_do_update(index_elements=[variables.c.name],
                                                 set_={"value": value, "updated": now}))
    return read_variable(conn, name), existed is None


def create_variable(conn: sa.Connection, name: str, value: Any, now: datetime) -> Variable:
    """Create NAME; AlreadyExists when it is set. One INSERT ... ON CONFLICT DO NOTHING, so of
    two writers creating the same name exactly one succeeds."""
    statement = insert(conn, variables).values(id=new_id(), name=name, value=value, created=now,
                                     updated=now)
    created = conn.execute(statement.on_conflict_do_nothing(index_elements=[variables.c.name])
                           .returning(variables.c.id)).first()
    if created is None:
        raise AlreadyExists(f"variable {name!r} already exists", [FieldError(
            "name", "set it with overwrite (PUT /variables/NAME) to replace its value")])
    return read_variable(conn, name)


def read_variable(conn: sa.Connection, name: str) -> Variable:
    row = conn.execute(sa.select(variables).where(variables.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"variable {name!r} does not exist", [FieldError(
            "name", f"set it with `flowpool variable set {name} VALUE` "
                    "(see `flowpool variable ls` for the variables there are)")])
    return Variable.model_validate(dict(row))


def list_variables(conn: sa.Connection) -> list[Variable]:
    rows = conn.execute(sa.select(variables).order_by(variables.c.name)).mappings()
    return [Variable.model_validate(dict(row)) for row in rows]


def page_variables(conn: sa.Connection, cursor: str | None, limit: int) -> Page[Variable]:
    return fetch_page(conn, sa.select(variables), VARIABLE_ORDER, cursor, limit,
                      lambda row: Variable.model_validate(dict(row)))


def delete_variable(conn: sa.Connection, name: str) -> Variable:
    variable = read_variable(conn, name)
    conn.execute(variables.delete().where(variables.c.name == name))
    return variable

