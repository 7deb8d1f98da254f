"""Variables read and written from flow code: named JSON values kept by the server (in
memory, process-wide, for flows called directly).

    Variable.set("threshold", 10, overwrite=True)
    Variable.get("threshold", default=5)
"""
from __future__ import annotations

import asyncio
from typing import Any

from .run_context import ambient_reporter


class Variable:
    """A variable: a name, its JSON value and tags."""

    def __init__(self, name: str, value: Any, tags: list[str] | None = None):
        self.name, self.value, self.tags = name, value, list(tags or [])

    def __repr__(self) -> str:
        return f"Variable(name={self.name!r}, value={self.value!r})"

    @classmethod
    def get(cls, name: str, default: Any = None) -> Any:
        """The variable's value, or `default` when it is not set."""
        return ambient_reporter().read_variable(name, default)

    @classmethod
    def set(cls, name: str, value: Any, tags: list[str] | None = None,
            overwrite: bool = False) -> "Variable":
        """Set the variable; VariableExists (a ValueError) when it is set and not `overwrite`.
        Tags are kept on the returned object only."""
        ambient_reporter().write_variable(name, value, overwrite)
        return cls(name, value, tags)

    @classmethod
    def unset(cls, name: str) -> bool:
        """Remove the variable; whether it was set."""
        return ambient_reporter().delete_variable(name)

    @classmethod
    async def aget(cls, name: str, default: Any = None) -> Any:
        return await asyncio.to_thread(cls.get, name, default)

    @classmethod
    async def aset(cls, name: str, value: Any, tags: list[str] | None = None,
                   overwrite: bool = False) -> "Variable":
        return await asyncio.to_thread(cls.set, name, value, tags, overwrite)

    @classmethod
    async def aunset(cls, name: str) -> bool:
        return await asyncio.to_thread(cls.unset, name)
