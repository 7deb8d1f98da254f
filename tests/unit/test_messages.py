"""The one message on the broker is strict and frozen."""
import pytest
from pydantic import ValidationError

from orchestrator.models import DispatchMessage


def test_a_dispatch_message_round_trips_and_refuses_unknown_fields():
    message = DispatchMessage(run_id="r", token="t")
    assert DispatchMessage.decode(message.encode()) == message
    with pytest.raises(ValidationError):
        DispatchMessage.decode({**message.encode(), "extra": 1})
    with pytest.raises(ValidationError):
        DispatchMessage.decode({**message.encode(), "v": 2})
