"""State hooks of tasks and flows: each runs once; a failing hook is logged, not raised."""
import pytest

from orchestrator import flow, task
from orchestrator.sdk.run_session import RunSession


def test_task_hooks_run_once_for_the_final_state(reporter):
    seen = []

    @task(on_completion=[lambda t, run, state: seen.append(("done", t.name, state.name))],
          on_failure=lambda t, run, state: seen.append(("failed", run.name, state.message)))
    def maybe(fail: bool) -> None:
        if fail:
            raise ValueError("no")

    @task(retries=2, on_failure=[lambda t, run, state: seen.append(("retried", run.attempt))])
    def always_fails() -> None:
        raise RuntimeError("still no")

    @flow
    def hooked() -> None:
        maybe(False)
        maybe(True, return_state=True)
        always_fails(return_state=True)

    hooked()
    assert seen[0] == ("done", "maybe", "Completed")
    assert seen[1][0] == "failed" and seen[1][2] == "ValueError: no"
    assert seen[2:] == [("retried", 3)]  # after the last attempt only


def test_flow_hooks_get_the_flow_its_run_and_the_state(reporter):
    seen = []

    def note(flow_, flow_run, state):
        seen.append((flow_.name, flow_run.name, state.name))

    @flow(flow_run_name="run-{x}", on_completion=[note], on_failure=[note], on_running=[note])
    def observed(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    observed(1)
    with pytest.raises(ValueError):
        observed(-1)
    assert seen == [("observed", "run-1", "Running"), ("observed", "run-1", "Completed"),
                    ("observed", "run--1", "Running"), ("observed", "run--1", "Failed")]


def test_a_failing_hook_is_logged_and_the_other_hooks_still_run(reporter):
    seen = []

    def broken(*_):
        raise RuntimeError("hook bug")

    @flow(on_completion=[broken, lambda *_: seen.append("second hook")])
    def finishes() -> str:
        return "result"

    assert finishes() == "result"
    assert seen == ["second hook"]
    assert reporter.root_runs()[0].state_type == "COMPLETED"
    failure = next(m for m in reporter.log_messages() if m.startswith("Hook 'broken' failed"))
    assert "RuntimeError: hook bug" in failure


def test_an_async_hook_is_run_to_its_end(reporter):
    import asyncio

    seen = []

    async def note(flow_, flow_run, state):
        await asyncio.sleep(0)
        seen.append(state.name)

    @flow(on_completion=[note])
    def sync_flow() -> None:
        pass

    @flow(on_completion=[note])
    async def async_flow() -> None:
        pass

    sync_flow()
    asyncio.run(async_flow())
    assert seen == ["Completed", "Completed"]


class Stop(BaseException):
    """Stands for the engine's stop signal."""


def test_on_crashed_and_on_cancellation_run_when_a_base_exception_goes_through(tmp_path):
    from .conftest import make_reporter

    seen = []

    @flow(on_crashed=[lambda f, r, s: seen.append(s.name)],
          on_cancellation=[lambda f, r, s: seen.append(s.name)])
    def stopped() -> None:
        raise Stop()

    from orchestrator.sdk.flow_engine import run_flow

    reporter = make_reporter(tmp_path)
    with pytest.raises(Stop):
        run_flow(stopped, {}, reporter=reporter)
    session = RunSession(reporter)
    session.request_cancel()
    with pytest.raises(Stop):
        run_flow(stopped, {}, session=session)
    assert seen == ["Crashed", "Cancelled"]
