"""What is shown as `********`, what is restored when sent back, what a deploy warns about."""
from __future__ import annotations

from datetime import datetime, timezone

from orchestrator.masking import (MASK, literal_secrets, mask_secrets, mask_text, redact,
                                  restore_masked, secret_values)
from orchestrator.models import ClaimedRun
from workers.infrastructure import inherited_environment, referenced_environment

PULL = [{"prefect.deployments.steps.git_clone": {
    "repository": "https://x-access-token:ghp_abc123@github.com/acme/flows.git",
    "access_token": "ghp_abc123", "branch": "main"}}]
JOB_VARIABLES = {"env": {"GITHUB_TOKEN": "ghp_abc123", "DB_PASSWORD": "{{ $DB_PASSWORD }}",
                         "LOG_LEVEL": "DEBUG", "AWS_SECRET_ACCESS_KEY": "wJalr"}}


def test_secret_named_values_and_url_credentials_are_masked():
    assert mask_secrets(PULL) == [{"prefect.deployments.steps.git_clone": {
        "repository": f"https://x-access-token:{MASK}@github.com/acme/flows.git",
        "access_token": MASK, "branch": "main"}}]
    assert mask_secrets(JOB_VARIABLES)["env"] == {
        "GITHUB_TOKEN": MASK, "DB_PASSWORD": "{{ $DB_PASSWORD }}", "LOG_LEVEL": "DEBUG",
        "AWS_SECRET_ACCESS_KEY": MASK}


def test_a_lone_token_as_url_user_is_masked_and_plain_urls_are_untouched():
    assert mask_text("clone https://ghp_tok@github.com/a/b") == f"clone https://{MASK}@github.com/a/b"
    assert mask_text("see https://github.com/a/b and git@github.com:a/b") == \
        "see https://github.com/a/b and git@github.com:a/b"
    assert mask_text("redis://:pw@127.0.0.1:6379/0") == f"redis://:{MASK}@127.0.0.1:6379/0"


def test_values_sent_back_masked_keep_the_stored_secret():
    stored = {"pull": PULL, "env": JOB_VARIABLES["env"]}
    shown = mask_secrets(stored)
    edited = {**shown, "env": {**shown["env"], "LOG_LEVEL": "INFO"}}

    restored = restore_masked(edited, stored)

    assert restored["pull"] == PULL
    assert restored["env"] == {**JOB_VARIABLES["env"], "LOG_LEVEL": "INFO"}
    assert restore_masked({"TOKEN": "new-token"}, {"TOKEN": "old"}) == {"TOKEN": "new-token"}
    assert restore_masked({"TOKEN": MASK}, {}) == {"TOKEN": MASK}  # nothing to restore from


def test_deploy_warns_about_literal_secrets_only():
    assert sorted(literal_secrets({"job_variables": JOB_VARIABLES, "pull": PULL})) == [
        "job_variables.env.AWS_SECRET_ACCESS_KEY", "job_variables.env.GITHUB_TOKEN",
        "pull[0].prefect.deployments.steps.git_clone.access_token",
        "pull[0].prefect.deployments.steps.git_clone.repository"]


def test_log_lines_lose_known_secret_values():
    secrets = set(secret_values([PULL, JOB_VARIABLES]))
    assert secrets == {"ghp_abc123", "wJalr"}
    line = "token ghp_abc123 and key wJalr at https://u:pw@host/x"
    assert redact(line, secrets) == f"token {MASK} and key {MASK} at https://u:{MASK}@host/x"
    assert redact("a b c", {"a"}) == "a b c"  # too short to mask without eating words


def claimed_with(pull_steps: list) -> ClaimedRun:
    now = datetime.now(timezone.utc)
    return ClaimedRun.model_validate({
        "flow_run": {"id": "r1", "name": "r", "flow_name": "f", "deployment_id": "d1",
                     "work_pool_name": "p", "work_queue_name": "default", "state_type": "RUNNING",
                     "state_name": "Running", "state_changed": now, "scheduled_time": now,
                     "created": now, "updated": now},
        "deployment": {"id": "d1", "flow_name": "f", "name": "d", "entrypoint": "flows.py:f",
                       "work_pool_name": "p", "work_queue_name": "default",
                       "pull_steps": pull_steps, "created": now, "updated": now},
        "work_pool": {"id": "p1", "name": "p", "type": "process", "base_job_template": {},
                      "created": now, "updated": now}})


def test_flow_processes_do_not_inherit_the_worker_s_secrets():
    environ = {"PATH": "/bin", "HOME": "/root", "FLOWPOOL_API_KEY": "k",
               "FLOWPOOL_REDIS_URL": "redis://:pw@h:1/0", "FLOWPOOL_HTTP_TIMEOUT_S": "9",
               "GITHUB_TOKEN": "ghp", "AWS_SECRET_ACCESS_KEY": "s", "PROXY": "http://u:p@proxy",
               "DEPLOY_TOKEN": "needed"}
    claimed = claimed_with(pull_steps=[{"git_clone": {"access_token": "{{ $DEPLOY_TOKEN }}"}}])

    assert inherited_environment(environ, claimed) == {
        "PATH": "/bin", "HOME": "/root", "FLOWPOOL_HTTP_TIMEOUT_S": "9", "DEPLOY_TOKEN": "needed"}
    assert referenced_environment(["{{ $A }}/{{ B }}", {"k": "{{$C}}"}]) == {"A", "C"}
