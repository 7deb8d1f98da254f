"""Numbers keep their exact form end to end: the real CLI, a real server on SQLite, a real
worker and a real flow process. 3.0 is not shown as 3, nor 2**70 as 1.18e+21."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

VALUE_FLOW = '''
from orchestrator import flow

@flow
def value(kind: str):
    return {"float": 3.0, "big": 2**70, "tiny": 1e-300, "nested": {"z": 1.0, "a": -2**100}}[kind]
'''


def test_variables_keep_floats_and_big_integers_exactly(stack, unique_name):
    name = unique_name("exact").replace("-", "_")
    shown = {}
    for text in ("3.0", str(2**70), "1e-300"):
        stack.cli("variable", "set", name, text, check=True)
        shown[text] = (stack.cli("variable", "get", name, check=True).stdout.strip(),
                       stack.cli("variable", "get", name, "-o", "json", check=True).stdout)
    not_json = stack.cli("variable", "set", name, "NaN")

    assert {text: plain for text, (plain, _) in shown.items()} == {
        "3.0": "3.0", str(2**70): str(2**70), "1e-300": "1e-300"}
    assert '"value": 3.0' in shown["3.0"][1]
    assert f'"value": {2**70}' in shown[str(2**70)][1]
    assert not_json.returncode == 1 and "NaN and Infinity are not JSON numbers" in not_json.stderr


def test_a_flow_result_keeps_floats_and_big_integers_exactly(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(VALUE_FLOW, "value")
    stack.cli("deploy", entrypoint, "--name", "exact", "--pool", pool, cwd=project, check=True)

    inspected = {}
    for kind in ("float", "big", "nested"):
        run = json.loads(stack.cli("deployment", "run", "value/exact", "-p", f"kind={kind}",
                                   "--watch", "--timeout", "60", "-o", "json", check=True).stdout)
        inspected[kind] = stack.cli("flow-run", "inspect", run["id"], "-o", "json",
                                    check=True).stdout
    table = stack.cli("flow-run", "inspect", run["id"], check=True).stdout

    assert '"result": 3.0,' in inspected["float"]
    assert f'"result": {2**70},' in inspected["big"]
    nested = json.loads(inspected["nested"])["result"]
    assert json.dumps(nested) == json.dumps({"z": 1.0, "a": -2**100})
    assert f'{{"z": 1.0, "a": {-2**100}}}' in table
