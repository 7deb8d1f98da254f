"""How a worker executes one dispatched run, top to bottom: claim, render the job, launch the
infrastructure, watch it, report what the engine could not."""
from __future__ import annotations

import logging

from orchestrator.errors import FlowpoolError
from orchestrator.jobs import render_job_configuration
from orchestrator.models import ClaimedRun, DispatchMessage, LogCreate, StateProposal, utcnow
from orchestrator.states import StateType

from . import process
from .context import WorkerContext

log = logging.getLogger("flowpool.worker")
INFRASTRUCTURES = {"process": process}


def execute(message: DispatchMessage, ctx: WorkerContext) -> None:
    claimed = claim(message, ctx)
    if claimed is None:
        return
    job = render_job(claimed)
    infrastructure = INFRASTRUCTURES[claimed.work_pool.type]
    try:
        handle = infrastructure.launch(job, claimed, message.token, ctx)
    except Exception as exc:  # the infrastructure could not start: the run crashed
        report_crash(ctx, claimed, message.token, f"could not start the flow run: {exc}")
        return
    exit_code = handle.wait()
    report_exit(ctx, claimed, message.token, exit_code, handle.output_tail())


def claim(message: DispatchMessage, ctx: WorkerContext) -> ClaimedRun | None:
    """PENDING -> RUNNING with the message's token; None for a stale or duplicate message."""
    claimed = ctx.client.claim_flow_run(message.run_id, message.token, ctx.name)
    if claimed is None:
        log.info("run %s: message with a stale or already used token; dropped", message.run_id)
    else:
        log.info("run %s: claimed (attempt %d)", message.run_id, claimed.flow_run.attempt)
    return claimed


def render_job(claimed: ClaimedRun) -> dict:
    """Pool base job template + deployment job variables + run job variables."""
    return render_job_configuration(claimed.work_pool.base_job_template,
                                    claimed.deployment.job_variables,
                                    claimed.flow_run.job_variables)


def report_exit(ctx: WorkerContext, claimed: ClaimedRun, token: str, exit_code: int,
                tail: list[str]) -> None:
    """The engine reports the final state itself; if it did not, the run crashed."""
    run_id = claimed.flow_run.id
    run = ctx.client.read_flow_run(run_id)
    log.info("run %s: infrastructure exited with code %s; run is %s", run_id, exit_code,
             run.state_type.value)
    if run.state_type is StateType.RUNNING and run.dispatch_token == token:
        last = "\n".join(tail[-20:])
        report_crash(ctx, claimed, token, f"the flow run process exited with code {exit_code}"
                                          f" without reporting a final state. Last output:\n{last}")


def report_crash(ctx: WorkerContext, claimed: ClaimedRun, token: str, message: str) -> None:
    run_id = claimed.flow_run.id
    log.warning("run %s: crashed: %s", run_id, message)
    try:
        ctx.client.send_logs(run_id, [LogCreate(timestamp=utcnow(), level=logging.ERROR,
                                                message=message, source="worker")])
        ctx.client.set_state(run_id, StateProposal(type=StateType.CRASHED, message=message,
                                                   token=token))
    except FlowpoolError as exc:
        log.error("run %s: could not report the crash: %s", run_id, exc)
