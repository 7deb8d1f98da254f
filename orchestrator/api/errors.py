"""Domain errors to HTTP, in one place: `{"detail": ..., "errors": [{"field", "message"}]}`."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import FlowpoolError


def error_body(message: str, errors: list[dict]) -> dict:
    return {"detail": message, "errors": errors}


async def _flowpool_error(_request: Request, exc: FlowpoolError) -> JSONResponse:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return JSONResponse(error_body(exc.message, errors), status_code=exc.status_code)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
              for e in exc.errors()]
    return JSONResponse(error_body("invalid request", errors), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FlowpoolError, _flowpool_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
