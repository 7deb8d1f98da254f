"""Alembic's entry point: run the migrations on the connection store/schema.py hands over,
inside the transaction it holds (which carries the upgrade lock)."""
from alembic import context

from orchestrator.store.tables import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata,
                  render_as_batch=True)  # SQLite alters a table by copying it: batch mode
with context.begin_transaction():
    context.run_migrations()
