"""Load a flow from an entrypoint: `path/to/file.py:function` or `package.module.function`."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from .errors import EntrypointError, FieldError
from .flows import Flow


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    """`file.py:func` -> (file.py, func); `pkg.mod.func` -> (pkg.mod, func)."""
    if ":" in entrypoint:
        path, _, name = entrypoint.rpartition(":")
    elif entrypoint.endswith(".py"):  # else read as module `file` and function `py`
        raise EntrypointError(f"entrypoint {entrypoint!r} names a file but not the flow in it",
                              [FieldError("entrypoint", f"write it as {entrypoint}:function,"
                                                        " naming the @flow function to deploy")])
    else:
        path, _, name = entrypoint.rpartition(".")
    if not path or not name:
        raise EntrypointError(f"entrypoint {entrypoint!r} is malformed", [FieldError(
            "entrypoint", "write it as path/to/file.py:function or package.module.function")])
    return path, name


def load_object(entrypoint: str, root: Path | None = None) -> Any:
    """Import the entrypoint's module (relative to `root`) and return the named object.
    Prefect flow code loads unchanged: `prefect` imports resolve to flowpool's own."""
    from . import compat

    compat.install()
    path, name = split_entrypoint(entrypoint)
    module = _load_file(Path(path), root or Path.cwd()) if path.endswith(".py") \
        else _load_module(path)
    try:
        return getattr(module, name)
    except AttributeError:
        raise EntrypointError(f"{path} has no function {name!r}", [FieldError(
            "entrypoint", f"define {name} in {path}, or name a function that is there")]) from None


def load_flow(entrypoint: str, root: Path | None = None) -> Flow:
    """The flow at `entrypoint`; a plain function or a Prefect flow is wrapped as a Flow."""
    return as_flow(load_object(entrypoint, root), entrypoint)


def is_flow(obj: Any) -> bool:
    """Whether `obj` was decorated with @flow (flowpool's, or Prefect's through compat)."""
    return isinstance(obj, Flow) or callable(getattr(obj, "fn", None))


def as_flow(obj: Any, entrypoint: str) -> Flow:
    if isinstance(obj, Flow):
        return obj
    inner = getattr(obj, "fn", None)  # a Prefect @flow keeps the undecorated function in .fn
    if callable(inner):
        return Flow(inner, name=getattr(obj, "name", None),
                    description=getattr(obj, "description", None),
                    retries=getattr(obj, "retries", 0) or 0,
                    timeout_seconds=getattr(obj, "timeout_seconds", None))
    if callable(obj):
        return Flow(obj)
    raise EntrypointError(f"{entrypoint} is not a function", [FieldError(
        "entrypoint", "point it at a function decorated with @flow")])


def _load_file(path: Path, root: Path) -> Any:
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise EntrypointError(f"entrypoint file {path} does not exist (looked in {root})", [
            FieldError("entrypoint", "give the path of the flow's file relative to the project")])
    module_name = "__flowpool_flow_" + "_".join(full.with_suffix("").parts[-3:]).replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, full)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(full.parent))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise EntrypointError(f"importing {path} failed: {type(exc).__name__}: {exc}", [
            FieldError("entrypoint", "fix the error in the flow's file")]) from exc
    return module


def _load_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise EntrypointError(f"importing module {name} failed: {type(exc).__name__}: {exc}", [
            FieldError("entrypoint", "make the module importable, or give a file path")]) from exc


def describe_callable(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
