"""`flowpool automation ...`: triggers on events and the actions they take."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import FieldError, InvalidInput
from ..models.automations import Automation, AutomationCreate
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, show, show_table

app = typer.Typer(help="Automations: when events match a trigger, run a deployment, pause "
                       "one, cancel a run, pause a pool or call a webhook.",
                  no_args_is_help=True)


@app.command("create")
def create(file: Path = typer.Option(..., "--file", "-f", help="a YAML or JSON file: one "
                                     "automation, or `automations:` with a list of them"),
           output: Output = OUTPUT_OPTION) -> None:
    """Create the automations a file declares (all are checked before any is created)."""
    requests = read_automation_file(file)
    with client() as api:
        created = [api.create_automation(request) for request in requests]
    show(created, output, lambda found: [typer.echo(f"Created automation {a.name!r} ({a.id})")
                                         for a in found])


@app.command("ls")
def ls(output: Output = OUTPUT_OPTION) -> None:
    """List the automations."""
    with client() as api:
        found = api.list_automations()
    show_table(found, output, ["name", "id", "enabled", "trigger", "actions"], lambda a: dict(
        name=a.name, id=a.id, enabled=a.enabled, trigger=_trigger_summary(a),
        actions=", ".join(x.type for x in a.actions)))


@app.command("inspect")
def inspect(automation: str = typer.Argument(..., help="its name or id"),
            output: Output = OUTPUT_OPTION) -> None:
    """An automation, its trigger and actions, and its latest firings."""
    with client() as api:
        found = api.read_automation(automation)
    show(found, output, _print_detail)


@app.command("pause")
def pause(automation: str = typer.Argument(..., help="its name or id")) -> None:
    """Stop evaluating its trigger (its open windows are dropped)."""
    with client() as api:
        found = api.set_automation_enabled(automation, False)
    typer.echo(f"Paused automation {found.name!r}.")


@app.command("resume")
def resume(automation: str = typer.Argument(..., help="its name or id")) -> None:
    """Evaluate its trigger again, from the next event on."""
    with client() as api:
        found = api.set_automation_enabled(automation, True)
    typer.echo(f"Resumed automation {found.name!r}.")


@app.command("delete")
def delete(automation: str = typer.Argument(..., help="its name or id")) -> None:
    with client() as api:
        found = api.delete_automation(automation)
    typer.echo(f"Deleted automation {found.name!r}.")


def read_automation_file(path: Path) -> list[AutomationCreate]:
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", [FieldError(
            "--file", "give the path of a YAML or JSON file")]) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not YAML or JSON: {exc}", [FieldError(
            "--file", "fix the syntax")]) from None
    entries = data.get("automations") if isinstance(data, dict) and "automations" in data \
        else [data]
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict)
                                                               for e in entries):
        raise InvalidInput(f"{path} declares no automation", [FieldError(
            "--file", "write one automation (name, trigger, actions), or `automations:` with"
                      " a list of them")])
    requests, errors = [], []
    for position, entry in enumerate(entries):
        try:
            requests.append(AutomationCreate.model_validate(entry))
        except ValidationError as exc:
            where = f"automations[{position}]." if len(entries) > 1 else ""
            errors += [FieldError(where + ".".join(str(p) for p in e["loc"]),
                                  e["msg"].removeprefix("Value error, "))
                       for e in exc.errors()]
    if errors:
        raise InvalidInput(f"{path}: nothing created", errors)
    return requests


def _trigger_summary(automation: Automation) -> str:
    trigger = automation.trigger
    within = f" within {trigger.within:g}s" if trigger.within else ""
    if trigger.is_composite:
        return f"{trigger.type}: {trigger.required} of {len(trigger.triggers)} parts{within}"
    expect = ",".join(trigger.expect) or "any event"
    if trigger.posture.value == "Proactive":
        return f"fewer than {trigger.threshold} x {expect}{within}"
    return f"{trigger.threshold} x {expect}{within}"


def _print_detail(found: dict[str, Any]) -> None:
    automation = Automation.model_validate({k: v for k, v in found.items() if k != "firings"})
    print_fields([("name", automation.name), ("id", automation.id),
                  ("enabled", automation.enabled), ("description", automation.description),
                  ("deployment", automation.deployment_id),
                  ("trigger", automation.trigger.model_dump(mode="json", exclude_defaults=True)),
                  ("actions", [a.model_dump(mode="json") for a in automation.actions])])
    typer.echo("firings:")
    for firing in found["firings"] or []:
        typer.echo(f"  {firing['fired']}  {firing['outcome']}")
    if not found["firings"]:
        typer.echo("  (none yet)")
