"""`.map()`: which arguments are mapped over, and the arguments of each call.

An argument is mapped over when it is iterable (a list, a tuple, a range, a generator, a
future whose result is one...), except text, bytes, files, pydantic models and values
wrapped in `unmapped(...)` or `quote(...)`, which every call gets whole. All mapped
arguments must have the same length.
"""
from __future__ import annotations

import io
from typing import Any, Iterator

from .annotations import quote, unmapped
from .futures import TaskRunFuture

_WHOLE = (str, bytes, bytearray, io.IOBase, unmapped, quote)


def mapped_arguments(arguments: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The arguments of each call of a `.map()`, in order."""
    mapped: dict[str, list] = {}
    for name, value in arguments.items():
        if isinstance(value, TaskRunFuture):
            value = value.result()  # a future of a list maps over the list
        items = _items(value)
        if items is not None:
            mapped[name] = items
    if not mapped:
        raise ValueError(".map() needs at least one iterable argument; wrap a value every call "
                         "should get whole in unmapped(...)")
    lengths = {name: len(items) for name, items in mapped.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {length}" for name, length in lengths.items())
        raise ValueError(f".map() needs iterable arguments of one length; got {shown}")
    for index in range(next(iter(lengths.values()))):
        yield {name: mapped[name][index] if name in mapped else value
               for name, value in arguments.items()}


def _items(value: Any) -> list | None:
    if isinstance(value, _WHOLE) or hasattr(value, "model_dump"):
        return None
    try:
        return list(value)
    except TypeError:
        return None
