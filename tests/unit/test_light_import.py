"""A flow file imports `orchestrator` (or `prefect`, through the compat layer); that import
must not drag in the server's libraries, and stays a few milliseconds."""
import re
import subprocess
import sys

HEAVY = ("fastapi", "sqlalchemy", "celery", "kombu", "redis", "pydantic", "httpx", "uvicorn")


def loaded_after(statements: str) -> dict:
    code = (f"import sys; {statements}; "
            f"print([m for m in {HEAVY!r} if m in sys.modules]); "
            "print(sorted(m for m in sys.modules if m.startswith('orchestrator')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, ours = out.stdout.strip().splitlines()
    return {"heavy": eval(heavy), "ours": eval(ours)}


def test_importing_orchestrator_loads_no_server_or_broker_library():
    assert loaded_after("import orchestrator")["heavy"] == []


def test_importing_orchestrator_loads_only_the_flow_decorator():
    assert loaded_after("import orchestrator")["ours"] == ["orchestrator", "orchestrator.flows"]


def test_the_sdks_names_load_no_server_or_broker_library():
    statements = ("from orchestrator import flow, task, get_run_logger, tags, unmapped, wait, "
                  "Variable, concurrency, create_markdown_artifact, runtime, LocalReporter")
    assert loaded_after(statements)["heavy"] == []


def test_prefect_code_through_the_compat_layer_loads_no_server_library():
    statements = ("import orchestrator.compat as c; c.install(); "
                  "from prefect import flow, task, get_run_logger; "
                  "from prefect.futures import wait; from prefect.runtime import flow_run")
    assert loaded_after(statements)["heavy"] == []


def test_importing_orchestrator_takes_well_under_20_ms():
    def cumulative_us() -> int:
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import orchestrator"],
                             capture_output=True, text=True, check=True)
        line = next(l for l in out.stderr.splitlines() if re.search(r"\| orchestrator$", l))
        return int(line.split("|")[1])

    best_us = min(cumulative_us() for _ in range(5))  # the machine may be busy: best of 5
    assert best_us < 20_000, f"import orchestrator took {best_us / 1000:.1f} ms"
