"""NaN and Infinity are refused where the API takes JSON values: JSON cannot write them."""
import pytest
from pydantic import ValidationError

from orchestrator.models import StateProposal
from orchestrator.models.variables import VariableValue


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [float("-inf")]}])
def test_a_variable_value_must_be_finite_json(value):
    with pytest.raises(ValidationError, match="NaN and Infinity are not JSON numbers"):
        VariableValue(value=value)


def test_a_result_must_be_finite_json_and_keeps_its_type_otherwise():
    with pytest.raises(ValidationError, match="NaN and Infinity are not JSON numbers"):
        StateProposal(type="COMPLETED", result=[float("nan")])

    assert type(StateProposal(type="COMPLETED", result=3.0).result) is float
