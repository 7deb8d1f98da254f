"""Reading the schedules users write (`schedule:` / `schedules:` in flowpool.yaml or
prefect.yaml, and the CLI flags), with errors that name the field and the fix; and refusing
schedules whose runs could not start for want of parameters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from pydantic import ValidationError

from ..errors import FieldError, InvalidInput
from .models import (CronSchedule, DeploymentSchedule, IntervalSchedule, Model, RRuleSchedule,
                     run_parameters)
from .values import require_aware


SCHEDULE_KINDS = ("cron", "interval", "rrule")
_MODEL_OF_KIND = {"cron": CronSchedule, "interval": IntervalSchedule, "rrule": RRuleSchedule}
_KEYS_OF_KIND = {"cron": ("cron", "day_or"), "interval": ("interval", "anchor_date"),
                 "rrule": ("rrule",)}
_SCHEDULE_KEYS = ("timezone",)
_ENTRY_KEYS = ("active", "parameters", "slug")
_FLAGS = {"cron": "--cron", "interval": "--interval", "anchor_date": "--anchor-date",
          "rrule": "--rrule", "timezone": "--timezone", "day_or": "--day-or",
          "active": "--active", "parameters": "--param", "slug": "--slug"}


@dataclass(frozen=True)
class _Source:
    """Where schedule input came from, to name its fields the way the user wrote them."""

    where: str
    flags: bool = False

    def field(self, key: str) -> str:
        if self.flags:
            return _FLAGS.get(key, self.where)
        return f"{self.where}.{key}" if key else self.where

    def spell(self, key: str) -> str:
        return _FLAGS.get(key, key) if self.flags else key

    def spell_all(self, keys: Iterable[str]) -> str:
        names = [self.spell(key) for key in keys]
        return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def schedules_from_config(config: Mapping[str, Any], now: datetime,
                          field: str = "") -> list[DeploymentSchedule]:
    """The schedules of one deployment entry of flowpool.yaml / prefect.yaml.

    Reads `schedule:` (one mapping) or `schedules:` (a list); null, {} and [] mean none.
    An interval without `anchor_date` is anchored at `now` (Prefect anchors at creation
    too), so give one `now` for a whole deploy. `field` prefixes the names in errors,
    e.g. "deployments[0]". Raises InvalidInput naming every bad field.
    """
    require_aware(now, "now")
    items, sources = _schedule_items(config, field)
    parsed, errors = [], []
    for item, source in zip(items, sources):
        try:
            parsed.append((_entry_from_mapping(item, now, source), source))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    errors += _duplicate_slugs(parsed)
    if errors:
        raise InvalidInput("invalid schedule", errors)
    return [entry for entry, _source in parsed]


def _schedule_items(config: Mapping[str, Any], field: str) -> tuple[list[Any], list[_Source]]:
    prefix = f"{field}." if field else ""
    one, many = config.get("schedule"), config.get("schedules")
    if one and many:
        raise _invalid(f"{prefix}schedule", "give either schedule (one) or schedules (a list),"
                                            " not both")
    if one:
        if not isinstance(one, Mapping):
            raise _invalid(f"{prefix}schedule", "schedule is one mapping such as {cron: "
                                                "'0 9 * * *'}; for a list use schedules")
        return [one], [_Source(f"{prefix}schedule")]
    many = many or []
    if not isinstance(many, list):
        raise _invalid(f"{prefix}schedules", "schedules is a list; write each schedule as an"
                                             " item: '- cron: \"0 9 * * *\"'")
    return many, [_Source(f"{prefix}schedules[{i}]") for i in range(len(many))]


def schedule_from_flags(*, now: datetime, cron: str | None = None, interval: str | None = None,
                        anchor_date: str | None = None, rrule: str | None = None,
                        timezone: str | None = None, day_or: bool | None = None,
                        active: bool = True, parameters: Mapping[str, Any] | None = None,
                        ) -> DeploymentSchedule | None:
    """The schedule given by the CLI flags --cron/--interval/--anchor-date/--rrule/--timezone
    (None when no schedule flag is given); errors name the flags."""
    require_aware(now, "now")
    given = {key: value for key, value in {
        "cron": cron, "interval": interval, "anchor_date": anchor_date, "rrule": rrule,
        "timezone": timezone, "day_or": day_or}.items() if value is not None}
    if not given:
        return None
    item = {**given, "active": active, "parameters": dict(parameters or {})}
    return _entry_from_mapping(item, now, _Source("schedule flags", flags=True))


def _entry_from_mapping(item: Any, now: datetime, source: _Source) -> DeploymentSchedule:
    if not isinstance(item, Mapping):
        raise _invalid(source.where, "a schedule is a mapping such as {cron: '0 9 * * *', "
                                     "timezone: Europe/Paris}")
    values = _without_catchup({key: value for key, value in item.items() if value is not None},
                              source)
    kind = _kind_of(values, source)
    _refuse_foreign_keys(values, kind, source)
    schedule = _build(_MODEL_OF_KIND[kind], _schedule_fields(kind, values, now), source,
                      whole_key=kind)
    entry_fields = {key: values[key] for key in _ENTRY_KEYS if key in values}
    return _build(DeploymentSchedule, {"schedule": schedule, **entry_fields}, source)


def _without_catchup(values: dict[str, Any], source: _Source) -> dict[str, Any]:
    """`catchup: false` (with `max_active_runs:` left empty, dropped as null above) is what
    `prefect deploy` of Prefect 3.0's release candidates wrote into each schedule. It is what
    flowpool does: times missed while no scheduler ran are not run afterwards."""
    if "catchup" not in values:
        return values
    if values["catchup"] is not False:
        raise _invalid(source.field("catchup"), "flowpool does not run the times missed while "
                                                "no scheduler ran; remove catchup or set false")
    return {key: value for key, value in values.items() if key != "catchup"}


def _kind_of(values: Mapping[str, Any], source: _Source) -> str:
    kinds = [kind for kind in SCHEDULE_KINDS if kind in values]
    if not kinds:
        # Name what was given: `--timezone` alone is the flag that needs a kind beside it.
        field = source.field(next(iter(values))) if source.flags else source.where
        raise _invalid(field, f"give one of {source.spell_all(SCHEDULE_KINDS)}")
    if len(kinds) > 1:
        raise _invalid(source.field(kinds[1]), f"give only one of {source.spell_all(kinds)}:"
                                               " one schedule has one kind")
    return kinds[0]


def _refuse_foreign_keys(values: Mapping[str, Any], kind: str, source: _Source) -> None:
    allowed = {*_KEYS_OF_KIND[kind], *_SCHEDULE_KEYS, *_ENTRY_KEYS}
    errors = [_foreign_key_error(str(key), kind, allowed, source)
              for key in values if key not in allowed]
    if errors:
        raise InvalidInput("invalid schedule", errors)


def _foreign_key_error(key: str, kind: str, allowed: set[str], source: _Source) -> FieldError:
    owner = next((other for other, keys in _KEYS_OF_KIND.items() if key in keys), None)
    if owner:
        return FieldError(source.field(key), f"{source.spell(key)} only applies to"
                                             f" {source.spell(owner)} schedules; remove it")
    return FieldError(source.field(key), f"unknown key; a {kind} schedule takes: "
                                         f"{', '.join(sorted(allowed))}")


def _schedule_fields(kind: str, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    fields = {key: values[key] for key in (*_KEYS_OF_KIND[kind], *_SCHEDULE_KEYS)
              if key in values}
    if kind == "interval":
        fields["interval_s"] = fields.pop("interval")
        fields.setdefault("anchor_date", now.replace(microsecond=0))
    return fields


def _build(model: type[Model], data: dict[str, Any], source: _Source, whole_key: str = ""):
    """Validate `data` as `model`; errors of the whole model are filed under `whole_key`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("invalid schedule", [
            FieldError(source.field(_user_key(error["loc"], whole_key)), _message(error))
            for error in exc.errors()]) from None


def _user_key(loc: tuple, whole_key: str) -> str:
    key = str(loc[0]) if loc else whole_key
    return "interval" if key == "interval_s" else key


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return error["msg"]


def _duplicate_slugs(parsed: Sequence[tuple[DeploymentSchedule, _Source]]) -> list[FieldError]:
    seen: set[str] = set()
    errors = []
    for entry, source in parsed:
        if entry.slug and entry.slug in seen:
            errors.append(FieldError(source.field("slug"), f"slug {entry.slug!r} is used by"
                                                           " another schedule; slugs are unique"))
        seen.add(entry.slug or "")
    return errors


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid schedule", [FieldError(field, message)])


def missing_required_parameters(parameter_schema: Mapping[str, Any],
                                parameters: Mapping[str, Any]) -> list[str]:
    """The required parameters of the flow's schema that `parameters` gives no value."""
    return [name for name in parameter_schema.get("required", []) if name not in parameters]


def check_schedule_parameters(entries: Sequence[DeploymentSchedule],
                              parameter_schema: Mapping[str, Any],
                              deployment_parameters: Mapping[str, Any],
                              field: str = "schedules", enforce_schema: bool = True) -> None:
    """Refuse schedules whose runs could not start: a required parameter without a value
    (from the schedule, the deployment or a default in the flow), or, when the deployment
    enforces its schema, a value that does not fit. Errors name each parameter."""
    errors = []
    for index, entry in enumerate(entries):
        where = f"{field}[{index}].parameters"
        parameters = run_parameters(deployment_parameters, entry)
        errors += [FieldError(f"{where}.{name}", f"required parameter {name!r} has no value; set"
                              " it in this schedule's parameters or the deployment's parameters,"
                              " or give it a default in the flow")
                   for name in missing_required_parameters(parameter_schema, parameters)]
        if enforce_schema:
            errors += _schema_errors(parameters, parameter_schema, where)
    if errors:
        raise InvalidInput("a schedule would create runs that cannot start", errors)


def _schema_errors(parameters: Mapping[str, Any], parameter_schema: Mapping[str, Any],
                   where: str) -> list[FieldError]:
    from ..parameters import validate_against_schema

    if not parameter_schema:
        return []
    # Missing values are reported above, in words that say where to give them.
    try:
        validate_against_schema(dict(parameters), {**parameter_schema, "required": []})
    except InvalidInput as exc:
        return [FieldError(f"{where}.{e.field}", e.message) for e in exc.errors]
    return []
