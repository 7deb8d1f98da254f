"""JSON values as the API takes them: what JSON can write, so the store keeps them exactly."""
from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator


def finite_json(value: Any) -> Any:
    """Refuse NaN and infinities: Python's json module reads them, but they are not JSON, and
    neither the store nor any other JSON reader could give them back."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("NaN and Infinity are not JSON numbers; send a number, a string or "
                         "null instead") from None
    return value


FiniteJSON = Annotated[Any, AfterValidator(finite_json)]
