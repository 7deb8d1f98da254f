"""A run credential opens only the routes through which its own run reports."""
from __future__ import annotations

from orchestrator.api.run_credentials import issue, permits

KEY = "the-api-key"
RUN = "8c6f9a2e-1111-4222-8333-444455556666"


def test_a_run_credential_opens_its_own_run_s_reporting_routes():
    credential = issue(KEY, RUN)
    for method, path in [("GET", f"/api/flow_runs/{RUN}"), ("GET", f"/api/flow_runs/{RUN}/launch"),
                         ("POST", f"/api/flow_runs/{RUN}/state"),
                         ("POST", f"/api/flow_runs/{RUN}/logs"),
                         ("POST", f"/api/flow_runs/{RUN}/logs/dropped"),
                         ("GET", "/api/variables/x")]:
        assert permits(KEY, credential, method, path), (method, path)


def test_a_run_credential_opens_what_its_flow_code_needs():
    """Reports of its tasks and child runs, its slots, variables read and written, blocks read
    and saved, the task cache."""
    credential = issue(KEY, RUN)
    for method, path in [("POST", f"/api/flow_runs/{RUN}/reports"),
                         ("POST", f"/api/flow_runs/{RUN}/slots"),
                         ("POST", f"/api/flow_runs/{RUN}/slots/renew"),
                         ("POST", f"/api/flow_runs/{RUN}/slots/release"),
                         ("POST", "/api/variables"), ("PUT", "/api/variables/x"),
                         ("DELETE", "/api/variables/x"),
                         ("GET", "/api/blocks/secret/x"), ("POST", "/api/blocks"),
                         ("PUT", "/api/blocks/secret/x"),
                         ("GET", "/api/task_cache/abc"), ("PUT", "/api/task_cache/abc")]:
        assert permits(KEY, credential, method, path), (method, path)


def test_a_run_credential_opens_nothing_else():
    credential = issue(KEY, RUN)
    other = "0c6f9a2e-1111-4222-8333-444455556666"
    for method, path in [("GET", f"/api/flow_runs/{other}"), ("POST", f"/api/flow_runs/{other}/state"),
                         ("POST", f"/api/flow_runs/{other}/logs/dropped"),
                         ("POST", f"/api/flow_runs/{RUN}/claim"), ("POST", f"/api/flow_runs/{RUN}/cancel"),
                         ("GET", "/api/flow_runs"), ("PATCH", "/api/work_pools/p"),
                         ("GET", "/api/work_pools"), ("GET", "/api/variables"),
                         ("DELETE", f"/api/flow_runs/{RUN}"), ("GET", "/openapi.json"),
                         ("POST", f"/api/flow_runs/{other}/reports"),
                         ("POST", f"/api/flow_runs/{other}/slots"),
                         ("POST", f"/api/flow_runs/{other}/slots/release"),
                         ("GET", f"/api/flow_runs/{RUN}/task_runs"),
                         ("GET", "/api/concurrency_limits"),
                         ("POST", "/api/concurrency_limits"),
                         ("DELETE", "/api/concurrency_limits/gpu"),
                         ("DELETE", "/api/task_cache/abc"), ("GET", "/api/task_cache"),
                         ("GET", "/api/blocks"), ("DELETE", "/api/blocks/secret/x"),
                         ("GET", "/api/block-types")]:
        assert not permits(KEY, credential, method, path), (method, path)


def test_forged_or_foreign_credentials_are_refused():
    path = f"/api/flow_runs/{RUN}"
    assert not permits(KEY, issue("another-key", RUN), "GET", path)
    assert not permits(KEY, issue(KEY, RUN)[:-2], "GET", path)
    assert not permits(KEY, f"run.{RUN}.", "GET", path)
    assert not permits(KEY, KEY, "GET", path)  # the key itself is checked elsewhere
