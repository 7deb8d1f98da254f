"""Flow parameters: schema from the signature, validation messages, and k=v parsing."""
import pytest
from pydantic import BaseModel

from orchestrator import flow
from orchestrator.errors import InvalidInput
from orchestrator.parameters import (coerce_parameters, parameter_schema, parse_assignment,
                                     validate_against_schema)


class Settings(BaseModel):
    depth: int
    label: str = "x"


@flow
def sample(repo: str, limit: int = 10, settings: Settings | None = None, *args, **kwargs):
    """Sample flow."""
    return repo


def test_the_schema_has_types_defaults_and_required_fields():
    schema = parameter_schema(sample.fn)
    assert schema["required"] == ["repo"]
    assert schema["properties"]["repo"]["type"] == "string"
    assert schema["properties"]["limit"] == {"default": 10, "title": "Limit", "type": "integer"}
    assert "Settings" in schema["$defs"]
    assert schema["additionalProperties"] is False


def test_validation_names_each_bad_field():
    schema = parameter_schema(sample.fn)
    with pytest.raises(InvalidInput) as caught:
        validate_against_schema({"limit": "ten", "extra": 1}, schema)
    fields = {e.field: e.message for e in caught.value.errors}
    assert fields["repo"] == "required parameter is missing"
    assert "is not of type 'integer'" in fields["limit"]
    assert fields["extra"].startswith("unknown parameter; the flow takes: limit, repo, settings")


def test_nested_model_errors_point_at_the_nested_field():
    schema = parameter_schema(sample.fn)
    with pytest.raises(InvalidInput) as caught:
        validate_against_schema({"repo": "r", "settings": {"depth": "deep"}}, schema)
    assert caught.value.errors[0].field == "settings.depth"


def test_coercion_builds_pydantic_models_and_fills_defaults():
    values = coerce_parameters(sample.fn, {"repo": "r", "settings": {"depth": 2}})
    assert values == {"repo": "r", "limit": 10, "settings": Settings(depth=2)}


@pytest.mark.parametrize("text, expected", [
    ("n=3", ("n", 3)), ("flag=true", ("flag", True)), ("name=alice", ("name", "alice")),
    ('obj={"a": 1}', ("obj", {"a": 1})), ("s=", ("s", "")), ("eq=a=b", ("eq", "a=b")),
])
def test_an_assignment_value_is_json_when_it_parses_else_a_string(text, expected):
    assert parse_assignment(text) == expected


def test_an_assignment_without_equals_sign_is_refused_with_the_fix():
    with pytest.raises(InvalidInput) as caught:
        parse_assignment("novalue", "--param")
    assert "key=value" in str(caught.value)


def test_a_decorated_flow_still_runs_when_called():
    assert sample("repo") == "repo"
    assert sample.name == "sample" and sample.description == "Sample flow."
