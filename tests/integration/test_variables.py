"""Variables, end to end: kept by the server, set and read with the real CLI, and filled
into project files at deploy time (deployment fields) and at run time (pull steps, where
the run executes)."""
from __future__ import annotations

import json
import os
import textwrap

import pytest

from .projects import is_registered, run_deployment, write_files

pytestmark = pytest.mark.integration

WHERE_FLOW = '''
from orchestrator import flow

@flow
def where(greeting: str) -> str:
    return f"{greeting} from PLACE"
'''


@pytest.fixture(scope="module")
def pool(stack):
    name = f"variables-{os.getpid()}"
    stack.cli("work-pool", "create", name, "--type", "process", check=True)
    stack.start_worker(name)
    return name


def variable_name(unique_name, prefix: str) -> str:
    return unique_name(prefix).replace("-", "_")


def test_variables_are_set_read_listed_and_unset_as_json_values(stack, unique_name):
    text, number, document = (variable_name(unique_name, p) for p in ("text", "number", "doc"))

    for name, value in ((text, "main"), (number, "42"), (document, '{"retries": [1, 2]}')):
        stack.cli("variable", "set", name, value, check=True)
    listed = stack.cli("variable", "ls", check=True).stdout
    as_json = json.loads(stack.cli("variable", "get", document, "-o", "json", check=True).stdout)
    printed = [stack.cli("variable", "get", name, check=True).stdout.strip()
               for name in (text, number, document)]
    stack.cli("variable", "set", number, "43", check=True)
    replaced = stack.cli("variable", "get", number, check=True).stdout.strip()
    unset = stack.cli("variable", "unset", text, check=True)
    gone = stack.cli("variable", "get", text)
    bad_name = stack.cli("variable", "set", "no.dots", "x")

    assert all(name in listed for name in (text, number, document))
    assert as_json["value"] == {"retries": [1, 2]}
    assert printed == ["main", "42", '{"retries": [1, 2]}']
    assert replaced == "43"
    assert f"Variable {text!r} unset." in unset.stdout
    assert gone.returncode == 1 and f"variable {text!r} does not exist" in gone.stderr
    assert bad_name.returncode == 1 and "is not a valid variable name" in bad_name.stderr
    with stack.client() as api:
        assert api.read_variable(number).value == 43


def test_variables_fill_deployment_fields_at_deploy_time_and_pull_steps_at_run_time(
        stack, pool, tmp_path, unique_name):
    greeting, code_dir = variable_name(unique_name, "greeting"), variable_name(unique_name, "dir")
    name = unique_name("templated")
    here = write_files(tmp_path / "here", {"flows.py": WHERE_FLOW.replace("PLACE", "here")})
    there = write_files(tmp_path / "there", {"flows.py": WHERE_FLOW.replace("PLACE", "there")})
    write_files(here, {"flowpool.yaml": textwrap.dedent(f"""
        pull:
        - flowpool.steps.set_working_directory:
            directory: "{{{{ flowpool.variables.{code_dir} }}}}"
        deployments:
        - name: {name}
          entrypoint: flows.py:where
          parameters:
            greeting: "{{{{ prefect.variables.{greeting} }}}}"
          work_pool: {{name: {pool}}}
        """)})
    stack.cli("variable", "set", greeting, "hello", check=True)
    stack.cli("variable", "set", code_dir, str(here), check=True)

    stack.cli("deploy", "--all", cwd=here, check=True)
    first = run_deployment(stack, f"where/{name}")
    stack.cli("variable", "set", greeting, "changed after deploy", check=True)
    stack.cli("variable", "set", code_dir, str(there), check=True)
    second = run_deployment(stack, f"where/{name}")

    with stack.client() as api:
        deployed = api.read_deployment(f"where/{name}")
    assert deployed.parameters == {"greeting": "hello"}  # filled in when deploy ran
    assert deployed.pull_steps == [{"flowpool.steps.set_working_directory": {
        "directory": f"{{{{ flowpool.variables.{code_dir} }}}}"}}]  # left for run time
    assert first["result"] == "hello from here"
    assert second["result"] == "hello from there"  # the pull step read the variable again


def test_a_variable_that_is_not_set_stops_deploy_naming_it(stack, pool, tmp_path, unique_name):
    missing, name = variable_name(unique_name, "never_set"), unique_name("unset")
    project = write_files(tmp_path / "project", {
        "flows.py": WHERE_FLOW,
        "flowpool.yaml": f"deployments:\n- name: {name}\n  entrypoint: flows.py:where\n"
                         f"  parameters: {{greeting: '{{{{ flowpool.variables.{missing} }}}}'}}\n"
                         f"  work_pool: {{name: {pool}}}\n"})

    result = stack.cli("deploy", "--all", cwd=project)

    assert result.returncode == 1
    assert f"variable {missing} is not set (flowpool variable set {missing} VALUE)" \
        in result.stderr
    assert not is_registered(stack, f"where/{name}")
