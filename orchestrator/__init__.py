"""flowpool: run Python flows on work pools through Redis and Celery workers.

A flow file imports this package, so it stays light: only the `@flow` decorator is here,
and nothing heavier than the standard library is imported until it is needed.
"""
from .flows import Flow, flow

__all__ = ["Flow", "flow"]
__version__ = "0.1.0"
