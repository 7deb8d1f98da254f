"""The git_clone step, against real repositories: a bare remote and a working clone."""
from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from orchestrator.deploy import Selection, load_project, plan_deploy, prepare_registration
from orchestrator.steps import StepFailed, git_clone
from orchestrator.steps import git as git_module
from orchestrator.steps.git import git_auth

from .conftest import git

FLOW_V1 = """
    from orchestrator import flow

    @flow
    def hello():
        return "v1"
"""
PROJECT_FILE = """
    name: hello
    pull:
      - flowpool.steps.git_clone:
          id: clone
          repository: {url}
          branch: main
      - flowpool.steps.set_working_directory:
          directory: "{{{{ clone.directory }}}}"
    deployments:
      - name: hello-from-git
        entrypoint: flows/hello.py:hello
        work_pool:
          name: process-pool
"""
# What the engine does at the start of a run, in the run's own process: the pull steps, then
# the entrypoint, loaded from wherever the pull steps left the working directory.
START_OF_RUN = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from orchestrator.entrypoints import load_flow
    from orchestrator.deploy import run_pull_steps

    run_pull_steps(json.loads(sys.argv[1]))
    flow = load_flow(sys.argv[2], Path.cwd())
    print(json.dumps({"result": flow.fn(), "cwd": str(Path.cwd())}))
""")


def start_run(pull_steps: list, entrypoint: str, where: Path) -> dict:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-c", START_OF_RUN, json.dumps(pull_steps),
                             entrypoint], cwd=where, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_run_clones_the_latest_commit_and_reuses_its_clone(git_remote, tmp_path):
    git_remote.commit({"flows/hello.py": FLOW_V1,
                       "flowpool.yaml": PROJECT_FILE.format(url=git_remote.url)})
    plan = plan_deploy(load_project(git_remote.work), Selection(all=True))
    registration = prepare_registration(plan.deployments[0])
    pull_steps = registration.deployment.pull_steps
    assert pull_steps[1] == {"flowpool.steps.set_working_directory":
                             {"directory": "{{ clone.directory }}"}}  # filled in at run time

    worker = tmp_path / "worker"
    first = start_run(pull_steps, registration.deployment.entrypoint, worker)
    assert first == {"result": "v1", "cwd": str(worker / "remote-main")}
    (worker / "remote-main" / "left-by-run-1").write_text("kept")

    git_remote.commit({"flows/hello.py": FLOW_V1.replace("v1", "v2")}, "second version")
    second = start_run(pull_steps, registration.deployment.entrypoint, worker)

    assert second == {"result": "v2", "cwd": str(worker / "remote-main")}
    assert (worker / "remote-main" / "left-by-run-1").read_text() == "kept"  # same clone


def test_a_run_starts_in_the_clone_when_git_clone_is_the_only_pull_step(git_remote, tmp_path):
    git_remote.commit({"flows/hello.py": FLOW_V1})
    pull_steps = [{"prefect.deployments.steps.git_clone": {"repository": git_remote.url}}]
    assert start_run(pull_steps, "flows/hello.py:hello", tmp_path / "worker") == {
        "result": "v1", "cwd": str(tmp_path / "worker" / "remote")}


def test_clone_outputs_its_directory_relative_to_the_working_directory(git_remote, in_directory,
                                                                       tmp_path):
    sha = git_remote.commit({"README.md": "hello"})
    in_directory(tmp_path / "run")
    outputs = git_clone(git_remote.url, clone_directory_name="code")
    assert outputs == {"directory": "code", "commit_sha": sha}
    assert (tmp_path / "run" / "code" / "README.md").read_text() == "hello"


def test_a_commit_sha_checks_out_that_commit_even_in_an_existing_clone(git_remote, in_directory,
                                                                       tmp_path):
    old = git_remote.commit({"version.txt": "old"})
    new = git_remote.commit({"version.txt": "new"})
    in_directory(tmp_path / "run")
    assert git_clone(git_remote.url, commit_sha=old)["commit_sha"] == old
    assert Path("remote/version.txt").read_text() == "old"
    assert git_clone(git_remote.url, commit_sha=new)["commit_sha"] == new
    assert Path("remote/version.txt").read_text() == "new"


def test_a_branch_is_cloned_into_a_directory_named_after_it(git_remote, in_directory, tmp_path):
    git_remote.commit({"which.txt": "main"})
    git_remote.commit({"which.txt": "feature"}, branch="feature/x")
    in_directory(tmp_path / "run")
    assert git_clone(git_remote.url, branch="feature/x")["directory"] == "remote-feature-x"
    assert Path("remote-feature-x/which.txt").read_text() == "feature"


def test_directories_limit_the_checkout_to_those_folders(git_remote, in_directory, tmp_path):
    git_remote.commit({"flows/a.py": "a", "docs/big.md": "big", "setup.cfg": "top"})
    in_directory(tmp_path / "run")
    directory = Path(git_clone(git_remote.url, directories=["flows"])["directory"])
    assert (directory / "flows" / "a.py").exists()
    assert not (directory / "docs").exists()


def test_an_existing_directory_that_is_not_that_clone_is_refused_and_kept(git_remote, tmp_path,
                                                                          in_directory):
    git_remote.commit({"README.md": "hello"})
    run = in_directory(tmp_path / "run")
    (run / "remote").mkdir()
    (run / "remote" / "notes.txt").write_text("mine")
    with pytest.raises(StepFailed, match="exists and is not a clone of"):
        git_clone(git_remote.url)
    assert (run / "remote" / "notes.txt").read_text() == "mine"

    other = tmp_path / "other.git"
    git("init", "--quiet", "--bare", str(other))
    git("clone", "--quiet", git_remote.url, str(run / "taken"))
    with pytest.raises(StepFailed, match="is a clone of .*remote.git, not of"):
        git_clone(other.as_uri(), clone_directory_name="taken")


def test_runs_that_clone_into_the_same_directory_at_once_all_get_the_code(git_remote,
                                                                          in_directory, tmp_path):
    sha = git_remote.commit({"README.md": "hello"})
    in_directory(tmp_path / "run")
    git_clone(git_remote.url)  # the clone earlier runs left
    git_remote.commit({"README.md": "hello again"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: git_clone(git_remote.url), range(4)))
    assert {r["commit_sha"] for r in results} == {git("rev-parse", "HEAD", cwd=git_remote.work)}
    assert sha not in {r["commit_sha"] for r in results}
    assert Path("remote/README.md").read_text() == "hello again"


def test_a_failed_clone_leaves_nothing_behind(in_directory, tmp_path):
    run = in_directory(tmp_path / "run")
    with pytest.raises(StepFailed, match="git clone of .*missing.git failed"):
        git_clone((tmp_path / "missing.git").as_uri())
    assert list(run.iterdir()) == []


def test_transient_failures_are_retried_and_the_token_never_shows(in_directory, tmp_path,
                                                                  monkeypatch, caplog):
    monkeypatch.setattr(git_module, "RETRY_DELAYS_S", (0, 0))
    in_directory(tmp_path / "run")
    token = "tok-VERY-SECRET-123"
    url = f"http://127.0.0.1:{_closed_port()}/org/repo.git"
    with caplog.at_level(logging.WARNING, logger="flowpool.steps"):
        with pytest.raises(StepFailed) as failure:
            git_clone(url, access_token=token)
    assert "attempt 1 of 3" in caplog.text and "attempt 2 of 3" in caplog.text
    assert token not in str(failure.value) and token not in caplog.text


def test_a_password_in_the_url_is_kept_out_of_messages(in_directory, tmp_path, monkeypatch):
    monkeypatch.setattr(git_module, "RETRY_DELAYS_S", ())
    in_directory(tmp_path / "run")
    with pytest.raises(StepFailed) as failure:
        git_clone(f"https://me:pa55word-XYZ@127.0.0.1:{_closed_port()}/repo.git")
    assert "pa55word-XYZ" not in str(failure.value)
    assert "https://127.0.0.1" in str(failure.value)


def test_a_token_goes_to_git_as_a_header_never_in_the_url():
    auth = git_auth("https://gitlab.example.com/g/p.git", None, {"token": "abc"})
    assert auth.url == "https://gitlab.example.com/g/p.git"
    assert auth.username == "oauth2"  # GitLab's user name for tokens
    header = auth.env()["GIT_CONFIG_VALUE_0"]
    assert header.startswith("Authorization: Basic ") and "abc" not in header
    from_url = git_auth("https://bob:xyz@github.com/o/r.git", None, None)
    assert (from_url.url, from_url.username, from_url.token) == (
        "https://github.com/o/r.git", "bob", "xyz")


def test_a_token_with_a_non_https_url_is_refused(git_remote):
    with pytest.raises(StepFailed, match="works with http\\(s\\) URLs only"):
        git_clone(git_remote.url, access_token="abc")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed
