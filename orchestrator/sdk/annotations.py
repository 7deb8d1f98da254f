"""Wrappers that change how a task argument is treated: `unmapped(x)` is passed whole to every
call of `.map()`, `allow_failure(future)` lets a task run even when that upstream task
failed (it receives the error), `quote(x)` is passed as is, futures inside left unresolved."""
from __future__ import annotations

from typing import Any


class BaseAnnotation:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def unwrap(self) -> Any:
        return self.value

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self), id(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class unmapped(BaseAnnotation):
    """In `.map()`, the same value for every call, even if it is iterable."""

    __slots__ = ()

    def __getitem__(self, _index: int) -> Any:
        return self.value


class allow_failure(BaseAnnotation):
    """A future whose task may fail without stopping this one: this one gets the error."""

    __slots__ = ()


class quote(BaseAnnotation):
    """Passed as is: not mapped over, futures inside not waited for."""

    __slots__ = ()
