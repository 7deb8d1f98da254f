"""The import hook: a `sys.meta_path` finder that answers every `prefect` and `prefect.*`
import with a module made here, whose names resolve (on first use) to flowpool's own.

An unsupported module still imports, as a placeholder; the first name taken from it fails,
naming the module and the name: `from prefect.blocks.system import Secret` raises
"prefect.blocks.system.Secret is not supported by flowpool" (an ImportError) at import
time, `prefect.blocks.system.Secret` the same message as an AttributeError.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from typing import Any

from .modules import LIVE_MODULES, MODULES, PREFECT_VERSION, is_compat_module


def _not_supported(name: str) -> Exception:
    """The error for an unsupported `name`, read by the caller of our `__getattr__`.

    `from prefect.x import Y` reads Y from Python's import machinery (`_handle_fromlist`,
    since every module here is a package): there the error must be an ImportError, or Python
    would go on to import `prefect.x.Y` as a module. Read anywhere else (`prefect.x.Y`,
    `getattr(..., default)`, `hasattr`) it is an AttributeError, as for any module."""
    from ..errors import PrefectApiNotSupported, PrefectAttributeNotSupported

    reader = sys._getframe(2).f_code.co_name  # 0: here, 1: __getattr__, 2: who reads
    error = PrefectApiNotSupported if reader == "_handle_fromlist" else \
        PrefectAttributeNotSupported
    return error(f"{name} is not supported by flowpool")


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(f"orchestrator.{module}"), attribute)


class CompatModule(types.ModuleType):
    """A supported Prefect module: its names are flowpool's, loaded when first read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        full_name = f"{self.__name__}.{name}"
        target = MODULES.get(self.__name__, {}).get(name)
        if target is not None:
            value = _resolve(target)
            setattr(self, name, value)
            return value
        if full_name in MODULES or full_name in LIVE_MODULES:
            return importlib.import_module(full_name)
        raise _not_supported(full_name)

    def __dir__(self) -> list[str]:
        names = set(MODULES.get(self.__name__, {}))
        prefix = self.__name__ + "."
        names |= {m[len(prefix):] for m in (*MODULES, *LIVE_MODULES)
                  if m.startswith(prefix) and "." not in m[len(prefix):]}
        return sorted(names)


class LiveModule(types.ModuleType):
    """A Prefect module whose every name is read from a flowpool object each time
    (`prefect.runtime.flow_run.id` is the current run's)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        source = _resolve(LIVE_MODULES[self.__name__])
        try:
            return getattr(source, name)
        except AttributeError:
            raise _not_supported(f"{self.__name__}.{name}") from None

    def __dir__(self) -> list[str]:
        source = _resolve(LIVE_MODULES[self.__name__])
        return sorted(name for name in dir(type(source)) if not name.startswith("_"))


class UnsupportedModule(types.ModuleType):
    """A Prefect module flowpool does not implement: any name read from it fails."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _not_supported(f"{self.__name__}.{name}")


class PrefectCompatFinder:
    """Finds and loads `prefect`, `prefect.*` and the collections of `modules.ROOTS` (every
    one a package, so that any submodule can be asked for)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not is_compat_module(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        if spec.name in LIVE_MODULES:
            return LiveModule(spec.name)
        if spec.name in MODULES:
            module = CompatModule(spec.name, "Prefect's API, implemented by flowpool.")
            if spec.name == "prefect":
                module.__version__ = PREFECT_VERSION
            return module
        return UnsupportedModule(spec.name, "Not supported by flowpool.")

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module's names resolve when read."""
