"""Base job templates: defaults, overrides, validation of job variables."""
import pytest

from orchestrator.errors import InvalidInput
from orchestrator.jobs import (check_base_job_template, default_base_job_template,
                               render_job_configuration, validate_job_variables)
from orchestrator.templating import render


def test_a_whole_placeholder_keeps_its_type_and_a_partial_one_becomes_text():
    values = {"env": {"A": "1"}, "n": 3}
    assert render({"e": "{{ env }}", "s": "n={{ n }}", "l": ["{{n}}"]}, values.get) == \
        {"e": {"A": "1"}, "s": "n=3", "l": [3]}


def test_run_job_variables_override_the_deployments_which_override_the_defaults():
    template = default_base_job_template("process")
    job = render_job_configuration(template, {"env": {"A": "deployment"}, "working_dir": "/d"},
                                   {"env": {"A": "run"}})
    assert job["env"] == {"A": "run"}
    assert job["working_dir"] == "/d"
    assert job["stream_output"] is True


def test_unknown_job_variables_and_wrong_types_are_named():
    template = default_base_job_template("process")
    with pytest.raises(InvalidInput) as caught:
        validate_job_variables(template, {"imagee": "x", "stream_output": "yes"})
    fields = [e.field for e in caught.value.errors]
    assert "job_variables.imagee" in fields and "job_variables.stream_output" in fields
    assert "this pool takes: command, env" in str(caught.value)


def test_a_template_referencing_an_undeclared_variable_is_refused():
    with pytest.raises(InvalidInput, match="undeclared variables: image"):
        check_base_job_template({"job_configuration": {"i": "{{ image }}"}, "variables": {}})


def test_an_unknown_worker_type_is_refused():
    with pytest.raises(InvalidInput, match="unknown worker type"):
        default_base_job_template("ecs")
