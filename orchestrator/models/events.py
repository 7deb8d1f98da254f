"""Events: what happened to which resource, as Prefect shapes them.

An event has a name (`flowpool.flow-run.Completed`), the resource it is about (labels, among
them `flowpool.resource.id`), related resources (each with a `flowpool.resource.role`: flow,
deployment, work-pool, tag) and a payload. Names written Prefect's way (`prefect.flow-run.*`,
`prefect.resource.id`) are read as flowpool's, so triggers copied from Prefect match.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from .base import JsonObject, Model, Timestamp

RESOURCE_ID = "flowpool.resource.id"
RESOURCE_NAME = "flowpool.resource.name"
RESOURCE_ROLE = "flowpool.resource.role"
MAX_LABELS = 50
MAX_RELATED = 50
MAX_PAYLOAD_BYTES = 64 * 1024
EVENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
EventName = Annotated[str, StringConstraints(pattern=EVENT_NAME_PATTERN, max_length=200)]
LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")


def flowpool_name(text: str) -> str:
    """A Prefect name as flowpool's: `prefect.flow-run.Completed` -> `flowpool.flow-run.Completed`."""
    return "flowpool." + text[len("prefect."):] if text.startswith("prefect.") else text


def normalized_labels(labels: dict[str, Any]) -> dict[str, Any]:
    """Label keys, and the resource id, written the flowpool way."""
    out = {flowpool_name(key): value for key, value in labels.items()}
    if isinstance(out.get(RESOURCE_ID), str):
        out[RESOURCE_ID] = flowpool_name(out[RESOURCE_ID])
    return out


def _checked_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{len(labels)} labels; a resource has at most {MAX_LABELS}")
    for key, value in labels.items():
        if not LABEL_KEY.match(key) or len(key) > 200:
            raise ValueError(f"label {key!r}: use letters, digits, '.', '_', ':' and '-'"
                             " (at most 200 characters)")
        if len(value) > 1000:
            raise ValueError(f"label {key!r}: its value is longer than 1000 characters")
    return normalized_labels(labels)


def _has_id(labels: dict[str, str]) -> dict[str, str]:
    if not labels.get(RESOURCE_ID):
        raise ValueError(f"a resource needs an id: give the label {RESOURCE_ID}"
                         " (e.g. my.table.orders)")
    return labels


def _has_role(labels: dict[str, str]) -> dict[str, str]:
    if not labels.get(RESOURCE_ROLE):
        raise ValueError(f"a related resource needs a role: give the label {RESOURCE_ROLE}")
    return labels


def _small_payload(payload: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(payload, default=str).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{size} bytes of JSON, more than {MAX_PAYLOAD_BYTES // 1024} KiB;"
                         " put large data in storage and send its location")
    return payload


Labels = Annotated[dict[str, str], AfterValidator(_checked_labels)]
Resource = Annotated[Labels, AfterValidator(_has_id)]
RelatedResource = Annotated[Labels, AfterValidator(_has_id), AfterValidator(_has_role)]


class EventCreate(Model):
    """An event a client emits (flow code through `emit_event`)."""

    event: Annotated[EventName, AfterValidator(flowpool_name)]
    resource: Resource
    related: list[RelatedResource] = Field(default_factory=list, max_length=MAX_RELATED)
    payload: Annotated[JsonObject, AfterValidator(_small_payload)] = Field(default_factory=dict)
    occurred: Timestamp | None = None


class Event(Model):
    """A stored event; `seq` orders events as they were stored."""

    seq: int
    id: str
    event: str
    occurred: datetime
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]

    def related_of_role(self, role: str) -> list[dict[str, str]]:
        return [r for r in self.related if r.get(RESOURCE_ROLE) == role]

    def resource_id_of(self, role: str) -> str | None:
        """The id of the first related resource of `role`, without its `flowpool.ROLE.` prefix."""
        for related in self.related_of_role(role):
            return related[RESOURCE_ID].removeprefix(f"flowpool.{role}.")
        return None


def resource(resource_id: str, name: str | None = None, role: str | None = None,
             **labels: str) -> dict[str, str]:
    """The labels of a resource as flowpool writes them."""
    out = {RESOURCE_ID: resource_id}
    if name is not None:
        out[RESOURCE_NAME] = name
    if role is not None:
        out[RESOURCE_ROLE] = role
    return {**out, **labels}
