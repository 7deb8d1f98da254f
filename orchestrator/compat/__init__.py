"""Prefect flow code runs unchanged: `import prefect` (and the `prefect.*` modules flowpool
supports) resolves to flowpool's own implementation through an import hook.

`install()` is called wherever flow files are loaded (`orchestrator.entrypoints`), so inside
`flowpool deploy` and inside runs. No `prefect` package is installed anywhere; a real one,
if present, is shadowed, unless `FLOWPOOL_PREFECT_COMPAT=off` (then it loads as usual, and
without one `import prefect` fails). A real Prefect imported before `install()` is left alone.
"""
from __future__ import annotations

import os
import sys

from .finder import PrefectCompatFinder
from .modules import is_compat_module

_OFF_VALUES = ("off", "0", "false", "no")


def enabled() -> bool:
    return os.environ.get("FLOWPOOL_PREFECT_COMPAT", "on").strip().lower() not in _OFF_VALUES


def installed() -> bool:
    return any(isinstance(finder, PrefectCompatFinder) for finder in sys.meta_path)


def install() -> bool:
    """Put the import hook first on `sys.meta_path` (once); whether it is in place."""
    if not enabled():
        return installed()
    if not installed():
        sys.meta_path.insert(0, PrefectCompatFinder())
    return True


def uninstall() -> None:
    """Take the hook out and forget the modules it made (for tests)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PrefectCompatFinder)]
    for name in [n for n in sys.modules if is_compat_module(n)]:
        if isinstance(getattr(sys.modules[name], "__loader__", None), PrefectCompatFinder):
            del sys.modules[name]
