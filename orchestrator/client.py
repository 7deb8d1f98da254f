"""The HTTP client of the flowpool API, used by the CLI, the workers and the engine.

Connection failures and 502/503/504 answers are retried with backoff for `retry_for_s`
seconds (workers and engines keep trying through an API restart; the CLI fails fast).
Error answers become the same FlowpoolError classes the server raised.
"""
from __future__ import annotations

import functools
import random
import ssl
import sys
import time
from typing import Any, Iterator, TypeVar

from typing import TYPE_CHECKING
from urllib.parse import quote

# httpx's own command line (click, rich, pygments) is never used here, yet imported with
# httpx unless it cannot be: about a third of the client's import time and memory, paid by
# every worker and warm-start process.
sys.modules.setdefault("httpx._main", None)
import httpx  # noqa: E402
from pydantic import BaseModel

from .errors import (AlreadyExists, ApiUnavailable, BrokerUnavailable, FieldError,
                     FlowpoolError, InvalidInput, NotFound, StateRejected, TooLarge,
                     Unauthorized)
from .models import (ClaimedRun, ClaimRequest, Deployment, DeploymentCreate, FlowRun,
                     FlowRunCreate, FlowRunDetail, Log, LogCreate, StateProposal, WorkPool,
                     WorkPoolCreate, WorkPoolDetail, WorkPoolUpdate, WorkQueue, WorkQueueCreate,
                     WorkQueueDetail, WorkQueueUpdate, WorkerStatus)
from .models.deployments import StoredSchedule
from .models.logs import (MAX_ENTRIES_PER_REQUEST, MAX_PAGE, MAX_REQUEST_BYTES, LogBudget,
                          LogsDropped, fit_line)
from .models.artifacts import Artifact
from .models.blocks import Block, BlockCreate, BlockData, BlockTypeInfo
from .models.concurrency_limits import (ConcurrencyLimit, ConcurrencyLimitCreate,
                                        ConcurrencyLimitDetail, ConcurrencyLimitUpdate,
                                        SlotGrant, SlotLeaseRef, SlotReleaseResult, SlotRenewal,
                                        SlotRenewResult, SlotRequest)
from .models.removals import FlowSummary, Removal
from .models.reports import ReportResult
from .models.task_cache import TaskCacheEntry, TaskCacheWrite
from .models.task_runs import TaskRun
from .models.variables import Variable, VariableCreate, VariableValue
from .schedules import STORED, DeploymentSchedule

if TYPE_CHECKING:
    from .models.automations import Automation, AutomationCreate
    from .models.events import Event, EventCreate

RETRIED_STATUSES = {502, 503, 504}


def _explains_itself(response: httpx.Response) -> bool:
    """A flowpool error body (a proxy's 502 page is not one)."""
    try:
        return "detail" in response.json()
    except ValueError:
        return False
ERRORS_BY_STATUS = {401: Unauthorized, 404: NotFound, 409: StateRejected, 413: TooLarge,
                    422: InvalidInput, 503: BrokerUnavailable}
NEXT_CURSOR_HEADER = "X-Next-Cursor"
M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict) -> M:
    """A model of what the server sent: schedules as stored, not re-judged by today's bounds
    (the server marks those it skips)."""
    return model.model_validate(data, context=STORED)


@functools.lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """The CA bundle, loaded once per process (it costs more than the rest of a client) and
    by the warm-start process before it forks, so no run's engine loads it again."""
    return httpx.create_ssl_context()


class FlowpoolClient:
    def __init__(self, api_url: str, timeout_s: float = 30.0, retry_for_s: float = 0.0,
                 api_key: str | None = None):
        self.api_url = api_url.rstrip("/")
        self.retry_for_s = retry_for_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout_s, headers=headers,
                                  verify=default_ssl_context())

    @classmethod
    def from_settings(cls, retry_for_s: float | None = None) -> "FlowpoolClient":
        from config.settings import get_settings

        s = get_settings()
        return cls(s.api_url, s.http_timeout_s,
                   s.http_retry_for_s if retry_for_s is None else retry_for_s, s.api_key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "FlowpoolClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._decode(self._send(method, path, **kwargs))

    def _pages(self, path: str, params: dict[str, Any] | None = None,
               limit: int | None = None) -> Iterator[dict]:
        """The items of a listing, following its cursor from page to page; at most `limit`."""
        params, left = dict(params or {}), limit
        while left is None or left > 0:
            page_size = MAX_PAGE if left is None else min(left, MAX_PAGE)
            response = self._send("GET", path, params={**params, "limit": page_size})
            items = self._decode(response)
            yield from items
            cursor = response.headers.get(NEXT_CURSOR_HEADER)
            if not cursor:
                return
            params["after"] = cursor
            left = None if left is None else left - len(items)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for_s
        delay, response = 0.1, None
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
                if response.status_code not in RETRIED_STATUSES:
                    return response
                failure = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                if response is not None and _explains_itself(response):
                    return response  # the API answered, and says what is unavailable
                raise ApiUnavailable(
                    f"cannot reach the flowpool API at {self.api_url} ({failure}); start it with"
                    " `flowpool server start`, or point FLOWPOOL_API_URL at it")
            time.sleep(delay * (1 + random.random() / 2))
            delay = min(delay * 2, 5.0)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        message = body.get("detail") if isinstance(body.get("detail"), str) else str(body)
        errors = [FieldError(e.get("field", ""), e.get("message", "")) for e in body.get("errors", [])]
        error_class = ERRORS_BY_STATUS.get(response.status_code, FlowpoolError)
        if response.status_code == 409 and message and "already exists" in message:
            error_class = AlreadyExists
        raise error_class(message, errors)

    # -- work pools --------------------------------------------------------------------
    def create_work_pool(self, request: WorkPoolCreate) -> WorkPool:
        return WorkPool(**self._request("POST", "/work_pools", json=request.model_dump(mode="json")))

    def list_work_pools(self) -> list[WorkPool]:
        return [WorkPool(**p) for p in self._pages("/work_pools")]

    def read_work_pool(self, name: str) -> WorkPoolDetail:
        return WorkPoolDetail(**self._request("GET", f"/work_pools/{name}"))

    def update_work_pool(self, name: str, **changes: Any) -> WorkPool:
        body = WorkPoolUpdate(**changes).model_dump(mode="json", include=set(changes))
        return WorkPool(**self._request("PATCH", f"/work_pools/{name}", json=body))

    def list_workers(self, pool_name: str) -> list[WorkerStatus]:
        return [WorkerStatus(**w) for w in self._request("GET", f"/work_pools/{pool_name}/workers")]

    def list_work_queues(self, pool_name: str) -> list[WorkQueue]:
        return [WorkQueue(**q) for q in self._pages(f"/work_pools/{pool_name}/queues")]

    def create_work_queue(self, pool_name: str, request: WorkQueueCreate) -> WorkQueue:
        return WorkQueue(**self._request("POST", f"/work_pools/{pool_name}/queues",
                                         json=request.model_dump(mode="json")))

    def read_work_queue(self, pool_name: str, name: str) -> WorkQueueDetail:
        return WorkQueueDetail(**self._request("GET", f"/work_pools/{pool_name}/queues/{name}"))

    def update_work_queue(self, pool_name: str, name: str, **changes: Any) -> WorkQueue:
        body = WorkQueueUpdate(**changes).model_dump(mode="json", include=set(changes))
        return WorkQueue(**self._request("PATCH", f"/work_pools/{pool_name}/queues/{name}",
                                         json=body))

    def delete_work_queue(self, pool_name: str, name: str) -> None:
        self._request("DELETE", f"/work_pools/{pool_name}/queues/{name}")

    def delete_work_pool(self, name: str, force: bool = False) -> Removal:
        return Removal(**self._request("DELETE", f"/work_pools/{name}",
                                       params={"force": str(force).lower()}))

    # -- deployments -------------------------------------------------------------------
    def upsert_deployment(self, request: DeploymentCreate) -> Deployment:
        return parse(Deployment, self._request("PUT", "/deployments",
                                               json=request.model_dump(mode="json")))

    def list_deployments(self, work_pool: str | None = None) -> list[Deployment]:
        params = {"work_pool": work_pool} if work_pool else {}
        return [parse(Deployment, d) for d in self._pages("/deployments", params)]

    def read_deployment(self, full_name: str) -> Deployment:
        return parse(Deployment, self._request("GET", self._deployment_path(full_name)))

    def delete_deployment(self, full_name: str, force: bool = False) -> Removal:
        return Removal(**self._request("DELETE", self._deployment_path(full_name),
                                       params={"force": str(force).lower()}))

    def list_flows(self, limit: int = MAX_PAGE) -> list[FlowSummary]:
        return [FlowSummary(**f) for f in self._request("GET", "/flows", params={"limit": limit})]

    def read_deployment_by_id(self, deployment_id: str) -> Deployment:
        return parse(Deployment, self._request("GET", f"/deployments/{deployment_id}"))

    def read_launch_bundle(self, run_id: str) -> ClaimedRun:
        """The run with its deployment and pool, secrets unmasked (for the run's own engine)."""
        return ClaimedRun(**self._request("GET", f"/flow_runs/{run_id}/launch"))

    def create_flow_run(self, full_name: str, request: FlowRunCreate) -> FlowRun:
        return FlowRun(**self._request("POST", f"{self._deployment_path(full_name)}/runs",
                                       json=request.model_dump(mode="json")))

    def create_flow_run_by_name(self, full_name: str, parameters: dict | None = None) -> FlowRun:
        return self.create_flow_run(full_name, FlowRunCreate(parameters=parameters or {}))

    # -- schedules ---------------------------------------------------------------------
    def _deployment_path(self, full_name: str) -> str:
        """Each name as one path segment: a space, `?` or `#` in it is percent-encoded."""
        flow_name, name = split_deployment_name(full_name)
        return f"/deployments/name/{quote(flow_name, safe='')}/{quote(name, safe='')}"

    def list_schedules(self, full_name: str) -> list[StoredSchedule]:
        return [parse(StoredSchedule, s) for s in self._request(
            "GET", f"{self._deployment_path(full_name)}/schedules")]

    def create_schedule(self, full_name: str, entry: DeploymentSchedule) -> StoredSchedule:
        return parse(StoredSchedule, self._request(
            "POST", f"{self._deployment_path(full_name)}/schedules",
            json=entry.model_dump(mode="json")))

    def set_schedule_active(self, full_name: str, ref: str, active: bool) -> StoredSchedule:
        return parse(StoredSchedule, self._request(
            "PATCH", f"{self._deployment_path(full_name)}/schedules/{ref}",
            json={"active": active}))

    def delete_schedule(self, full_name: str, ref: str) -> StoredSchedule:
        return parse(StoredSchedule, self._request(
            "DELETE", f"{self._deployment_path(full_name)}/schedules/{ref}"))

    def set_deployment_paused(self, full_name: str, paused: bool) -> Deployment:
        action = "pause" if paused else "resume"
        return parse(Deployment, self._request(
            "POST", f"{self._deployment_path(full_name)}/{action}"))

    def upcoming_runs(self, full_name: str, limit: int = 10) -> list[FlowRun]:
        return [FlowRun(**r) for r in self._request(
            "GET", f"{self._deployment_path(full_name)}/upcoming", params={"limit": limit})]

    # -- flow runs ---------------------------------------------------------------------
    def list_flow_runs(self, state: str | None = None, deployment_id: str | None = None,
                       work_pool: str | None = None, limit: int | None = 100,
                       parent_flow_run_id: str | None = None) -> list[FlowRun]:
        """The newest `limit` runs (fetched a page at a time; None: all); with
        `parent_flow_run_id`, that run's child runs."""
        params = {k: v for k, v in dict(state=state, deployment_id=deployment_id,
                                         work_pool=work_pool,
                                         parent_flow_run_id=parent_flow_run_id).items() if v}
        return [FlowRun(**r) for r in self._pages("/flow_runs", params, limit)]

    def read_flow_run(self, run_id: str) -> FlowRunDetail:
        return FlowRunDetail(**self._request("GET", f"/flow_runs/{run_id}"))

    def claim_flow_run(self, run_id: str, token: str, worker_name: str) -> ClaimedRun | None:
        """The run, if this token's claim won; None when the token is stale or already used."""
        body = ClaimRequest(token=token, worker_name=worker_name).model_dump()
        try:
            return parse(ClaimedRun, self._request("POST", f"/flow_runs/{run_id}/claim",
                                                   json=body))
        except (StateRejected, NotFound):
            return None

    def set_state(self, run_id: str, proposal: StateProposal) -> FlowRun:
        return FlowRun(**self._request("POST", f"/flow_runs/{run_id}/state",
                                       json=proposal.model_dump(mode="json")))

    def cancel_flow_run(self, run_id: str) -> FlowRun:
        return FlowRun(**self._request("POST", f"/flow_runs/{run_id}/cancel"))

    def retry_flow_run(self, run_id: str) -> FlowRun:
        return FlowRun(**self._request("POST", f"/flow_runs/{run_id}/retry"))

    def send_logs(self, run_id: str, entries: list[LogCreate]) -> tuple[LogBudget, int]:
        """Ship the first entries that fit in one request (MAX_ENTRIES_PER_REQUEST lines,
        MAX_REQUEST_BYTES of JSON, each line cut to MAX_LINE_BYTES); call again for the rest.
        The run's budget as the answer reports it, and how many entries were sent."""
        body, count = log_request_body(entries)
        answer = self._request("POST", f"/flow_runs/{run_id}/logs", content=body,
                               headers={"Content-Type": "application/json"})
        return LogBudget(**answer), count

    def report_dropped_logs(self, run_id: str, dropped: LogsDropped) -> LogBudget:
        return LogBudget(**self._request("POST", f"/flow_runs/{run_id}/logs/dropped",
                                         json=dropped.model_dump()))

    def read_logs(self, run_id: str, after: int = 0, limit: int = MAX_PAGE) -> list[Log]:
        """One page: the lines after the line with id `after`, at most `limit` of them."""
        return [Log(**entry) for entry in self._request(
            "GET", f"/flow_runs/{run_id}/logs", params={"after": after, "limit": limit})]

    def iter_logs(self, run_id: str, after: int = 0, limit: int = MAX_PAGE) -> Iterator[Log]:
        """Every line stored so far, page after page, in order."""
        while True:
            page = self.read_logs(run_id, after, limit)
            yield from page
            if len(page) < limit:
                return
            after = page[-1].id

    # -- what a run's flow code reports: task runs, child runs, artifacts ---------------
    def send_reports(self, run_id: str, body: bytes) -> ReportResult:
        """One batch of reports of the root run `run_id`, already encoded as JSON (the HTTP
        reporter builds it: engine/http_reporter.py)."""
        return ReportResult(**self._request("POST", f"/flow_runs/{run_id}/reports",
                                            content=body,
                                            headers={"Content-Type": "application/json"}))

    def list_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        """Every task run of a flow run, in the order they were created."""
        return [TaskRun(**t) for t in self._pages(f"/flow_runs/{flow_run_id}/task_runs")]

    def list_child_runs(self, flow_run_id: str) -> list[FlowRun]:
        return self.list_flow_runs(parent_flow_run_id=flow_run_id, limit=None)

    def list_artifacts(self, flow_run_id: str) -> list[Artifact]:
        """A flow run's artifacts, newest first."""
        return [Artifact(**a) for a in self._pages(f"/flow_runs/{flow_run_id}/artifacts")]

    def artifact_versions(self, key: str, limit: int | None = None) -> list[Artifact]:
        """The versions of the artifact `key`, newest (its current value) first."""
        return [Artifact(**a) for a in self._pages("/artifacts", {"key": key}, limit)]

    # -- task cache --------------------------------------------------------------------
    def read_task_cache(self, key: str) -> TaskCacheEntry | None:
        """The value cached under `key`; None when there is none (or it expired)."""
        try:
            return TaskCacheEntry(**self._request("GET", f"/task_cache/{key}"))
        except NotFound:
            return None

    def write_task_cache(self, key: str, entry: TaskCacheWrite) -> TaskCacheEntry:
        return TaskCacheEntry(**self._request("PUT", f"/task_cache/{key}",
                                              json=entry.model_dump(mode="json")))

    # -- global concurrency limits and their slots -------------------------------------
    def create_concurrency_limit(self, request: ConcurrencyLimitCreate) -> ConcurrencyLimit:
        return ConcurrencyLimit(**self._request("POST", "/concurrency_limits",
                                                json=request.model_dump(mode="json")))

    def list_concurrency_limits(self) -> list[ConcurrencyLimit]:
        return [ConcurrencyLimit(**c) for c in self._pages("/concurrency_limits")]

    def read_concurrency_limit(self, name: str) -> ConcurrencyLimitDetail:
        return ConcurrencyLimitDetail(**self._request("GET", f"/concurrency_limits/{name}"))

    def update_concurrency_limit(self, name: str, **changes: Any) -> ConcurrencyLimit:
        body = ConcurrencyLimitUpdate(**changes).model_dump(mode="json", include=set(changes))
        return ConcurrencyLimit(**self._request("PATCH", f"/concurrency_limits/{name}",
                                                json=body))

    def delete_concurrency_limit(self, name: str) -> ConcurrencyLimit:
        return ConcurrencyLimit(**self._request("DELETE", f"/concurrency_limits/{name}"))

    def acquire_slots(self, run_id: str, request: SlotRequest) -> SlotGrant:
        """One attempt: the slots, or `acquired: false` when a limit is full now."""
        return SlotGrant(**self._request("POST", f"/flow_runs/{run_id}/slots",
                                         json=request.model_dump(mode="json")))

    def renew_slots(self, run_id: str, leases: list[SlotLeaseRef]) -> SlotRenewResult:
        body = SlotRenewal(leases=leases).model_dump(mode="json")
        return SlotRenewResult(**self._request("POST", f"/flow_runs/{run_id}/slots/renew",
                                               json=body))

    def release_slots(self, run_id: str, lease: SlotLeaseRef) -> SlotReleaseResult:
        return SlotReleaseResult(**self._request("POST", f"/flow_runs/{run_id}/slots/release",
                                                 json=lease.model_dump(mode="json")))

    # -- variables ---------------------------------------------------------------------
    def create_variable(self, name: str, value: Any) -> Variable:
        """A new variable; AlreadyExists when it is set."""
        body = VariableCreate(name=name, value=value).model_dump(mode="json")
        return Variable(**self._request("POST", "/variables", json=body))

    def set_variable(self, name: str, value: Any) -> Variable:
        return Variable(**self._request("PUT", f"/variables/{name}",
                                        json=VariableValue(value=value).model_dump(mode="json")))

    def read_variable(self, name: str) -> Variable:
        return Variable(**self._request("GET", f"/variables/{name}"))

    def list_variables(self) -> list[Variable]:
        return [Variable(**v) for v in self._pages("/variables")]

    def delete_variable(self, name: str) -> Variable:
        return Variable(**self._request("DELETE", f"/variables/{name}"))

    # -- blocks ------------------------------------------------------------------------
    def create_block(self, type_: str, name: str, data: dict[str, Any]) -> Block:
        """A new block; AlreadyExists when TYPE/NAME exists."""
        body = BlockCreate(type=type_, name=name, data=data).model_dump(mode="json")
        return Block(**self._request("POST", "/blocks", json=body))

    def set_block(self, type_: str, name: str, data: dict[str, Any]) -> Block:
        return Block(**self._request("PUT", f"/blocks/{type_}/{name}",
                                     json=BlockData(data=data).model_dump(mode="json")))

    def read_block(self, type_: str, name: str, include_secrets: bool = False) -> Block:
        """The block; its secret fields in the clear only when `include_secrets`."""
        params = {"include_secrets": "true"} if include_secrets else None
        return Block(**self._request("GET", f"/blocks/{type_}/{name}", params=params))

    def list_blocks(self, type_: str | None = None) -> list[Block]:
        return [Block(**b) for b in self._pages("/blocks", {"type": type_} if type_ else None)]

    def delete_block(self, type_: str, name: str) -> Block:
        return Block(**self._request("DELETE", f"/blocks/{type_}/{name}"))

    def list_block_types(self) -> list[BlockTypeInfo]:
        return [BlockTypeInfo(**t) for t in self._request("GET", "/block-types")]

    # -- server ------------------------------------------------------------------------
    # -- events and automations ------------------------------------------------------------
    def emit_event(self, request: "EventCreate") -> "Event":
        from .models.events import Event

        return Event(**self._request("POST", "/events", json=request.model_dump(mode="json")))

    def list_events(self, name: str | None = None, resource: str | None = None,
                    after: int | None = None, limit: int = 100) -> list["Event"]:
        from .models.events import Event

        params = {k: v for k, v in dict(name=name, resource=resource, after=after,
                                        limit=limit).items() if v is not None}
        return [Event(**e) for e in self._request("GET", "/events", params=params)]

    def create_automation(self, request: "AutomationCreate") -> "Automation":
        from .models.automations import Automation

        return Automation(**self._request("POST", "/automations",
                                          json=request.model_dump(mode="json")))

    def list_automations(self) -> list["Automation"]:
        from .models.automations import Automation

        return [Automation(**a) for a in self._request("GET", "/automations")]

    def read_automation(self, ref: str) -> dict:
        return self._request("GET", f"/automations/{quote(ref, safe='')}")

    def set_automation_enabled(self, ref: str, enabled: bool) -> "Automation":
        from .models.automations import Automation

        return Automation(**self._request("PATCH", f"/automations/{quote(ref, safe='')}",
                                          json={"enabled": enabled}))

    def delete_automation(self, ref: str) -> "Automation":
        from .models.automations import Automation

        return Automation(**self._request("DELETE", f"/automations/{quote(ref, safe='')}"))

    def replace_deployment_automations(self, deployment_id: str,
                                       requests: list["AutomationCreate"]) -> list["Automation"]:
        from .models.automations import Automation

        body = [r.model_dump(mode="json") for r in requests]
        return [Automation(**a) for a in self._request(
            "PUT", f"/automations/deployment/{deployment_id}", json=body)]

    def health(self) -> dict:
        return self._request("GET", "/health")

    def broker_url(self) -> str | None:
        return self._request("GET", "/broker").get("redis_url")


def log_request_body(entries: list[LogCreate]) -> tuple[bytes, int]:
    """The JSON body of one POST of log lines: as many of the first entries as the API takes
    in one request (at least one); and how many that is."""
    parts, size = [], 2
    for entry in entries[:MAX_ENTRIES_PER_REQUEST]:
        part = entry.model_copy(update={"message": fit_line(entry.message)}).model_dump_json()
        encoded = part.encode()
        if parts and size + len(encoded) + 1 > MAX_REQUEST_BYTES:
            break
        parts.append(encoded)
        size += len(encoded) + 1
    return b"[" + b",".join(parts) + b"]", len(parts)


def split_deployment_name(full_name: str) -> tuple[str, str]:
    flow_name, sep, name = full_name.partition("/")
    if not sep or not flow_name or not name or "/" in name:
        raise InvalidInput(f"deployment {full_name!r} is not of the form FLOW/DEPLOYMENT", [
            FieldError("deployment", "name it as FLOW/DEPLOYMENT, e.g. get-repo-info/my-deployment")])
    return flow_name, name
