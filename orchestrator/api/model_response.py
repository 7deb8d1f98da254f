"""The answer of the routes on every run's path (create, claim, state, read).

FastAPI validates what a route returns against its response model before serializing it;
for a plain (threaded) route that validation takes one more hop to a worker thread and back.
A model these routes built is valid already, so they serialize it once, in their own thread,
and declare the model with `response_model=` for the API's schema."""
from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(by_alias=True), status_code=status_code,
                    media_type="application/json")
