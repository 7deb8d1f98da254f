"""A plan as a `deploy --dry-run` shows it: text for a person, a dict for `-o json`; literal
secrets masked in both."""
from __future__ import annotations

import json
from typing import Any

from ..masking import mask_secrets
from ..steps.declarations import Step
from .plan import Plan, PlannedDeployment

WHEN = {"build": "build steps (run by deploy, here)", "push": "push steps (run by deploy, here)",
        "pull": "pull steps (run at the start of every run, where it runs)"}


def plan_as_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON values (YAML dates and times become ISO text)."""
    return json.loads(_json(_plan_dict(plan)))


def _plan_dict(plan: Plan) -> dict[str, Any]:
    return {
        "project_file": str(plan.project_file) if plan.project_file else None,
        "root": str(plan.root),
        "deployments": [_deployment_as_dict(item) for item in plan.deployments],
        "warnings": [str(w) for w in plan.warnings],
    }


def _deployment_as_dict(item: PlannedDeployment) -> dict[str, Any]:
    return mask_secrets({
        "full_name": item.full_name,
        "deployment": item.registration_fields(),
        "schedules": item.schedules(),
        "paused": item.shown.paused,
        "flow_imported": item.flow.imported,
        "steps": {"build": [s.to_raw() for s in item.build],
                  "push": [s.to_raw() for s in item.push],
                  "pull": [s.to_raw() for s in item.pull]},
        "pull_is_default": item.pull_is_default,
    })


def format_plan(plan: Plan) -> str:
    source = plan.project_file.name if plan.project_file else "the command line"
    count = len(plan.deployments)
    lines = [f"Plan from {source}: {count} deployment(s). A dry run registers nothing.", ""]
    for item in plan.deployments:
        lines += _deployment_lines(item) + [""]
    if plan.warnings:
        lines += ["Warnings:"] + [f"  - {w}" for w in plan.warnings]
    return "\n".join(lines).rstrip() + "\n"


def _deployment_lines(item: PlannedDeployment) -> list[str]:
    fields = mask_secrets(item.registration_fields())
    queue = fields["work_queue_name"] or "the pool's default queue"
    lines = [item.full_name,
             f"  entrypoint:    {fields['entrypoint']}",
             f"  work pool:     {fields['work_pool_name']} (queue: {queue})"]
    optional = {"version": fields["version"], "tags": ", ".join(fields["tags"]),
                "description": (fields["description"] or "").strip().splitlines()[:1],
                "parameters": _json(fields["parameters"]),
                "job variables": _json(fields["job_variables"]),
                "schedules": "; ".join(_json(s) for s in item.schedules()),
                "concurrency": _json(item.shown.concurrency_limit.model_dump())
                if item.shown.concurrency_limit else None}
    for label, value in optional.items():
        if isinstance(value, list):
            value = value[0] if value else None
        if value and value != "{}":
            lines.append(f"  {label + ':':<14} {value}")
    for section in ("build", "push", "pull"):
        lines += _steps_lines(section, getattr(item, section), item.pull_is_default)
    return lines


def _steps_lines(section: str, steps: list[Step], pull_is_default: bool) -> list[str]:
    if not steps:
        return [f"  {WHEN[section]}: none"]
    default = section == "pull" and pull_is_default
    note = " (default: no pull section in the file)" if default else ""
    lines = [f"  {WHEN[section]}{note}:"]
    for number, step in enumerate(steps, 1):
        label = f" [id: {step.id}]" if step.id else ""
        lines.append(f"    {number}. {step.name}{label} {_json(mask_secrets(step.inputs))}")
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> str:
    """YAML's dates and times (an unquoted anchor_date) as ISO 8601 text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
