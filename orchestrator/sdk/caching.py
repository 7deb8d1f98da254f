"""Cache policies: how a task run's cache key is made, so a later run with the same key is
served the stored result instead of running.

    @task(cache_policy=INPUTS)                       # same arguments -> same result
    @task(cache_policy=INPUTS + TASK_SOURCE)         # ... and the same code
    @task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))

A policy's key is scoped to its task (two tasks with equal arguments never share a result);
a key from `cache_key_fn` is used as it is, shared by whichever tasks return it. Keys are
hashes of a JSON form of the values (pickle when JSON cannot hold them); a value neither can
hash makes the run uncached, with a warning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import pickle
from typing import Any, Callable


class CachePolicy:
    """Makes a cache key from a task run; None means: do not cache this run."""

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        raise NotImplementedError

    def __add__(self, other: "CachePolicy") -> "CachePolicy":
        return CompoundCachePolicy(_parts(self) + _parts(other))

    def __sub__(self, name: str) -> "CachePolicy":
        """This policy ignoring the argument `name` (`INPUTS - "client"`)."""
        return CompoundCachePolicy(tuple(part - name if isinstance(part, Inputs) else part
                                         for part in _parts(self)))

    def __repr__(self) -> str:
        return type(self).__name__


class Inputs(CachePolicy):
    """The task's arguments, except those named in `exclude`."""

    def __init__(self, exclude: tuple[str, ...] = ()):
        self.exclude = tuple(exclude)

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return hash_objects({k: v for k, v in inputs.items() if k not in self.exclude})

    def __sub__(self, name: str) -> "Inputs":
        return Inputs(self.exclude + (name,))

    def __repr__(self) -> str:
        return f"Inputs(exclude={list(self.exclude)})" if self.exclude else "Inputs"


class TaskSource(CachePolicy):
    """The source code of the task's function: changing the code invalidates the cache."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return task_source_hash(task_ctx.task.fn)


class FlowParameters(CachePolicy):
    """The parameters of the flow run the task runs in."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return hash_objects(flow_parameters)


class RunId(CachePolicy):
    """The flow run: a result is reused within one flow run only."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return task_ctx.flow_context.run.id


class NoCache(CachePolicy):
    """Never cache."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return None


class CacheKeyFnPolicy(CachePolicy):
    """The key a function returns: `cache_key_fn(context, arguments)`."""

    def __init__(self, cache_key_fn: Callable[[Any, dict[str, Any]], str | None]):
        self.cache_key_fn = cache_key_fn

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        return self.cache_key_fn(task_ctx, inputs)


class CompoundCachePolicy(CachePolicy):
    """Several policies: the key changes when any part's key changes. Parts that give no key
    are left out; when none gives one, the run is not cached."""

    def __init__(self, policies: tuple[CachePolicy, ...]):
        self.policies = tuple(policies)

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        keys = [policy.compute_key(task_ctx, inputs, flow_parameters, **kwargs)
                for policy in self.policies]
        keys = [key for key in keys if key is not None]
        return hash_objects(*keys) if keys else None

    def __repr__(self) -> str:
        return " + ".join(repr(policy) for policy in self.policies)


def _parts(policy: CachePolicy) -> tuple[CachePolicy, ...]:
    return policy.policies if isinstance(policy, CompoundCachePolicy) else (policy,)


INPUTS = Inputs()
TASK_SOURCE = TaskSource()
FLOW_PARAMETERS = FlowParameters()
RUN_ID = RunId()
NO_CACHE = NoCache()
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """A `cache_key_fn`: the task, its code and its arguments."""
    task = context.task
    return hash_objects(task.task_key, task_source_hash(task.fn), arguments)


def task_source_hash(fn: Callable[..., Any]) -> str:
    cached = getattr(fn, "__flowpool_source_hash__", None)
    if cached is None:
        try:
            source = inspect.getsource(fn).encode()
        except (OSError, TypeError):  # no source file (a REPL, a built function)
            code = getattr(fn, "__code__", None)
            source = code.co_code if code is not None else repr(fn).encode()
        cached = hashlib.sha256(source).hexdigest()
        try:
            fn.__flowpool_source_hash__ = cached
        except AttributeError:
            pass
    return cached


def hash_objects(*objects: Any) -> str | None:
    """A stable hash of `objects`, or None when they can be neither JSON-encoded nor pickled."""
    try:
        data = json.dumps(objects, sort_keys=True, default=_json_default,
                          separators=(",", ":")).encode()
    except (TypeError, ValueError):
        try:
            data = pickle.dumps(objects)
        except Exception:  # noqa: BLE001 - unpicklable: no key
            return None
    return hashlib.sha256(data).hexdigest()


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):  # a pydantic model
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):  # dates and times
        return value.isoformat()
    if hasattr(value, "__fspath__"):
        return value.__fspath__()
    raise TypeError(f"{type(value).__name__} has no JSON form")
