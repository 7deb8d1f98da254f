"""SQL persistence. Functions take a connection and never commit: the caller owns the transaction."""
from .database import Database

__all__ = ["Database"]
