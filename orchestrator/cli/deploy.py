"""`flowpool deploy ENTRYPOINT --name NAME --pool POOL`: register a flow as a deployment."""
from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer

from ..entrypoints import load_flow, split_entrypoint
from ..errors import FieldError, InvalidInput
from ..models import DeploymentCreate
from ..parameters import parameter_schema, validate_against_schema
from .common import client, merged_parameters
from .output import OUTPUT_OPTION, Output, show


class CollisionOption(str, Enum):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


def deploy(entrypoint: str = typer.Argument(..., help="path/to/file.py:function"),
           name: str = typer.Option(None, "--name", "-n", help="deployment name"),
           pool: str = typer.Option(None, "--pool", "-p", help="work pool the runs go to"),
           work_queue: str = typer.Option(None, "--work-queue", "-q", help="work queue of the pool"),
           param: list[str] = typer.Option(None, "--param", help="default parameter k=v (repeatable)"),
           params: str = typer.Option(None, "--params", help="default parameters as a JSON object"),
           job_variable: list[str] = typer.Option(None, "--job-variable", help="job variable k=v"),
           description: str = typer.Option(None, help="defaults to the flow's docstring"),
           version: str = typer.Option(None),
           tag: list[str] = typer.Option(None, "--tag"),
           concurrency_limit: int = typer.Option(None, min=1, help="at most this many runs at once"),
           collision_strategy: CollisionOption = typer.Option(
               "ENQUEUE", help="when the limit is reached: ENQUEUE waits, CANCEL_NEW cancels"),
           output: Output = OUTPUT_OPTION) -> None:
    """Register ENTRYPOINT's flow as a deployment of a work pool."""
    missing = [FieldError(opt, "required") for opt, value in (("--name", name), ("--pool", pool))
               if not value]
    if missing:
        raise InvalidInput("missing options for deploy", missing)
    request = build_deployment(entrypoint, name, pool, work_queue,
                               merged_parameters(param, params),
                               merged_parameters(job_variable, None), description, version, tag,
                               concurrency_limit=concurrency_limit,
                               collision_strategy=collision_strategy.value)
    with client() as api:
        deployment = api.upsert_deployment(request)
    show(deployment, output, lambda d: typer.echo(
        f"Deployment {d.full_name!r} registered on work pool {d.work_pool_name!r}.\n"
        f"Run it with: flowpool deployment run {d.full_name}"))


def build_deployment(entrypoint: str, name: str, pool: str, work_queue: str | None,
                     parameters: dict, job_variables: dict, description: str | None,
                     version: str | None, tags: list[str] | None,
                     root: Path | None = None, **extra) -> DeploymentCreate:
    """Import the flow and describe it: schema from its signature, description from its docstring."""
    root = (root or Path.cwd()).resolve()
    entrypoint = _relative_entrypoint(entrypoint, root)
    flow = load_flow(entrypoint, root)
    schema = parameter_schema(flow.fn)
    _check_default_parameters(parameters, schema)
    from pydantic import ValidationError

    try:
        return DeploymentCreate(
            flow_name=flow.name, name=name, entrypoint=entrypoint, path=str(root),
            description=description or flow.description, version=version or flow.version,
            tags=tags or [], parameters=parameters, parameter_schema=schema,
            work_pool_name=pool, work_queue_name=work_queue, job_variables=job_variables, **extra)
    except ValidationError as exc:
        raise InvalidInput("invalid deployment", [FieldError(
            ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]) from None


def _relative_entrypoint(entrypoint: str, root: Path) -> str:
    path, function = split_entrypoint(entrypoint)
    if path.endswith(".py") and os.path.isabs(path):
        try:
            path = str(Path(path).resolve().relative_to(root))
        except ValueError:
            pass
    return f"{path}:{function}" if path.endswith(".py") else entrypoint


def _check_default_parameters(parameters: dict, schema: dict) -> None:
    """Defaults given at deploy must fit the signature; required ones may come at run time."""
    try:
        validate_against_schema(parameters, schema)
    except InvalidInput as exc:
        errors = [e for e in exc.errors if e.message != "required parameter is missing"]
        if errors:
            raise InvalidInput("invalid default parameters", errors) from None
