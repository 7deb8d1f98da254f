"""FLOWPOOL_WARM_IMPORTS / `flowpool worker start --warm-import`: the warm-start process
imports a library once, and every run forked from it finds the library imported; a module
that cannot be imported is reported and left to the runs; a name that is not a module name
stops the worker before it starts, naming the setting."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from config.settings import Settings
from devstack import LocalStack, wait_for
from orchestrator.states import FINAL_STATES, StateType
from workers.process_tree import descendants, process_table

LIBRARY = '''
import os
from pathlib import Path

IMPORTED_IN = os.getpid()
with open(Path(__file__).with_suffix(".imports"), "a") as imports:
    imports.write(f"{IMPORTED_IN}\\n")
'''

FLOWS = '''
import json, os, sys
from orchestrator import flow


@flow
def where_imported(out: str):
    already = "warmlib" in sys.modules
    import warmlib
    with open(out, "w") as answer:
        json.dump({"already": already, "imported_in": warmlib.IMPORTED_IN,
                   "pid": os.getpid()}, answer)
'''

MISSING = "no_such_module_for_warm_imports"
LIMIT = 2
# one warm-start process for the worker where runs get cgroups; one per slot where they do not
MODES = {"cgroup": {}, "subreaper": {"FLOWPOOL_PROCESS_CGROUPS": "false"}}


@pytest.fixture(scope="module", params=list(MODES))
def wstack(tmp_path_factory, request):
    home = tmp_path_factory.mktemp(f"warm-imports-{request.param}")
    libraries = home / "libraries"
    libraries.mkdir()
    (libraries / "warmlib.py").write_text(LIBRARY)
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOWS)
    path = os.pathsep.join(filter(None, [str(libraries), os.environ.get("PYTHONPATH")]))
    stack = LocalStack(home / "home", extra_env={"PYTHONPATH": path})
    stack.start_redis()
    stack.start_server()
    stack.cli("work-pool", "create", "warm", "--type", "process", check=True)
    stack.cli("deploy", "flows.py:where_imported", "--name", "d", "--pool", "warm",
              cwd=project, check=True)
    worker = stack.start_worker("warm", "--limit", str(LIMIT), "--warm-import", "warmlib",
                                env={"FLOWPOOL_WARM_IMPORTS": MISSING, **MODES[request.param]})
    stack.libraries, stack.worker = libraries, worker
    yield stack
    stack.stop()


def warm_starts_ready(worker_pid: int) -> bool:
    """Every warm-start process of the worker serves: each has forked its spare (which it
    does once it has told the worker it is ready), so no run starts cold for want of one."""
    table = process_table()
    names = {}
    for pid in descendants(table, [worker_pid]):
        with contextlib.suppress(OSError):  # gone meanwhile
            names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
    zygotes = {pid for pid, name in names.items() if name == "flowpool-zygote"}
    serving = {table[pid][0] for pid, name in names.items() if name == "flowpool-spare"}
    return bool(zygotes) and zygotes <= serving


def run_and_answer(stack: LocalStack, out) -> dict:
    with stack.client(retry_for_s=10) as api:
        run_id = api.create_flow_run_by_name("where-imported/d", {"out": str(out)}).id
        run = wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
            api.read_flow_run(run_id)), 60, f"run {run_id} to end")
    assert run.state_type is StateType.COMPLETED, run.state_message
    return json.loads(out.read_text())


@pytest.mark.integration
def test_runs_find_the_library_imported_by_the_warm_start_process(wstack, tmp_path):
    wait_for(lambda: warm_starts_ready(wstack.worker.pid), 30,
             "the warm-start processes to import the library and serve")
    first = run_and_answer(wstack, tmp_path / "first.json")
    second = run_and_answer(wstack, tmp_path / "second.json")

    for answer in (first, second):
        assert answer["already"] is True  # the run imported nothing itself
        assert answer["imported_in"] != answer["pid"]
    imports = (wstack.libraries / "warmlib.imports").read_text().split()
    assert len(set(imports)) == len(imports) <= LIMIT  # once per warm-start process
    assert {str(first["imported_in"]), str(second["imported_in"])} <= set(imports)


@pytest.mark.integration
def test_a_module_that_cannot_be_imported_is_reported_and_runs_go_on(wstack, tmp_path):
    wait_for(lambda: f"could not import {MISSING} ahead of the runs" in
             wstack.worker.log_path.read_text(errors="replace"), 30,
             "the worker's log to report the missing module")
    wait_for(lambda: warm_starts_ready(wstack.worker.pid), 30, "the warm-start processes")
    assert run_and_answer(wstack, tmp_path / "answer.json")["already"] is True


@pytest.mark.integration
def test_a_name_that_is_not_a_module_stops_the_worker_naming_the_setting(wstack):
    result = wstack.cli("worker", "start", "--pool", "warm", "--warm-import", "pandas; rm -rf")
    assert result.returncode == 1
    assert "FLOWPOOL_WARM_IMPORTS" in result.stderr
    assert "is not a module name" in result.stderr


def test_warm_imports_are_read_as_comma_separated_module_names():
    assert Settings(warm_imports=" pandas, numpy.linalg ,").warm_import_modules == [
        "pandas", "numpy.linalg"]
    assert Settings().warm_import_modules == []
    with pytest.raises(ValueError, match="'os.path/x' is not a module name"):
        Settings(warm_imports="json,os.path/x")
