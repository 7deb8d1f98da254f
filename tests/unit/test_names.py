"""Which names flowpool takes: flows and deployments as people write them ("Call API"),
pools and queues as plain words; what is refused says why and what to write instead."""
from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from orchestrator.errors import validation_message
from orchestrator.models.automations import RunDeployment
from orchestrator.models.base import DisplayName, Name

DISPLAY = TypeAdapter(DisplayName)


@pytest.mark.parametrize("name", ["Call API", "01 Deploy Wallet Valuations", "a", "x.y_z-1",
                                  "Étape  deux", "what?", "a" * 100])
def test_flow_and_deployment_names_may_have_inner_spaces(name):
    assert DISPLAY.validate_python(name) == name


@pytest.mark.parametrize("name", ["daily/eu", " lead", "trail ", "tab\there", "line\nbreak",
                                  "50%", "a&b", "<b>", "", " ", "a" * 101])
def test_names_that_would_break_are_refused_with_the_fix(name):
    with pytest.raises(ValidationError) as refused:
        DISPLAY.validate_python(name)
    [error] = refused.value.errors()
    if error["type"] == "string_pattern_mismatch":
        assert validation_message(error) == (
            f"{name!r} is not a valid name: use at most 100 characters, without '/', '%', '&',"
            " '<', '>', control characters, or spaces at either end (e.g. \"Call API\")")


def test_pool_names_stay_plain_words():
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Name).validate_python("my pool")
    assert "(no spaces)" in validation_message(refused.value.errors()[0])


def test_an_action_names_a_deployment_with_spaces_as_flow_slash_name():
    action = RunDeployment(type="run-deployment", deployment="Call API/my deployment")
    assert action.deployment == "Call API/my deployment"
    with pytest.raises(ValidationError) as refused:
        RunDeployment(type="run-deployment", deployment="Call API")
    assert "name the deployment as FLOW/DEPLOYMENT" in validation_message(
        refused.value.errors()[0])
