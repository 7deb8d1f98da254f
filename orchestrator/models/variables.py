"""Variables: named JSON values kept by the server, for `{{ flowpool.variables.NAME }}`."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints, field_validator

from .base import Model
from .json_values import finite_json

# No dots: `{{ flowpool.variables.NAME }}` reads the whole rest of the placeholder as the name.
VARIABLE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"
VARIABLE_NAME_ADVICE = ("use letters, digits, '_' and '-', starting with a letter, digit or '_' "
                        "(no dots or spaces), at most 100 characters")
VariableName = Annotated[str, StringConstraints(pattern=VARIABLE_NAME_PATTERN, max_length=100)]
MAX_VALUE_CHARS = 64_000  # as JSON text: a variable holds settings, not data sets


class VariableValue(Model):
    """What `PUT /variables/NAME` sends: any JSON value (text, number, bool, list, object, null)."""

    value: Any = None

    @field_validator("value")
    @classmethod
    def _finite_and_small_enough(cls, value: Any) -> Any:
        finite_json(value)
        size = len(json.dumps(value))
        if size > MAX_VALUE_CHARS:
            raise ValueError(f"the value is {size} characters of JSON; at most {MAX_VALUE_CHARS} "
                             "fit in a variable (keep large data in storage and put its URL here)")
        return value


class Variable(Model):
    id: str
    name: VariableName
    value: Any = None
    created: datetime
    updated: datetime


class VariableCreate(VariableValue):
    """What `POST /variables` sends: a new variable's name and value."""

    name: VariableName
