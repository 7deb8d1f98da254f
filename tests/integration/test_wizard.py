"""The deploy wizard, driven through a real terminal (a pseudo-terminal, with pexpect)
against a real server: answers in, a flowpool.yaml and a registered deployment out; and
`--no-prompt` (or no terminal at all) never asks."""
from __future__ import annotations

import json

import pexpect
import pytest

from devstack import flowpool_command

from ..prefect_tutorial import tutorial_files
from .projects import GitRepository, is_registered, write_files

pytestmark = pytest.mark.integration

FLOW = '''
from orchestrator import flow

@flow
def get_repo_info(repo: str = "flowpool") -> str:
    return repo
'''
ANSWER_TIMEOUT_S = 30


def terminal(stack, cwd, *args: str) -> pexpect.spawn:
    """`flowpool ARGS` on a pseudo-terminal of its own, as a person would run it."""
    command, *rest = flowpool_command()
    child = pexpect.spawn(command, [*rest, *args], cwd=str(cwd), env=stack.env(),
                          encoding="utf-8", timeout=ANSWER_TIMEOUT_S, dimensions=(50, 200))
    return child


def answer(child: pexpect.spawn, question: str, reply: str) -> None:
    child.expect_exact(question)
    child.sendline(reply)


def finished(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    return child.exitstatus, output


def test_the_wizard_asks_what_is_missing_saves_flowpool_yaml_and_registers(
        stack, tmp_path, unique_name):
    repo = GitRepository(tmp_path, name="repo-info")
    repo.commit({"flows.py": FLOW})
    name, pool = unique_name("wizard"), unique_name("wizard-pool")
    stack.cli("work-pool", "create", unique_name("listed"), "--type", "process", check=True)

    child = terminal(stack, repo.work, "deploy", "flows.py:get_repo_info")
    answer(child, "Deployment name [default]:", name)
    answer(child, "Schedule (none, cron, interval, rrule) [none]:", "cron")
    answer(child, "Cron expression", "0 7 * * 1-5")
    answer(child, "Time zone (IANA name) [UTC]:", "Europe/Paris")
    child.expect_exact("create a new work pool")
    answer(child, "Which work pool? (number or name)", "new")  # not a choice: asked again
    child.expect(r"give a number from 1 to (\d+)")
    create_new = child.match.group(1)  # the last choice: create a new work pool
    answer(child, "Which work pool? (number or name)", create_new)
    answer(child, "New work pool name:", pool)
    answer(child, "Work pool type (process, docker, kubernetes) [process]:", "")
    answer(child, "Pull your code from the git remote when a run starts?", "y")
    answer(child, "Save these answers into flowpool.yaml once the deploy succeeds? [Y/n]:", "y")
    status, output = finished(child)

    assert status == 0, output
    assert f"Deployment 'get-repo-info/{name}' registered on work pool '{pool}'" in output
    saved = (repo.work / "flowpool.yaml").read_text()
    for line in (f"- name: {name}", "  entrypoint: flows.py:get_repo_info",
                 "  - cron: 0 7 * * 1-5", "    timezone: Europe/Paris",
                 f"    name: {pool}", "  - flowpool.steps.git_clone:",
                 f"      repository: {repo.url}", "      branch: main"):
        assert line in saved.splitlines()
    with stack.client() as api:
        deployed = api.read_deployment(f"get-repo-info/{name}")
        assert api.read_work_pool(pool).type == "process"
    assert deployed.work_pool_name == pool
    assert deployed.pull_steps == [{"flowpool.steps.git_clone": {
        "repository": repo.url, "branch": "main"}}]
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployed.schedules] == [
        ("0 7 * * 1-5", "Europe/Paris")]
    assert stack.cli("deploy", "--all", "--no-prompt", cwd=repo.work).returncode == 0  # saved whole


def test_the_wizard_adds_to_a_file_from_init_keeping_its_comments(
        stack, tmp_path, unique_name):
    project = write_files(tmp_path / "plain", {"flows.py": FLOW})  # not a git checkout
    stack.cli("init", "--recipe", "local", cwd=project, check=True)
    comments = [line for line in (project / "flowpool.yaml").read_text().splitlines()
                if line.startswith("#")]
    pool = unique_name("existing-pool")
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    name = unique_name("from-init")

    child = terminal(stack, project, "deploy", "flows.py:get_repo_info")
    answer(child, "Deployment name [default]:", name)
    answer(child, "Schedule (none, cron, interval, rrule) [none]:", "")
    answer(child, "Which work pool? (number or name)", pool)
    answer(child, "Save these answers into flowpool.yaml once the deploy succeeds? [Y/n]:", "y")
    status, output = finished(child)

    assert status == 0, output
    assert "Pull your code from the git remote" not in output  # no git remote to pull from
    saved = (project / "flowpool.yaml").read_text()
    assert [line for line in saved.splitlines() if line.startswith("#")] == comments
    assert f"- name: {name}" in saved.splitlines()
    with stack.client() as api:
        deployed = api.read_deployment(f"get-repo-info/{name}")
    assert deployed.pull_steps == [{"flowpool.steps.set_working_directory": {
        "directory": str(project)}}]  # the local recipe's pull section


@pytest.mark.parametrize("on_a_terminal", [True, False], ids=["terminal", "no terminal"])
def test_no_prompt_and_no_terminal_never_ask_and_name_what_is_missing(
        stack, tmp_path, unique_name, on_a_terminal):
    project = write_files(tmp_path / "ci", {"flows.py": FLOW})

    if on_a_terminal:
        status, output = finished(terminal(stack, project, "deploy", "flows.py:get_repo_info",
                                           "--no-prompt"))
    else:
        result = stack.cli("deploy", "flows.py:get_repo_info", cwd=project)
        status, output = result.returncode, result.stderr

    assert status == 1
    assert "Deployment name" not in output
    assert "deployment.name: required: name the deployment (--name NAME" in output
    assert "deployment.work_pool.name: required: the work pool its runs go to (--pool NAME" \
        in output
    assert not (project / "flowpool.yaml").exists()
    assert not is_registered(stack, "get-repo-info/default")


def test_the_tutorial_s_n_means_no_schedule_and_a_deploy_that_fails_saves_nothing(
        stack, tmp_path, unique_name):
    project = write_files(tmp_path / "failing", {"flows.py": FLOW, "flowpool.yaml": """
        build:
        - flowpool.steps.run_shell_script:
            script: exit 3
        pull:
        - flowpool.steps.set_working_directory:
            directory: .
        deployments: []
        """})
    before = (project / "flowpool.yaml").read_text()
    pool = unique_name("tutorial-pool")
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)

    child = terminal(stack, project, "deploy", "flows.py:get_repo_info")
    answer(child, "Deployment name [default]:", unique_name("no-schedule"))
    answer(child, "Schedule (none, cron, interval, rrule) [none]:", "n")
    answer(child, "Which work pool? (number or name)", pool)
    answer(child, "Save these answers into flowpool.yaml once the deploy succeeds?", "y")
    status, output = finished(child)

    assert status == 1 and "step build[0] (run_shell_script) failed" in output, output
    assert "Cron expression" not in output  # n: no schedule, nothing more asked
    assert (project / "flowpool.yaml").read_text() == before


def test_y_for_a_schedule_asks_which_kind(stack, tmp_path, unique_name):
    project = write_files(tmp_path / "scheduled", {"flows.py": FLOW})
    pool = unique_name("scheduled-pool")
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    name = unique_name("scheduled")

    child = terminal(stack, project, "deploy", "flows.py:get_repo_info", "--pool", pool)
    answer(child, "Deployment name [default]:", name)
    answer(child, "Schedule (none, cron, interval, rrule) [none]:", "y")
    answer(child, "Which kind of schedule (cron, interval, rrule) [cron]:", "interval")
    answer(child, "Interval", "3600")
    answer(child, "Time zone (IANA name) [UTC]:", "")
    answer(child, "Save these answers into flowpool.yaml once the deploy succeeds?", "y")
    status, output = finished(child)

    assert status == 0, output
    assert f"Saved deployment {name!r} into flowpool.yaml." in output
    with stack.client() as api:
        assert api.read_deployment(f"get-repo-info/{name}").schedules[0].schedule.interval_s \
            == 3600


@pytest.mark.parametrize("args, files, message", [
    (("flows.py:no_such_function",), {}, "no_such_function"),
    (("flows.py:get_repo_info", "--job-variable", "gpus=2"), {},
     "job_variables.gpus: unknown job variable"),
], ids=["flow does not load", "job variable the pool does not take"])
def test_what_fails_without_an_answer_fails_before_the_first_question_and_any_build(
        stack, tmp_path, unique_name, args, files, message):
    pool = unique_name("checked-pool")
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    project = write_files(tmp_path / "checked", {"flows.py": FLOW, "flowpool.yaml": """
        build:
        - flowpool.steps.run_shell_script:
            script: touch built
        deployments: []
        """})

    status, output = finished(terminal(stack, project, "deploy", *args, "--pool", pool))

    assert status == 1 and message in output, output
    assert "Deployment name" not in output
    assert not (project / "built").exists()


def test_the_docker_recipe_asks_for_the_image_name_and_tag(stack, tmp_path):
    project = write_files(tmp_path / "dockerized", {"flows.py": FLOW})

    child = terminal(stack, project, "project", "init", "--recipe", "docker")
    answer(child, "Image name", "ghcr.io/me/flows")
    answer(child, "Tag", "dev")
    status, output = finished(child)

    assert status == 0, output
    written = (project / "flowpool.yaml").read_text()
    assert "image_name: ghcr.io/me/flows" in written and "tag: dev" in written


def test_the_tutorial_s_two_files_deploy_and_run_as_prefect_2_10_wrote_them(
        stack, process_pool, tmp_path, unique_name):
    pool, name = process_pool(), unique_name("my-first-deployment")
    project = tmp_path / "tutorial"
    write_files(project, tutorial_files(project))

    stack.cli("deploy", "./api_flow.py:call_api", "--name", name, "--pool", pool, cwd=project,
              check=True)
    ran = stack.cli("deployment", "run", f"call-api/{name}", "--watch", "--timeout", "60",
                    "--output", "json")

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"] == "http://time.jsontest.com/"
