"""The Reporter of a deployed run (see sdk/reporting.py): what its flow code tells or asks the
outside world, over the API, with the run's credential.

- Reports (child flow runs, task runs, log lines, artifacts): `send` only queues. A background
  thread ships what is queued, merged (the latest snapshot of each run wins), cut into
  requests of at most 1,000 reports of a kind and MAX_REQUEST_BYTES, so a flow of 1,000 tasks
  costs a handful of requests. While the API is away it keeps trying; a request the API
  refuses (422, 413) is split in halves until the report at fault is found and dropped, so
  one bad report never costs the others. `close()` ships what is left.
- Variables and the task cache: one request each (cached values are JSON; a value that does
  not come back from JSON as it is, such as a tuple, is not cached).
- Global concurrency slots: acquire asks the API, waiting with backoff while the limits are
  full; held leases are renewed from a background thread every third of their TTL, so a
  process that dies frees its slots within the lease TTL (FLOWPOOL_CRASH_AFTER_S).

Nothing here fails the flow for the API being away: reports wait, a cache read misses.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from pydantic import ValidationError

from ..bounds import MAX_JSON_BYTES, MAX_LIST_ITEMS
from ..client import FlowpoolClient
from ..errors import (AlreadyExists, ApiUnavailable, BrokerUnavailable, ConcurrencySlotError,
                      ConcurrencySlotTimeout, FlowpoolError, InvalidInput, NotFound, TooLarge,
                      VariableExists)
from ..masking import redact
from ..models.concurrency_limits import SlotGrant, SlotLeaseRef, SlotRequest
from ..models import LogCreate
from ..models.logs import MAX_LEVEL, MAX_REQUEST_BYTES, fit_line
from ..models.reports import (MAX_ERROR_CHARS, MAX_FLOW_NAME_CHARS, MAX_KEY_CHARS,
                              MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_REPORTS,
                              MAX_STATE_NAME_CHARS, MAX_SUMMARY_CHARS)
from ..models.task_cache import TaskCacheWrite
from ..sdk.report_buffer import PendingReports
from ..sdk.reporting import (ArtifactReport, CacheEntry, FlowRunReport, LogLine, ReportBatch,
                             SlotLease, TaskRunReport)

FLUSH_INTERVAL_S = 1.0
CLOSE_TIMEOUT_S = 30.0
RETRY_DELAYS_S = (0.2, 5.0)  # first and longest wait between tries while the API is away
SLOT_POLL_S = (0.05, 1.0)  # first and longest wait between tries while a limit is full
KINDS = ("flow_runs", "task_runs", "logs", "artifacts")
# Log lines kept while the API is away; later ones are dropped (snapshots need no bound:
# there is one per run, the latest).
MAX_QUEUED_LINES = 100_000
_TRANSIENT = (ApiUnavailable, BrokerUnavailable)


class HttpReporter:
    flush_interval_s = FLUSH_INTERVAL_S

    def __init__(self, client: FlowpoolClient, flow_run_id: str,
                 secrets: set[str] | None = None, close_timeout_s: float = CLOSE_TIMEOUT_S,
                 max_request_bytes: int = MAX_REQUEST_BYTES,
                 own_logs: Callable[[list[LogCreate]], None] | None = None):
        self.client, self.flow_run_id = client, flow_run_id
        # where the root run's own logger lines still queued at close() go, if not shipped
        # here: the engine's log shipper, which sends a short run's lines with its final state
        self.own_logs = own_logs
        self.secrets = secrets if secrets is not None else set()  # masked in what is sent
        self.close_timeout_s, self.max_request_bytes = close_timeout_s, max_request_bytes
        self.report_requests = 0  # requests made to ship reports (for tests and benchmarks)
        self._outbox = _Outbox()
        self._spent_logs: set[str] = set()  # runs whose log budget is spent: lines not sent
        self._give_up_at: float | None = None  # set by close(): stop retrying then
        self._leases = _LeaseKeeper(client, flow_run_id)
        self._shipper = threading.Thread(target=self._ship_forever, daemon=True,
                                         name="flowpool-http-reporter")
        self._shipper.start()

    # Reports

    def send(self, batch: ReportBatch) -> None:
        self._outbox.put(batch)

    def close(self) -> None:
        """Give back the slots still held, ship what is queued (trying for at most
        `close_timeout_s` while the API is away), stop the threads."""
        self._leases.close()
        if self.own_logs is not None:
            self._hand_over_own_logs()
        self._give_up_at = time.monotonic() + self.close_timeout_s
        self._outbox.close()
        self._shipper.join(self.close_timeout_s + 5)
        if self._shipper.is_alive():
            _warn("reports still queued when the run ended were not shipped")

    def _hand_over_own_logs(self) -> None:
        lines = self._outbox.take_logs_of(self.flow_run_id)
        if lines and self.flow_run_id not in self._spent_logs:
            self.own_logs([own_log_entry(line, self.secrets) for line in lines])

    def _ship_forever(self) -> None:
        while True:
            batch = self._outbox.take()
            if batch is None:
                return
            try:
                self._ship(batch)
            except Exception as exc:  # noqa: BLE001 - whatever it is, the flow goes on
                _warn(f"reports were not shipped: {exc!r}")

    def _ship(self, batch: ReportBatch) -> None:
        for request in split_requests(self._pieces(batch), self.max_request_bytes):
            self._post(request)

    def _pieces(self, batch: ReportBatch) -> list["Piece"]:
        logs = [line for line in batch.logs if line.flow_run_id not in self._spent_logs]
        runs = [run for run in batch.flow_runs if run.id != self.flow_run_id]  # the engine's
        return encode(ReportBatch(runs, batch.task_runs, logs, batch.artifacts), self.secrets)

    def _post(self, pieces: list["Piece"]) -> None:
        """Send one request, trying again while the API is away; halve it when refused."""
        delay = RETRY_DELAYS_S[0]
        while True:
            try:
                self.report_requests += 1
                result = self.client.send_reports(self.flow_run_id, request_body(pieces))
                self._spent_logs.update(result.logs_spent)
                return
            except (InvalidInput, TooLarge) as exc:
                return self._halve(pieces, exc)
            except _TRANSIENT as exc:
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    return _warn(f"{len(pieces)} report(s) not shipped: {exc}")
            except FlowpoolError as exc:  # refused for good (the run is gone): never retry
                return _warn(f"the API refused {len(pieces)} report(s): {exc}")
            time.sleep(delay * (1 + random.random() / 2))
            delay = min(delay * 2, RETRY_DELAYS_S[1])

    def _halve(self, pieces: list["Piece"], exc: FlowpoolError) -> None:
        if len(pieces) == 1:
            return _warn(f"a {pieces[0].kind[:-1].replace('_', ' ')} report was refused and "
                         f"dropped: {exc}")
        middle = len(pieces) // 2
        self._post(pieces[:middle])
        self._post(pieces[middle:])

    # Variables

    def read_variable(self, name: str, default: Any = None) -> Any:
        try:
            return self.client.read_variable(name).value
        except NotFound:
            return default

    def read_block(self, type_: str, name: str) -> dict[str, Any]:
        from ..blocks import secret_texts

        block = self.client.read_block(type_, name, include_secrets=True)
        self.secrets.update(secret_texts(block.data, block.secret_fields))  # masked in logs
        return block.data

    def write_block(self, type_: str, name: str, data: dict[str, Any],
                    overwrite: bool = False) -> None:
        if overwrite:
            self.client.set_block(type_, name, data)
        else:
            self.client.create_block(type_, name, data)
    def emit_event(self, request: Any) -> Any:
        try:
            return self.client.emit_event(request)
        except (ApiUnavailable, BrokerUnavailable) as exc:
            _warn(f"event {request.event} not emitted: {exc}")
            return None

    def write_variable(self, name: str, value: Any, overwrite: bool = False) -> None:
        _check_json(value, f"variable {name!r}")
        try:
            if overwrite:
                self.client.set_variable(name, value)
            else:
                self.client.create_variable(name, value)
        except AlreadyExists:
            raise VariableExists(f"variable {name!r} exists; pass overwrite=True to replace "
                                 "it") from None
        except ValidationError as exc:
            raise InvalidInput(f"variable {name!r} cannot be set: {exc.errors()[0]['msg']}") \
                from None

    def delete_variable(self, name: str) -> bool:
        try:
            self.client.delete_variable(name)
            return True
        except NotFound:
            return False

    # Task cache

    def read_cache(self, key: str) -> CacheEntry | None:
        try:
            entry = self.client.read_task_cache(cache_path_key(key))
        except FlowpoolError as exc:  # a miss: the task runs
            _warn(f"the task cache could not be read: {exc}")
            return None
        if entry is None:
            return None
        expires_at = entry.expires_at.timestamp() if entry.expires_at else None
        return CacheEntry(entry.value, expires_at)

    def write_cache(self, key: str, value: Any, expires_at: float | None) -> bool:
        if not round_trips(value):
            return False
        try:
            moment = datetime.fromtimestamp(expires_at, timezone.utc) if expires_at else None
            self.client.write_task_cache(cache_path_key(key),
                                         TaskCacheWrite(value=value, expires_at=moment))
            return True
        except (FlowpoolError, ValidationError, ValueError, OverflowError):
            return False

    # Global concurrency slots

    def acquire_slots(self, names: Sequence[str], occupy: int, timeout_s: float | None,
                      rate_limit: bool, strict: bool) -> SlotLease:
        request = _slot_request(names, occupy, rate_limit, strict)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = SLOT_POLL_S[0]
        while True:
            grant = self._try_acquire(request)
            if grant is not None and grant.acquired:
                return self._granted(grant, occupy, rate_limit)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise ConcurrencySlotTimeout(f"no {occupy} free slot(s) on {', '.join(names)} "
                                             f"within {timeout_s} s")
            wait_s = (grant.retry_after_s if grant and grant.retry_after_s else delay)
            wait_s *= 1 + random.random() / 4  # holders waiting together do not ask together
            time.sleep(wait_s if deadline is None else min(wait_s, deadline - now))
            delay = min(delay * 1.5, SLOT_POLL_S[1])

    def _try_acquire(self, request: SlotRequest) -> SlotGrant | None:
        """The API's answer; None while it (or its broker) is away."""
        try:
            return self.client.acquire_slots(self.flow_run_id, request)
        except _TRANSIENT:
            return None
        except FlowpoolError as exc:
            raise ConcurrencySlotError(str(exc)) from None

    def _granted(self, grant: SlotGrant, occupy: int, rate_limit: bool) -> SlotLease:
        """The lease as the SDK sees it: on every limit that exists (an inactive one too, so
        it is not reported missing); held, and renewed, on those that are enforced."""
        if grant.names and not rate_limit:  # a rate limit's slots decay: nothing to hold
            self._leases.hold(SlotLease(grant.lease_id, tuple(grant.names), occupy),
                              grant.lease_ttl_s)
        return SlotLease(grant.lease_id, tuple(grant.names + grant.inactive), occupy)

    def release_slots(self, lease: SlotLease) -> None:
        self._leases.release(lease)


class Piece(NamedTuple):
    """One report, encoded: its kind (a key of the request body) and its JSON."""

    kind: str
    json: bytes


def request_body(pieces: list[Piece]) -> bytes:
    parts = {kind: [p.json for p in pieces if p.kind == kind] for kind in KINDS}
    return b"{" + b",".join(b'"%s":[%s]' % (kind.encode(), b",".join(items))
                            for kind, items in parts.items()) + b"}"


def split_requests(pieces: list[Piece], max_bytes: int) -> list[list[Piece]]:
    """The pieces, in order, as requests of at most MAX_REPORTS of a kind and `max_bytes`.
    A piece that could never fit is dropped."""
    requests, current, size, counts = [], [], 0, dict.fromkeys(KINDS, 0)
    room = max_bytes - 100  # the body's keys and brackets
    for piece in pieces:
        cost = len(piece.json) + 1
        if cost > room:
            _warn(f"a {piece.kind[:-1].replace('_', ' ')} report of {cost} bytes is larger than "
                  "a request may be; dropped")
            continue
        if current and (size + cost > room or counts[piece.kind] >= MAX_REPORTS):
            requests.append(current)
            current, size, counts = [], 0, dict.fromkeys(KINDS, 0)
        current.append(piece)
        size += cost
        counts[piece.kind] += 1
    return requests + [current] if current else requests


# Encoding: each report as the API takes it, cut to the API's bounds.

def encode(batch: ReportBatch, secrets: set[str]) -> list[Piece]:
    """Flow runs first, in the order they appeared (a parent before its children)."""
    pieces = [Piece("flow_runs", _dumps(flow_run_json(r, secrets))) for r in batch.flow_runs]
    pieces += [Piece("task_runs", _dumps(task_run_json(r, secrets))) for r in batch.task_runs]
    pieces += [Piece("logs", _dumps(log_json(line, secrets))) for line in batch.logs]
    pieces += [Piece("artifacts", _dumps(artifact_json(a))) for a in batch.artifacts]
    return pieces


def flow_run_json(run: FlowRunReport, secrets: set[str]) -> dict[str, Any]:
    return dict(
        id=run.id, name=_cut(run.name, MAX_NAME_CHARS),
        flow_name=_cut(run.flow_name, MAX_FLOW_NAME_CHARS),
        parent_flow_run_id=run.parent_flow_run_id, parent_task_run_id=run.parent_task_run_id,
        parameters=_bounded_parameters(run.parameters), tags=_tags(run.tags),
        **_state_json(run, secrets), result=_cut(run.result, MAX_SUMMARY_CHARS))


def task_run_json(run: TaskRunReport, secrets: set[str]) -> dict[str, Any]:
    return dict(
        id=run.id, flow_run_id=run.flow_run_id, name=_cut(run.name, MAX_NAME_CHARS),
        task_key=_cut(run.task_key, MAX_KEY_CHARS), tags=_tags(run.tags),
        **_state_json(run, secrets), cache_key=_cut(run.cache_key, MAX_KEY_CHARS),
        cache_hit=bool(run.cache_hit), result=_cut(run.result, MAX_SUMMARY_CHARS),
        error=_cut_head(run.error and redact(run.error, secrets), MAX_ERROR_CHARS))


def _state_json(run: FlowRunReport | TaskRunReport, secrets: set[str]) -> dict[str, Any]:
    history = run.history[-MAX_LIST_ITEMS:]
    return dict(state_type=run.state_type, state_name=_cut(run.state_name, MAX_STATE_NAME_CHARS),
                message=_cut(run.message and redact(run.message, secrets), MAX_MESSAGE_CHARS),
                attempt=run.attempt, started_at=_iso(run.started_at), ended_at=_iso(run.ended_at),
                history=[{"type": kind, "name": _cut(name, MAX_STATE_NAME_CHARS),
                          "timestamp": _iso(moment)} for kind, name, moment in history])


def log_json(line: LogLine, secrets: set[str]) -> dict[str, Any]:
    return dict(flow_run_id=line.flow_run_id, task_run_id=line.task_run_id,
                timestamp=_iso(line.timestamp), level=min(max(int(line.level), 0), 100),
                message=fit_line(redact(str(line.message), secrets)))


def own_log_entry(line: LogLine, secrets: set[str]) -> LogCreate:
    """A line of the root run's own logger as the engine's log shipper sends it."""
    return LogCreate(timestamp=datetime.fromtimestamp(line.timestamp, timezone.utc),
                     level=min(max(int(line.level), 0), MAX_LEVEL),
                     message=fit_line(redact(str(line.message), secrets)), source="flow")


def artifact_json(artifact: ArtifactReport) -> dict[str, Any]:
    return dict(id=artifact.id, key=artifact.key, type=artifact.type, data=artifact.data,
                description=_cut(artifact.description, MAX_MESSAGE_CHARS),
                flow_run_id=artifact.flow_run_id, task_run_id=artifact.task_run_id,
                created_at=_iso(artifact.created_at))


def _bounded_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    size = len(_dumps(parameters))
    if size <= MAX_JSON_BYTES:
        return parameters
    return {"(not recorded)": f"{size} bytes of parameters; at most {MAX_JSON_BYTES} are kept"}


def _tags(tags: Iterable[str]) -> list[str]:
    return [_cut(str(tag), MAX_NAME_CHARS) for tag in list(tags)[:MAX_LIST_ITEMS]]


def _cut(text: str | None, chars: int) -> str | None:
    return text if text is None or len(text) <= chars else text[:chars - 3] + "..."


def _cut_head(text: str | None, chars: int) -> str | None:
    """A traceback keeps its end, where the error is."""
    return text if text is None or len(text) <= chars else "..." + text[-(chars - 3):]


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, timezone.utc).isoformat()


def _dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8; text the API could not store (NUL, lone surrogates) and numbers
    JSON cannot hold (NaN, infinities) are replaced first."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if "\\u0000" not in text:
            return text.encode()
    except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        pass
    return json.dumps(_storable(value), ensure_ascii=False, separators=(",", ":"),
                      default=repr).encode()


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {_storable(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(item) for item in value]
    return value


# Variables and the cache

def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what}: its value must be JSON ({exc})") from None


def round_trips(value: Any) -> bool:
    """Whether JSON gives `value` back as it is (a tuple would come back a list)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False)) == value and _plain(value)
    except (TypeError, ValueError, RecursionError):
        return False


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return type(value) in (str, int, float, bool, type(None))


def cache_path_key(key: str) -> str:
    """Cache keys may hold any text; the API is given a hash of it (a URL path segment)."""
    return hashlib.sha256(key.encode()).hexdigest()


# Slots

def _slot_request(names: Sequence[str], occupy: int, rate_limit: bool,
                  strict: bool) -> SlotRequest:
    try:
        return SlotRequest(names=list(names), occupy=occupy, strict=strict,
                           mode="rate_limit" if rate_limit else "concurrency")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConcurrencySlotError(f"these slots cannot be asked for: {problems}") from None


class _LeaseKeeper:
    """The leases this run holds, renewed together every third of their TTL from a thread of
    their own (user code cannot starve it), and given back on release or close."""

    def __init__(self, client: FlowpoolClient, run_id: str):
        self.client, self.run_id = client, run_id
        self._held: dict[str, SlotLeaseRef] = {}
        self._ttl_s: float | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, lease: SlotLease, ttl_s: float) -> None:
        with self._lock:
            self._held[lease.id] = SlotLeaseRef(lease_id=lease.id, names=list(lease.names),
                                                occupy=lease.occupy)
            self._ttl_s = min(self._ttl_s or ttl_s, ttl_s)
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew_forever, daemon=True,
                                                name="flowpool-slot-leases")
                self._thread.start()

    def release(self, lease: SlotLease) -> None:
        with self._lock:
            held = self._held.pop(lease.id, None)
        if held is None:
            return  # released already, a rate limit's, or on no limit at all
        try:
            self.client.release_slots(self.run_id, held)
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself
            _warn(f"slots of {', '.join(held.names)} not given back now ({exc}); they free "
                  "themselves when their lease expires")

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            leases = list(self._held.values())
        for lease in leases:
            self.release(SlotLease(lease.lease_id, tuple(lease.names), lease.occupy))

    def _renew_forever(self) -> None:
        while not self._closed.wait(self._ttl_s / 3):
            with self._lock:
                leases = list(self._held.values())
            for start in range(0, len(leases), 1000):
                self._renew(leases[start:start + 1000])

    def _renew(self, leases: list[SlotLeaseRef]) -> None:
        try:
            result = self.client.renew_slots(self.run_id, leases)
        except Exception as exc:  # noqa: BLE001 - tried again at the next interval
            return _warn(f"slot leases not renewed yet: {exc}")
        for lease_id in result.lost:
            with self._lock:
                lost = self._held.pop(lease_id, None)
            if lost is not None:
                _warn(f"the lease on {', '.join(lost.names)} expired before it was renewed: "
                      "its slots may be held by others now")


class _Outbox:
    """Batches handed over by the SDK, merged (`PendingReports`) until the shipper takes them."""

    def __init__(self):
        self._changed = threading.Condition()
        self._closed = False
        self.dropped_lines = 0
        self._pending = PendingReports()

    def put(self, batch: ReportBatch) -> None:
        with self._changed:
            self._count_dropped(self._pending.merge(batch, MAX_QUEUED_LINES))
            self._changed.notify()

    def _count_dropped(self, lines: int) -> None:
        if lines > 0:
            if not self.dropped_lines:
                _warn(f"the API has been away for {MAX_QUEUED_LINES} log lines: later lines "
                      "are dropped until it is back")
            self.dropped_lines += lines

    def take(self) -> ReportBatch | None:
        """Everything queued (waiting for something); None once closed and empty."""
        with self._changed:
            while not self._pending and not self._closed:
                self._changed.wait()
            if not self._pending:
                return None
            batch, self._pending = self._pending.batch(), PendingReports()
            self.dropped_lines = 0
            return batch

    def take_logs_of(self, run_id: str) -> list[LogLine]:
        """The queued lines of run `run_id`'s own logger (not its tasks'), taken out."""
        with self._changed:
            logs = self._pending.logs
            self._pending.logs = [line for line in logs
                                  if line.flow_run_id != run_id or line.task_run_id]
            return [line for line in logs if line.flow_run_id == run_id and not line.task_run_id]

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()


def _warn(message: str) -> None:
    print(f"flowpool: {message}", file=sys.__stderr__)
