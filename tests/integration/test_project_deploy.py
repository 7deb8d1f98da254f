"""`flowpool deploy` from project files, end to end: the real CLI as a subprocess, a real
server, a real Celery worker, real git repositories reached by file:// URLs, and a real
subprocess per run that executes the pull steps before it loads the flow."""
from __future__ import annotations

import json
import os
import textwrap

import pytest

from .projects import GitRepository, git, is_registered, run_deployment, run_logs, write_files

pytestmark = pytest.mark.integration

VERSIONED_FLOW = '''
import os
from orchestrator import flow

@flow
def which_version() -> dict:
    return {"version": "VERSION", "cwd": os.getcwd()}
'''

ECHO_FLOW = '''
from orchestrator import flow

@flow
def echo(message: str = "hi", times: int = 1) -> str:
    """Echo a message."""
    return message * times
'''


@pytest.fixture(scope="module")
def pool(stack):
    """One process pool with one worker for the whole module."""
    name = f"projects-{os.getpid()}"
    stack.cli("work-pool", "create", name, "--type", "process", check=True)
    stack.start_worker(name, "--limit", "4")
    return name


def project_file(text: str, **values: str) -> str:
    """A project file's text with `<pool>`-style fields filled in (YAML braces left alone)."""
    text = textwrap.dedent(text)
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    return text


def test_a_git_pull_step_runs_each_run_on_the_latest_commit_reusing_the_clone(
        stack, pool, tmp_path):
    repo = GitRepository(tmp_path)
    repo.commit({"flows.py": VERSIONED_FLOW.replace("VERSION", "v1")}, "v1")
    runs_dir = tmp_path / "runs"  # where the worker starts each run, away from the checkout
    runs_dir.mkdir()
    write_files(repo.work, {"flowpool.yaml": project_file("""
        pull:
        - flowpool.steps.git_clone:
            repository: <url>
            branch: main
        deployments:
        - name: from-git
          entrypoint: flows.py:which_version
          work_pool:
            name: <pool>
            job_variables:
              working_dir: <runs>
        """, url=repo.url, pool=pool, runs=str(runs_dir))})
    stack.cli("deploy", "--all", cwd=repo.work, check=True)

    first = run_deployment(stack, "which-version/from-git")
    clone = runs_dir / "flows-main"
    (clone / "left-by-the-first-run").write_text("a fresh clone would not have me")
    new_sha = repo.commit({"flows.py": VERSIONED_FLOW.replace("VERSION", "v2")}, "v2")
    second = run_deployment(stack, "which-version/from-git")

    assert first["state_type"] == "COMPLETED", first["state_message"]
    assert first["result"] == {"version": "v1", "cwd": str(clone)}
    assert second["state_type"] == "COMPLETED", second["state_message"]
    assert second["result"] == {"version": "v2", "cwd": str(clone)}
    assert (clone / "left-by-the-first-run").exists()  # the second run updated the same clone
    assert git("rev-parse", "HEAD", cwd=clone) == new_sha
    assert "running step pull[0] (git_clone)" in run_logs(stack, second["id"])


def test_a_dry_run_registers_nothing_and_deploy_all_registers_every_deployment(
        stack, pool, tmp_path, unique_name):
    first, second = unique_name("first"), unique_name("second")
    project = write_files(tmp_path / "project", {
        "flows.py": ECHO_FLOW, "flowpool.yaml": project_file("""
        deployments:
        - name: <first>
          entrypoint: flows.py:echo
          parameters: {times: 2}
          work_pool: {name: <pool>}
        - name: <second>
          entrypoint: flows.py:echo
          schedule: {cron: "0 9 * * 1-5", timezone: Europe/Paris}
          work_pool: {name: <pool>}
        """, first=first, second=second, pool=pool)})

    text = stack.cli("deploy", "--all", "--dry-run", cwd=project, check=True).stdout
    plan = json.loads(stack.cli("deploy", "--all", "--dry-run", "-o", "json", cwd=project,
                                check=True).stdout)
    registered_by_dry_runs = [is_registered(stack, f"echo/{n}") for n in (first, second)]
    stack.cli("deploy", "--all", cwd=project, check=True)

    assert "A dry run registers nothing" in text
    assert f"echo/{first}" in text and f"echo/{second}" in text
    assert "set_working_directory" in text  # no pull section: runs start where deploy ran
    assert [d["full_name"] for d in plan["deployments"]] == [f"echo/{first}", f"echo/{second}"]
    assert registered_by_dry_runs == [False, False]
    with stack.client() as api:
        deployed_first = api.read_deployment(f"echo/{first}")
        deployed_second = api.read_deployment(f"echo/{second}")
    assert deployed_first.parameters == {"times": 2}
    assert deployed_first.description == "Echo a message."
    assert deployed_first.pull_steps == [
        {"flowpool.steps.set_working_directory": {"directory": str(project)}}]
    assert [s.schedule.cron for s in deployed_second.schedules] == ["0 9 * * 1-5"]
    assert run_deployment(stack, f"echo/{first}", "-p", "message=ab")["result"] == "abab"


def test_deploy_by_name_with_flags_overrides_the_file_for_that_deployment(
        stack, pool, tmp_path, unique_name):
    name, other = unique_name("chosen"), unique_name("other")
    project = write_files(tmp_path / "project", {
        "flows.py": ECHO_FLOW, "flowpool.yaml": project_file("""
        deployments:
        - name: <name>
          entrypoint: flows.py:echo
          parameters: {message: file, times: 1}
          tags: [from-file]
          work_pool: {name: no-such-pool-in-the-file}
        - name: <other>
          entrypoint: flows.py:echo
          work_pool: {name: <pool>}
        """, name=name, other=other, pool=pool)})

    stack.cli("deploy", "--name", f"echo/{name[:-2]}*", "--pool", pool, "--param", "times=3",
              "--cron", "30 6 * * *", "--retries", "2", "--tag", "from-flag", cwd=project,
              check=True)

    with stack.client() as api:
        deployed = api.read_deployment(f"echo/{name}")
    assert deployed.work_pool_name == pool
    assert deployed.parameters == {"message": "file", "times": 3}
    assert deployed.tags == ["from-flag"]
    assert deployed.retries == 2
    assert [s.schedule.cron for s in deployed.schedules] == ["30 6 * * *"]
    assert not is_registered(stack, f"echo/{other}")


def test_a_prefect_yaml_is_accepted_unchanged(stack, pool, tmp_path, unique_name):
    name, variable = unique_name("legacy"), unique_name("legacy_dir").replace("-", "_")
    project = write_files(tmp_path / "legacy", {
        "flows.py": ECHO_FLOW, "prefect.yaml": project_file("""
        # Generated by `prefect init`, then `prefect deploy`
        name: legacy
        prefect-version: 2.14.20

        build: null
        push: null
        pull:
        - prefect.deployments.steps.set_working_directory:
            directory: '{{ prefect.variables.<variable> }}'

        definitions:
          work_pools:
            here: &here
              name: <pool>
              work_queue_name: null
              job_variables: {}

        deployments:
        - name: <name>
          version: null
          tags: []
          description: null
          entrypoint: flows.py:echo
          parameters: {message: prefect}
          work_pool: *here
          schedule: null
        """, name=name, variable=variable, pool=pool)})
    stack.cli("variable", "set", variable, str(project), check=True)

    stack.cli("deploy", "--name", name, cwd=project, check=True)
    run = run_deployment(stack, f"echo/{name}")

    assert run["state_type"] == "COMPLETED", run["state_message"]
    assert run["result"] == "prefect"


def test_a_failing_pull_step_fails_the_run_with_its_message_in_the_logs(
        stack, pool, tmp_path, unique_name):
    name = unique_name("no-code")
    missing = tmp_path / "not-there"
    project = write_files(tmp_path / "project", {
        "flows.py": ECHO_FLOW, "flowpool.yaml": project_file("""
        deployments:
        - name: <name>
          entrypoint: flows.py:echo
          work_pool: {name: <pool>}
          pull:
          - flowpool.steps.set_working_directory:
              directory: <missing>
        """, name=name, pool=pool, missing=str(missing))})
    stack.cli("deploy", "--all", cwd=project, check=True)

    run = run_deployment(stack, f"echo/{name}")

    assert run["state_type"] == "FAILED"
    assert "step pull[0] (set_working_directory) failed" in run["state_message"]
    assert f"{missing} does not exist here" in run["state_message"]
    assert f"{missing} does not exist here" in run_logs(stack, run["id"])


def test_a_failing_build_step_registers_none_of_the_deployments(
        stack, pool, tmp_path, unique_name):
    fine, broken = unique_name("fine"), unique_name("broken")
    project = write_files(tmp_path / "project", {
        "flows.py": ECHO_FLOW, "flowpool.yaml": project_file("""
        deployments:
        - name: <fine>
          entrypoint: flows.py:echo
          work_pool: {name: <pool>}
        - name: <broken>
          entrypoint: flows.py:echo
          work_pool: {name: <pool>}
          build:
          - flowpool.steps.run_shell_script:
              script: sh -c "echo the build broke >&2; exit 3"
        """, fine=fine, broken=broken, pool=pool)})

    result = stack.cli("deploy", "--all", cwd=project)

    assert result.returncode == 1
    assert "step deployments[1].build[0] (run_shell_script) failed" in result.stderr
    assert "the build broke" in result.stderr
    assert not is_registered(stack, f"echo/{fine}")
    assert not is_registered(stack, f"echo/{broken}")


BAD_INPUT = {
    "malformed YAML": (
        "deployments:\n- name: NAME\n  entrypoint: flows.py:echo\n   work_pool: {name: POOL}\n",
        ["flowpool.yaml is not valid YAML: line 4"]),
    "an unknown step": (
        "build:\n- my_company.steps.make_wheel: {}\ndeployments:\n- name: NAME\n"
        "  entrypoint: flows.py:echo\n  work_pool: {name: POOL}\n",
        ["build[0]: step my_company.steps.make_wheel is not built in and cannot be imported",
         "(line 2)"]),
    "a reference to a missing step id": (
        "build:\n- flowpool.steps.run_shell_script:\n    id: make\n    script: 'true'\n"
        "pull:\n- flowpool.steps.set_working_directory:\n    directory: '{{ maek.directory }}'\n"
        "deployments:\n- name: NAME\n  entrypoint: flows.py:echo\n  work_pool: {name: POOL}\n",
        ["pull[0].directory: {{ maek.directory }}: no step has id 'maek'; did you mean make?",
         "(line 7)"]),
    "a missing entrypoint file": (
        "deployments:\n- name: NAME\n  entrypoint: nowhere.py:echo\n  work_pool: {name: POOL}\n",
        ["deployments[0].entrypoint: entrypoint file nowhere.py does not exist", "(line 3)"]),
    "a function that is not there": (
        "deployments:\n- name: NAME\n  entrypoint: flows.py:ehco\n  work_pool: {name: POOL}\n",
        ["deployments[0].entrypoint: flows.py has no function 'ehco'", "(line 3)"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_with_a_clear_error_and_nothing_registered(
        stack, pool, tmp_path, unique_name, case):
    name = unique_name("bad")
    text, expected = BAD_INPUT[case]
    project = write_files(tmp_path / "project", {
        "flows.py": ECHO_FLOW,
        "flowpool.yaml": text.replace("NAME", name).replace("POOL", pool)})

    result = stack.cli("deploy", "--all", cwd=project)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    for part in expected:
        assert part in result.stderr
    assert "Traceback" not in result.stderr
    assert not is_registered(stack, f"echo/{name}")


def test_init_writes_a_git_recipe_in_a_checkout_and_deploy_plans_with_it(stack, tmp_path):
    repo = GitRepository(tmp_path)
    repo.commit({"flows.py": ECHO_FLOW})

    recipes = stack.cli("init", "--list", check=True).stdout
    written = stack.cli("init", cwd=repo.work, check=True).stdout
    again = stack.cli("init", cwd=repo.work)
    (repo.work / "flowpool.yaml").write_text((repo.work / "flowpool.yaml").read_text().replace(
        "deployments: []", "deployments:\n- {name: n, entrypoint: flows.py:echo, "
                           "work_pool: {name: p}}"))
    plan = json.loads(stack.cli("deploy", "--all", "--dry-run", "-o", "json", cwd=repo.work,
                                check=True).stdout)

    assert [line.split()[0] for line in recipes.splitlines()] == [
        "NAME", "local", "git", "docker", "docker-git", "storage"]
    assert "from the git recipe" in written
    assert again.returncode == 1 and "flowpool.yaml exists already" in again.stderr
    assert plan["deployments"][0]["steps"]["pull"] == [
        {"flowpool.steps.git_clone": {"repository": repo.url, "branch": "main"}}]

