"""The engine: receive the run, run the pull steps, load the flow, run it, report the outcome.

It receives what the worker already knows (the claimed run, its deployment and pool): from the
worker over an inherited pipe in a process run, from the API with the run's credential in a
container, where no pipe reaches (secrets must not land in a container's or a Job's spec).
Then it calls the API only to report: states, logs, and the variables the pull steps read.
The flow runs through the SDK (`sdk.flow_engine.run_flow`), so its tasks, child flow runs,
artifacts, variables, cache and concurrency slots reach the API through an HttpReporter, in
batches.

It reports with the attempt's dispatch token, so a stale attempt can never overwrite a newer
one. A failure of the flow ends FAILED with its traceback in the run's logs; the engine exits
0 whenever it managed to report, and the worker reports CRASHED when it did not.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, MutableMapping

from ..client import FlowpoolClient
from ..entrypoints import load_flow
from ..errors import FlowpoolError
from ..masking import environment_secrets, redact, secret_values
from ..models import LAUNCH_FD_VARIABLE, REPORT_FD_VARIABLE, ClaimedRun, StateProposal
from ..processes import set_parent_death_signal
from ..states import StateType
from .http_reporter import HttpReporter
from .logs import LogShipper, RedactingConsole, capture_output

log = logging.getLogger("flowpool.engine")
RESULT_REPR_LIMIT = 2000


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m orchestrator.engine RUN_ID", file=sys.stderr)
        return 2
    run_id, token = argv[0], os.environ.get("FLOWPOOL_RUN_TOKEN")
    _die_with_parent()
    report_fd = take_report_pipe()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    client = FlowpoolClient.from_settings()
    shipper = LogShipper(client, run_id).start()
    shipper.secrets.update(environment_secrets(os.environ))
    out, err = capture_output(shipper)
    finished = False  # only then may the last lines wait for the final state
    try:
        proposal = execute(client, run_id, shipper)
        # The flow is over: a SIGTERM now could only interrupt its report (or the exit after
        # it) with a traceback; the worker kills a process that does not leave in time.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        finished = True
    except Stopped:
        log.warning("flow run %s stopped by its worker (SIGTERM)", run_id)
        return 128 + signal.SIGTERM  # the worker reports why it stopped the run
    finally:
        out.close_partial()
        err.close_partial()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        last_lines = shipper.close(keep_last=finished)
    message = proposal.message and redact(proposal.message, shipper.secrets)
    proposal = proposal.model_copy(update={"token": token, "message": message})
    try:
        answer = report_final(client, run_id, proposal, last_lines)
    except FlowpoolError as exc:
        print(f"flowpool: could not report {proposal.type.value} for run {run_id}: {exc}",
              file=sys.stderr)
        return 1
    tell_worker(report_fd, {"state": answer.state_type.value, "token": answer.dispatch_token})
    return 0


def report_final(client: FlowpoolClient, run_id: str, proposal: StateProposal,
                 last_lines: list) -> Any:
    """The final state, with the run's last log lines in the same request; if that request
    is refused, the lines are sent on their own (the state may still be taken alone)."""
    if last_lines:
        try:
            return client.set_state(run_id, proposal.model_copy(update={"logs": last_lines}))
        except FlowpoolError:
            try:
                client.send_logs(run_id, last_lines)
            except FlowpoolError as exc:
                print(f"flowpool: could not ship the last log lines: {exc}", file=sys.stderr)
    return client.set_state(run_id, proposal)


def take_report_pipe(environ: MutableMapping[str, str] = os.environ) -> int | None:
    """The worker's report pipe, kept from the flow's own processes (they do not inherit it,
    and do not see the variable)."""
    fd = environ.pop(REPORT_FD_VARIABLE, None)
    if fd is None:
        return None
    try:
        os.set_inheritable(int(fd), False)
    except (OSError, ValueError):
        return None
    return int(fd)


def tell_worker(fd: int | None, report: dict) -> None:
    """What the API answered to the final report, for the worker: it then knows the run is
    over without asking the API again."""
    if fd is None:
        return
    try:
        os.write(fd, json.dumps(report).encode())
        os.close(fd)
    except OSError:
        pass  # the worker reads the run back instead


def execute(client: FlowpoolClient, run_id: str, shipper: LogShipper) -> StateProposal:
    """Run the flow; the outcome as the state to propose."""
    try:
        launched = receive_launch(client, run_id)
        run, deployment = launched.flow_run, launched.deployment
        shipper.secrets.update(secret_values([deployment.pull_steps, deployment.job_variables,
                                              run.job_variables]))
        log.info("flow run %s (%s, attempt %d) starting", run_id, deployment.full_name, run.attempt)
        pull_code(client, run_id, deployment.pull_steps, shipper.secrets)
        flow = load_flow(deployment.entrypoint, Path.cwd())
    except FlowpoolError as exc:
        log.error("flow run %s could not start: %s", run_id, exc)
        return StateProposal(type=StateType.FAILED, message=str(exc))
    reporter = HttpReporter(client, run_id, shipper.secrets, own_logs=shipper.add_entries)
    state = run_deployed_flow(flow, launched, reporter)
    return proposal_for(run_id, state)


def run_deployed_flow(flow: Any, launched: ClaimedRun, reporter: HttpReporter):
    """The flow as the root run of this flow run, through the SDK; its final State. The
    reporter is closed (its reports shipped) before the engine reports the root's state, so
    the server never ends a child run whose last report is still on its way."""
    from ..sdk.flow_engine import run_flow
    from ..sdk.live_runs import DeploymentInfo
    from ..sdk.run_session import RunSession

    global _session
    run, deployment = launched.flow_run, launched.deployment
    reporter.console = RedactingConsole(sys.__stdout__, reporter.secrets)  # the worker's output
    _session = RunSession(reporter)
    try:
        return run_flow(flow, dict(run.parameters), session=_session, flow_run_id=run.id,
                        flow_run_name=run.name, tags=tuple(run.tags),
                        scheduled_start_time=run.scheduled_time, attempt=run.attempt,
                        deployment=DeploymentInfo(deployment.id, deployment.full_name,
                                                  dict(deployment.parameters), deployment.version))
    except Stopped:
        _session.end_open_runs(StateType.CANCELLED, "its flow run was stopped by its worker")
        raise
    finally:
        reporter.close()


def proposal_for(run_id: str, state) -> StateProposal:
    """The SDK's final State of the root run as the proposal the engine reports."""
    if state.type is StateType.COMPLETED:
        log.info("flow run %s completed", run_id)
        value, is_repr = storable_result(state.data)
        return StateProposal(type=StateType.COMPLETED, result=value, result_is_repr=is_repr)
    if isinstance(state.data, BaseException):
        trace = "".join(traceback.format_exception(state.data)).rstrip()
        log.error("flow run %s failed:\n%s", run_id, trace)
    name = state.name if state.type is StateType.FAILED else None  # e.g. TimedOut
    return StateProposal(type=StateType.FAILED, name=name, message=state.message)


def receive_launch(client: FlowpoolClient, run_id: str,
                   environ: MutableMapping[str, str] = os.environ) -> ClaimedRun:
    """What the run was launched with: from the worker's pipe when it gave one, else from the
    API. The variable is dropped, so the flow's own processes do not look for the pipe."""
    fd = environ.pop(LAUNCH_FD_VARIABLE, None)
    if fd is None:
        return client.read_launch_bundle(run_id)
    with os.fdopen(int(fd), "rb") as pipe:
        launched = ClaimedRun.model_validate_json(pipe.read())
    if launched.flow_run.id != run_id:
        raise FlowpoolError(f"the worker handed over flow run {launched.flow_run.id}, not {run_id}")
    return launched


def pull_code(client: FlowpoolClient, run_id: str, pull_steps: list[dict] | None,
              secrets: set[str] | None = None) -> None:
    """Run the deployment's pull steps here, in the run's infrastructure, before the flow is
    loaded: they put the code in place (a clone, a download) and move into its directory.
    Their variables and blocks are read now, so a changed one reaches the next run, and a
    block's secret is in the clear only here, where it is used (and added to `secrets`, which
    the run's logs mask)."""
    if not pull_steps:
        return
    from ..steps.runner import run_pull_steps
    from ..blocks import ServerBlocks
    from ..variables import ServerVariables

    log.info("flow run %s: running %d pull step(s)", run_id, len(pull_steps))
    run_pull_steps(pull_steps, variables=ServerVariables(client), blocks=ServerBlocks(client, secrets))


class Stopped(BaseException):
    """The worker asked this run to stop (cancel or timeout); not a failure of the flow."""


_session = None  # the running flow's session, told of a stop before it unwinds


def _stop_on_sigterm(_signum, _frame) -> None:
    if _session is not None:
        _session.request_cancel()  # the runs being unwound end CANCELLED, not CRASHED
    raise Stopped()


def storable_result(result: Any) -> tuple[Any, bool]:
    """A JSON-serializable result as itself; anything else as its repr, truncated."""
    try:
        json.dumps(result, allow_nan=False)
        return result, False
    except (TypeError, ValueError):
        return repr(result)[:RESULT_REPR_LIMIT], True


def exit_process(code: int) -> None:
    """End the run's process as soon as its flow's threads and exit handlers are done. The
    final state is reported: tearing down the interpreter's objects one by one (a tenth of
    a second) would only keep the worker's slot busy."""
    import atexit
    import threading

    for thread in threading.enumerate():  # what interpreter shutdown would wait for
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001  (the flow's own exit handlers still run)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


def _die_with_parent() -> None:
    """Die with the worker that launched this process, even if it is SIGKILLed."""
    set_parent_death_signal()
    expected_parent = os.environ.get("FLOWPOOL_SUPERVISOR_PID")
    if expected_parent and os.getppid() != int(expected_parent):
        os._exit(1)  # the worker died before we asked
