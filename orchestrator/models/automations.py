"""Automations: a trigger that watches events, and the actions it takes when it fires.

The shapes are Prefect's: an event trigger with `match`, `match_related`, `after`, `expect`,
`for_each`, `posture` (Reactive: fire on `threshold` matching events within `within`
seconds; Proactive: fire when fewer than `threshold` came in a window of `within` seconds),
compound and sequence triggers made of event triggers, and actions such as `run-deployment`. Parameters of actions are templates of the event that
fired them: `{{ event.payload.result }}`, `{{ event.resource.name }}`.
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator, model_validator

from ..bounds import DAY_S
from ..errors import PATTERN_ADVICE
from ..templating import placeholders
from .base import DISPLAY_NAME_CORE, Flag, JsonObject, Model, Name, PositiveCount
from .events import RESOURCE_ID, flowpool_name

MAX_WITHIN_S = 30 * DAY_S
MAX_ACTIONS = 20
MAX_PATTERNS = 50
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=500)]
AutomationName = Annotated[str, StringConstraints(min_length=1, max_length=200,
                                                  pattern=r"^[^\x00-\x1f]+$")]
# FLOW/DEPLOYMENT, each part a flow or deployment name (inner spaces allowed).
DEPLOYMENT_REF_PATTERN = rf"^{DISPLAY_NAME_CORE}/{DISPLAY_NAME_CORE}$"
DeploymentRef = Annotated[str, StringConstraints(pattern=DEPLOYMENT_REF_PATTERN, max_length=201)]
PATTERN_ADVICE[DEPLOYMENT_REF_PATTERN] = ("name the deployment as FLOW/DEPLOYMENT, e.g. "
                                          "\"Call API/my deployment\"")


class Posture(str, Enum):
    REACTIVE = "Reactive"
    PROACTIVE = "Proactive"


def _as_list(value: Any) -> list:
    return [value] if isinstance(value, str) else value


def _normalized_matcher(value: dict[str, Any]) -> dict[str, list[str]]:
    """`{label: [patterns]}` with labels and resource ids written the flowpool way."""
    out = {}
    for key, patterns in value.items():
        key, patterns = flowpool_name(key), _as_list(patterns)
        out[key] = [flowpool_name(p) for p in patterns] if key == RESOURCE_ID else patterns
    return out


def _matcher_list(value: Any) -> list:
    return [value] if isinstance(value, dict) else value


def _event_names(value: Any) -> list[str]:
    return [flowpool_name(v) for v in _as_list(value)]


def _whole_seconds(value: Any) -> Any:
    # Prefect writes `within` as seconds; a bool or a string is a typo, not a duration.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("give `within` in seconds, e.g. 60")
    return float(value)


# A pattern or a list of them: Prefect's files write both.
Patterns = Annotated[list[Pattern], Field(max_length=MAX_PATTERNS)] | Pattern
Matcher = Annotated[dict[str, Patterns], Field(max_length=MAX_PATTERNS),
                    AfterValidator(_normalized_matcher)]
EventNames = Annotated[Patterns, AfterValidator(_event_names)]
Within = Annotated[float, BeforeValidator(_whole_seconds), Field(ge=0, le=MAX_WITHIN_S)]


def _require_value(value: Any) -> Any:
    if value in ("any", "all") or (isinstance(value, int) and not isinstance(value, bool)
                                   and value >= 1):
        return value
    raise ValueError("give any, all, or how many of the triggers must fire, e.g. require: 2")


TriggerType = Literal["event", "compound", "sequence", "metric"]
MAX_CHILD_TRIGGERS = 20
PartCount = Annotated[int, Field(ge=1, le=MAX_CHILD_TRIGGERS)]
Require = Annotated[Union[Literal["any", "all"], PartCount], BeforeValidator(_require_value)]
METRIC_UNSUPPORTED = ("metric triggers are not supported by flowpool; use an event trigger (e.g."
                      " expect: [flowpool.flow-run.Failed] with a threshold), or a compound or"
                      " sequence of them")
COMPOSITE_FIELDS = {"type", "triggers", "require", "within"}


class EventTrigger(Model):
    """An event trigger, or (by `type`) a compound or sequence of event triggers.

    One model for the three, so an error names the field as written (`trigger.within`):
    `compound` fires when `require` (all, any or a number) of its `triggers` fired within
    `within` seconds of each other; `sequence` when all of them fired in their order within
    `within` seconds. Their parts are Reactive event triggers."""

    type: TriggerType = "event"
    match: Matcher = Field(default_factory=dict)
    match_related: Annotated[Annotated[list[Matcher], Field(max_length=MAX_PATTERNS)] | Matcher,
                             AfterValidator(_matcher_list)] = Field(default_factory=list)
    after: EventNames = Field(default_factory=list)
    expect: EventNames = Field(default_factory=list)
    for_each: EventNames = Field(default_factory=list)  # labels, written either way
    posture: Posture = Posture.REACTIVE
    threshold: PositiveCount = 1
    within: Within = 0.0
    triggers: Annotated[list["EventTrigger"], Field(max_length=MAX_CHILD_TRIGGERS)] = \
        Field(default_factory=list)
    require: Require = "all"

    @field_validator("type")
    @classmethod
    def _supported_type(cls, value: str) -> str:
        if value == "metric":
            raise ValueError(METRIC_UNSUPPORTED)
        return value

    @model_validator(mode="after")
    def _fits_its_type(self) -> "EventTrigger":
        if self.is_composite:
            return self._composite_fits()
        if self.triggers or self.require != "all":
            raise ValueError("triggers: only a compound or sequence trigger has parts; give it"
                             " type: compound (or sequence)")
        if self.posture is Posture.PROACTIVE and self.within < 1:
            raise ValueError("within: a Proactive trigger waits `within` seconds for the expected"
                             " events; give it, e.g. within: 3600")
        if self.posture is Posture.REACTIVE and self.threshold > 1 and self.within <= 0:
            raise ValueError("within: a threshold above 1 counts events within a window; give"
                             " it in seconds, e.g. within: 60")
        return self

    def _composite_fits(self) -> "EventTrigger":
        kind = self.type
        # Compared with the defaults, not with what was sent: a stored trigger has them all.
        misplaced = [name for name, info in EventTrigger.model_fields.items()
                     if name not in COMPOSITE_FIELDS
                     and getattr(self, name) != info.get_default(call_default_factory=True)]
        if misplaced:
            raise ValueError(f"{misplaced[0]}: a {kind} trigger takes triggers, require and"
                             f" within; write {misplaced[0]} in each of its triggers")
        if not self.triggers:
            raise ValueError(f"triggers: a {kind} trigger needs its triggers, e.g. two event"
                             " triggers with expect:")
        for position, part in enumerate(self.triggers):
            if part.is_composite or part.posture is Posture.PROACTIVE:
                raise ValueError(f"triggers[{position}]: the parts of a {kind} trigger are"
                                 " Reactive event triggers in flowpool")
        if kind == "sequence" and self.require != "all":
            raise ValueError("require: a sequence trigger requires all of its triggers, in"
                             " order; leave require out, or use type: compound")
        if isinstance(self.require, int) and self.require > len(self.triggers):
            raise ValueError(f"require: {self.require} is more than its {len(self.triggers)}"
                             " triggers; give at most that, or any / all")
        return self

    @property
    def is_composite(self) -> bool:
        return self.type in ("compound", "sequence")

    @property
    def required(self) -> int:
        """How many of a compound or sequence trigger's parts must fire."""
        if self.type == "sequence" or self.require == "all":
            return len(self.triggers)
        return 1 if self.require == "any" else int(self.require)


def _only_event_placeholders(template: Any) -> Any:
    for name in placeholders(template):
        if name != "event" and not name.startswith("event."):
            raise ValueError(f"{{{{ {name} }}}}: actions can use only the event that fired"
                             " them, e.g. {{ event.payload.result }} or {{ event.resource.name }}")
    return template


Template = Annotated[JsonObject, BeforeValidator(_only_event_placeholders)]


class RunDeployment(Model):
    """Create a run of `deployment` (FLOW/NAME; left out: the deployment the event is about)."""

    type: Literal["run-deployment"]
    deployment: DeploymentRef | None = None
    parameters: Template = Field(default_factory=dict)
    job_variables: Template = Field(default_factory=dict)


class PauseDeployment(Model):
    type: Literal["pause-deployment"]
    deployment: DeploymentRef | None = None


class ResumeDeployment(Model):
    type: Literal["resume-deployment"]
    deployment: DeploymentRef | None = None


class CancelFlowRun(Model):
    """Cancel the flow run the event is about."""

    type: Literal["cancel-flow-run"]


class PauseWorkPool(Model):
    type: Literal["pause-work-pool"]
    work_pool: Name | None = None


class CallWebhook(Model):
    """POST `payload` (rendered from the event; by default the event itself) as JSON to `url`."""

    type: Literal["call-webhook"]
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
    payload: Annotated[Any, BeforeValidator(_only_event_placeholders)] = "{{ event }}"
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0


Action = Annotated[Union[RunDeployment, PauseDeployment, ResumeDeployment, CancelFlowRun,
                         PauseWorkPool, CallWebhook], Field(discriminator="type")]


class AutomationCreate(Model):
    name: AutomationName
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    enabled: Flag = True
    trigger: EventTrigger
    actions: Annotated[list[Action], Field(min_length=1, max_length=MAX_ACTIONS)]
    # Set on the automations made from a deployment's `triggers:`; a new deploy replaces them.
    deployment_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None

    @field_validator("actions", mode="before")
    @classmethod
    def _known_action_types(cls, actions: Any) -> Any:
        known = ", ".join(KNOWN_ACTIONS)
        for position, action in enumerate(actions if isinstance(actions, list) else []):
            kind = action.get("type") if isinstance(action, dict) else None
            if kind not in KNOWN_ACTIONS:
                raise ValueError(f"actions[{position}]: unknown action type {kind!r}; use one of:"
                                 f" {known}")
        return actions


KNOWN_ACTIONS = ("run-deployment", "pause-deployment", "resume-deployment", "cancel-flow-run",
                 "pause-work-pool", "call-webhook")


class Automation(AutomationCreate):
    id: str
    created: datetime
    updated: datetime

    def masked(self) -> "Automation":
        """Webhook URLs carry their secret in the path or query: shown up to the host only."""
        actions = [a.model_copy(update={"url": _shown_url(a.url)}) if isinstance(a, CallWebhook)
                   else a for a in self.actions]
        return self.model_copy(update={"actions": actions})


def _shown_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/********" if "/" in rest or "@" in rest.split("/", 1)[0] \
        else url


class AutomationUpdate(Model):
    enabled: Flag
