"""Layers point down only: every import in orchestrator/, workers/ and config/ (at the top of a
module or inside a function) goes to its own part or to a part that part may use.

This table is the layering rule, written once; ARCHITECTURE.md explains it.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "workers", "config")
# Importing any module of orchestrator runs its __init__ first, so importing the root itself
# (for `__version__`) adds no dependency.
PACKAGE_ROOT = "orchestrator"

# part: the module prefixes it holds (the longest prefix wins). A module of orchestrator/
# that no other prefix names belongs to the SDK: `sdk/`, `compat/`, flows, entrypoints and
# variables.
PARTS = {
    "base": ("config", "orchestrator.errors", "orchestrator.bounds", "orchestrator.keys",
             "orchestrator.urls", "orchestrator.private_files", "orchestrator.processes",
             "orchestrator.masking", "orchestrator.templating", "orchestrator.encryption",
             "orchestrator.warm_protocol"),
    "states": ("orchestrator.states",),
    "models": ("orchestrator.models", "orchestrator.schedules", "orchestrator.parameters",
               "orchestrator.jobs"),
    "rules": ("orchestrator.admission", "orchestrator.waiting_reasons", "orchestrator.metrics",
              "orchestrator.triggers"),
    "redis": ("orchestrator.leases", "orchestrator.broker", "orchestrator.wakeup",
              "orchestrator.embedded_redis", "orchestrator.slots"),
    "store": ("orchestrator.store",),
    "client": ("orchestrator.client",),
    "sdk": ("orchestrator",),
    "steps": ("orchestrator.steps",),
    "cli-kit": ("orchestrator.cli.common", "orchestrator.cli.output",
                "orchestrator.cli.schedule_options"),
    "deploy": ("orchestrator.deploy",),
    "engine": ("orchestrator.engine",),
    "api": ("orchestrator.api",),
    "ui": ("orchestrator.ui",),
    "app": ("orchestrator.api.app",),
    "scheduler": ("orchestrator.scheduler",),
    "server": ("orchestrator.server",),
    "admin": ("orchestrator.database_admin",),
    "workers": ("workers",),
    "worker-process": ("workers.clean_start",),
    "cli": ("orchestrator.cli",),
}

# part: the parts it may import, besides itself. Nothing below the engine, the workers, the
# API, the scheduler and the CLI imports them; workers, engine and CLI never reach the store.
MAY_IMPORT = {
    "base": set(),
    "states": set(),
    "models": {"base", "states"},
    "rules": {"base", "states", "models"},
    "redis": {"base", "states", "models"},
    "store": {"base", "states", "models", "rules"},
    "client": {"base", "states", "models", "rules"},
    "sdk": {"base", "states", "models", "rules", "client"},
    "steps": {"base", "states", "models", "sdk"},
    "cli-kit": {"base", "states", "models", "rules", "client", "sdk"},
    "deploy": {"base", "states", "models", "rules", "client", "sdk", "steps", "cli-kit"},
    "engine": {"base", "states", "models", "rules", "client", "sdk", "steps"},
    "api": {"base", "states", "models", "rules", "redis", "store"},
    "ui": {"base", "states", "models", "rules", "redis", "store", "api"},
    "app": {"base", "states", "models", "rules", "redis", "store", "api", "ui"},
    "scheduler": {"base", "states", "models", "rules", "redis", "store", "client"},
    "server": {"base", "states", "models", "rules", "redis", "store", "api", "ui", "app",
               "scheduler"},
    "workers": {"base", "states", "models", "rules", "redis", "client"},
    "worker-process": {"base", "states", "models", "rules", "redis", "client", "sdk", "steps",
                       "engine", "workers"},
    "admin": {"base", "states", "models", "rules", "store"},
    "cli": {"base", "states", "models", "rules", "redis", "client", "sdk", "steps", "cli-kit",
            "deploy", "server", "admin", "scheduler", "workers"},
}


def part_of(module: str) -> str | None:
    best = max(((prefix, part) for part, prefixes in PARTS.items() for prefix in prefixes
                if module == prefix or module.startswith(prefix + ".")),
               key=lambda found: len(found[0]), default=None)
    return best[1] if best else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a flowpool module in `path`, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if _is_module(base, alias.name)
                       else base) for alias in node.names]
    return [(line, module) for line, module in found if module.split(".")[0] in PACKAGES]


def _is_module(package: str, name: str) -> bool:
    path = ROOT.joinpath(*package.split("."), name)
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_module_belongs_to_a_part():
    assert [module_name(p) for p in source_files() if part_of(module_name(p)) is None] == []


def test_every_part_may_import_only_parts_that_exist():
    assert {p for allowed in MAY_IMPORT.values() for p in allowed} <= set(PARTS) == set(MAY_IMPORT)


@pytest.mark.parametrize("path", source_files(), ids=lambda p: module_name(p))
def test_no_import_points_up(path: Path):
    here = part_of(module_name(path))
    upward = [f"line {line}: {module} ({part_of(module)})" for line, module in imported_modules(path)
              if module != PACKAGE_ROOT and part_of(module) not in {here, *MAY_IMPORT[here]}]
    assert upward == [], f"{module_name(path)} ({here}) imports above its layer"


def test_an_upward_import_is_caught(tmp_path):
    """The check itself can fail: the store importing the scheduler is refused."""
    assert "scheduler" not in MAY_IMPORT[part_of("orchestrator.store.flow_runs")]
    assert part_of("orchestrator.scheduler.dispatch") == "scheduler"
    assert part_of("orchestrator.flows") == "sdk"
    assert part_of("orchestrator.deploy.plan") == "deploy"
    assert part_of("orchestrator.steps.runner") == "steps"


def test_the_runtime_never_loads_the_deploy_tooling():
    """What the API, the scheduler, a worker and an engine load, in a fresh interpreter."""
    code = ("import sys, orchestrator.server, orchestrator.engine.run, workers.execution, "
            "workers.tasks; print(sorted(m for m in sys.modules "
            "if m.startswith(('orchestrator.deploy', 'orchestrator.cli.'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    assert loaded.strip() == "[]"
