"""Log lines of flow runs."""
from __future__ import annotations

import sqlalchemy as sa

from ..models import Log, LogCreate
from .tables import logs


def create_logs(conn: sa.Connection, flow_run_id: str, entries: list[LogCreate]) -> int:
    if entries:
        conn.execute(logs.insert(), [dict(entry.model_dump(), flow_run_id=flow_run_id)
                                     for entry in entries])
    return len(entries)


def read_logs(conn: sa.Connection, flow_run_id: str, after_id: int = 0,
              limit: int = 1000) -> list[Log]:
    query = (sa.select(logs).where(logs.c.flow_run_id == flow_run_id, logs.c.id > after_id)
             .order_by(logs.c.id).limit(limit))
    return [Log.model_validate(dict(row)) for row in conn.execute(query).mappings()]
