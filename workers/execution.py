"""How a worker executes one dispatched run, top to bottom: claim, render the job, launch the
infrastructure, supervise it, report what the engine could not."""
from __future__ import annotations

import logging

from orchestrator.client import FlowpoolClient
from orchestrator.errors import FlowpoolError
from orchestrator.jobs import render_job_configuration
from orchestrator.leases import clear_cancel_request, drop_lease
from orchestrator.models import ClaimedRun, DispatchMessage, LogCreate, StateProposal, utcnow
from orchestrator.models.blocks import fill_blocks
from orchestrator.states import StateType

from . import docker, kubernetes, process
from .context import WorkerContext
from .infrastructure import Handle, Launch
from .supervisor import Ending, Outcome, keep_lease, supervise

log = logging.getLogger("flowpool.worker")
# The infrastructure types, by pool type: each module's `launch` (the contract: infrastructure.py).
INFRASTRUCTURES: dict[str, Launch] = {"process": process.launch, "docker": docker.launch,
                                      "kubernetes": kubernetes.launch}


def execute(message: DispatchMessage, ctx: WorkerContext) -> None:
    claimed = claim(message, ctx)
    if claimed is None:
        return
    token = message.token
    try:
        keep_lease(ctx, claimed.flow_run.id, token)
        handle = launch(claimed, token, ctx)
        if handle is not None:
            outcome = supervise(handle, claimed, token, ctx)
            report(ctx, claimed, token, outcome, handle.output_tail(), engine_report(handle))
    finally:
        _release(ctx, claimed.flow_run.id)


def claim(message: DispatchMessage, ctx: WorkerContext) -> ClaimedRun | None:
    """PENDING -> RUNNING with the message's token; None for a stale or duplicate message."""
    claimed = ctx.client.claim_flow_run(message.run_id, message.token, ctx.name)
    if claimed is None:
        log.info("run %s: message with a stale or already used token; dropped", message.run_id)
    else:
        log.info("run %s: claimed (attempt %d)", message.run_id, claimed.flow_run.attempt)
    return claimed


def render_job(claimed: ClaimedRun, client: FlowpoolClient | None = None) -> dict:
    """Pool base job template + deployment job variables + run job variables; with a client,
    the blocks they name (`{{ prefect.blocks.secret.token }}`) filled in first: read here,
    where they are used, so their secrets are never stored with the deployment."""
    variables = [claimed.deployment.job_variables, claimed.flow_run.job_variables]
    if client is not None:
        def read(kind: str, name: str) -> dict:
            return client.read_block(kind, name, include_secrets=True).data
        variables = [fill_blocks(values, read) for values in variables]
    return render_job_configuration(claimed.work_pool.base_job_template, *variables)


def launch(claimed: ClaimedRun, token: str, ctx: WorkerContext) -> Handle | None:
    start = INFRASTRUCTURES[claimed.work_pool.type]
    try:
        return start(render_job(claimed, ctx.client), claimed, token, ctx)
    except Exception as exc:  # the infrastructure could not start: the run crashed
        report_crash(ctx, claimed, token, f"could not start the flow run: {exc}")
        return None


def engine_report(handle: Handle) -> dict | None:
    """What the engine said the API answered to its final report: a process run's engine
    tells its worker on a pipe; other infrastructures have none (the run is read back)."""
    read = getattr(handle, "engine_report", None)
    return read() if read else None


def report(ctx: WorkerContext, claimed: ClaimedRun, token: str, outcome: Outcome,
           tail: list[str], reported: dict | None = None) -> None:
    """The engine reports how the flow ended; the worker reports what stopped it otherwise."""
    run = claimed.flow_run
    if outcome.ending is Ending.CANCELLED:
        _propose(ctx, run.id, StateProposal(type=StateType.CANCELLED, token=token,
                                            message="cancelled: its infrastructure was stopped"))
    elif outcome.ending is Ending.TIMED_OUT:
        _propose(ctx, run.id, StateProposal(
            type=StateType.FAILED, name="TimedOut", token=token,
            message=f"timed out after {run.timeout_seconds:g}s (timeout_seconds)"))
    elif outcome.ending is Ending.EXITED:
        report_exit(ctx, claimed, token, outcome.exit_code, tail, reported)


def report_exit(ctx: WorkerContext, claimed: ClaimedRun, token: str, exit_code: int,
                tail: list[str], reported: dict | None = None) -> None:
    """If the process exited without reporting a final state, the run crashed. An engine
    that exited 0 after the API took its final report has left nothing to do: the slot is
    freed without reading the run back."""
    run_id = claimed.flow_run.id
    if exit_code == 0 and reported_the_end(reported, token):
        log.info("run %s: infrastructure exited with code 0; run is %s", run_id,
                 reported["state"])
        return
    run = ctx.client.read_flow_run(run_id)
    log.info("run %s: infrastructure exited with code %s; run is %s", run_id, exit_code,
             run.state_type.value)
    if run.dispatch_token != token:
        return
    if run.state_type is StateType.CANCELLING:
        _propose(ctx, run_id, StateProposal(type=StateType.CANCELLED, token=token,
                                            message="cancelled: the flow run process ended"))
    elif run.state_type is StateType.RUNNING:
        last = "\n".join(tail[-20:])
        report_crash(ctx, claimed, token, f"the flow run's {claimed.work_pool.type} infrastructure"
                                          f" exited with code {exit_code} without reporting a"
                                          f" final state. Last output:\n{last}")


def reported_the_end(reported: dict | None, token: str) -> bool:
    """The engine's final report left the run under this attempt's token in a state the
    worker has nothing to add to (neither RUNNING nor CANCELLING)."""
    if not reported or reported.get("token") != token:
        return False
    try:
        state = StateType(reported.get("state"))
    except ValueError:
        return False
    return state not in (StateType.RUNNING, StateType.CANCELLING)


def report_crash(ctx: WorkerContext, claimed: ClaimedRun, token: str, message: str) -> None:
    run_id = claimed.flow_run.id
    log.warning("run %s: crashed: %s", run_id, message)
    try:
        ctx.client.send_logs(run_id, [LogCreate(timestamp=utcnow(), level=logging.ERROR,
                                                message=message, source="worker")])
    except FlowpoolError as exc:
        log.error("run %s: could not ship the crash report: %s", run_id, exc)
    _propose(ctx, run_id, StateProposal(type=StateType.CRASHED, message=message, token=token))


def _propose(ctx: WorkerContext, run_id: str, proposal: StateProposal) -> None:
    try:
        ctx.client.set_state(run_id, proposal)
    except FlowpoolError as exc:
        log.error("run %s: could not report %s: %s", run_id, proposal.type.value, exc)


def _release(ctx: WorkerContext, run_id: str) -> None:
    try:
        drop_lease(ctx.redis, run_id)
        clear_cancel_request(ctx.redis, run_id)
    except Exception as exc:  # the lease expires on its own
        log.warning("run %s: could not drop its lease: %s", run_id, exc)
