"""The Prefect compatibility layer: `prefect` imports resolve to flowpool's SDK through an
import hook; what is not supported fails naming itself."""
import os
import subprocess
import sys
import textwrap

import pytest

import orchestrator
from orchestrator import compat
from orchestrator.errors import PrefectApiNotSupported, PrefectAttributeNotSupported

SUPPORTED_IMPORTS = [
    "from prefect import flow, task, get_run_logger, tags, unmapped, allow_failure, State",
    "from prefect.futures import wait, as_completed, PrefectFuture, PrefectFutureList",
    "from prefect.runtime import flow_run, task_run, deployment",
    "import prefect.runtime.flow_run",
    "from prefect.variables import Variable",
    "from prefect.artifacts import create_markdown_artifact, create_table_artifact, "
    "create_link_artifact, create_progress_artifact, update_progress_artifact",
    "from prefect.cache_policies import INPUTS, TASK_SOURCE, NO_CACHE, DEFAULT",
    "from prefect.tasks import task_input_hash, exponential_backoff",
    "from prefect.concurrency.sync import concurrency, rate_limit",
    "from prefect.concurrency.asyncio import concurrency, rate_limit",
    "from prefect.states import Completed, Failed, StateType",
    "from prefect.task_runners import ThreadPoolTaskRunner",
    "from prefect.logging import get_run_logger, get_logger, disable_run_logger",
    "from prefect.context import get_run_context",
    "from prefect.exceptions import MissingContextError, UpstreamTaskError",
    "from prefect.utilities.annotations import quote",
    "from prefect.client.schemas.objects import StateType",
    "from prefect.blocks.system import Secret, JSON",
    "from prefect.blocks.core import Block",
    "from prefect_aws import AwsCredentials, S3Bucket",
    "from prefect_aws.credentials import AwsCredentials",
    "from prefect_aws.s3 import S3Bucket",
    "from prefect_github import GitHubCredentials",
    "from prefect_docker import DockerRegistryCredentials",
]


@pytest.fixture
def hook():
    assert compat.install()
    yield
    compat.uninstall()


@pytest.mark.parametrize("statement", SUPPORTED_IMPORTS)
def test_supported_prefect_imports_resolve(hook, statement):
    exec(statement, {})


def test_prefect_names_are_flowpools_own(hook):
    import prefect
    from prefect import flow, task
    from prefect.concurrency.asyncio import rate_limit

    assert flow is orchestrator.flow and task is orchestrator.task
    from orchestrator.sdk.global_concurrency import rate_limit_async
    assert rate_limit is rate_limit_async
    assert prefect.__version__.startswith("3.")
    assert "flow" in dir(prefect) and "runtime" in dir(prefect)


@pytest.mark.parametrize("statement, name", [
    ("from prefect.blocks.notifications import SlackWebhook",
     "prefect.blocks.notifications.SlackWebhook"),
    ("from prefect.deployments import run_deployment", "prefect.deployments.run_deployment"),
    ("from prefect import serve", "prefect.serve"),
    ("from prefect.task_runners import ConcurrentTaskRunner",
     "prefect.task_runners.ConcurrentTaskRunner"),
    ("from prefect.runtime.flow_run import ui_url", "prefect.runtime.flow_run.ui_url"),
])
def test_unsupported_prefect_imports_fail_by_name(hook, statement, name):
    with pytest.raises(ImportError) as raised:
        exec(statement, {})
    assert isinstance(raised.value, PrefectApiNotSupported)
    assert str(raised.value) == f"{name} is not supported by flowpool"


@pytest.mark.parametrize("statement, name", [
    ("import prefect; prefect.pause_flow_run()", "prefect.pause_flow_run"),
    ("import prefect.blocks.system as system; system.String.load('x')",
     "prefect.blocks.system.String"),
    ("from prefect_aws import S3Bucket; S3Bucket(bucket_name='b').download_folder_to_path",
     "S3Bucket.download_folder_to_path"),
    ("from prefect import runtime; runtime.flow_run.ui_url", "prefect.runtime.flow_run.ui_url"),
])
def test_unsupported_prefect_names_fail_by_name(hook, statement, name):
    with pytest.raises(AttributeError) as raised:
        exec(statement, {})
    assert isinstance(raised.value, PrefectAttributeNotSupported)
    assert str(raised.value) == f"{name} is not supported by flowpool"


def test_feature_detection_on_prefect_modules_works(hook):
    import prefect

    assert getattr(prefect, "serve", None) is None and not hasattr(prefect, "get_client")
    assert hasattr(prefect, "flow")


def test_unsupported_flow_and_task_methods_fail_by_name(hook):
    from prefect import flow, task

    @flow
    def some_flow() -> None:
        pass

    with pytest.raises(PrefectApiNotSupported, match="Flow.serve is not supported by flowpool"):
        some_flow.serve(name="x")
    with pytest.raises(PrefectApiNotSupported, match="Task.delay is not supported"):
        task(lambda: None).delay()


def test_module_dunders_behave_as_on_any_module(hook):
    import prefect.blocks

    assert not hasattr(prefect.blocks, "__file__")
    assert prefect.blocks.__name__ == "prefect.blocks"


def test_runtime_modules_read_the_current_run(hook, reporter):
    from prefect import flow
    from prefect.runtime import flow_run

    @flow(flow_run_name="live")
    def reading() -> str:
        return flow_run.name

    assert reading() == "live" and flow_run.name is None


def test_install_is_idempotent_and_uninstall_forgets_prefect():
    compat.install()
    compat.install()
    assert sum(isinstance(f, compat.PrefectCompatFinder) for f in sys.meta_path) == 1
    import prefect  # noqa: F401

    compat.uninstall()
    assert "prefect" not in sys.modules and not compat.installed()


def run_python(code: str, env_extra: dict, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=60)


LOAD_FLOW = """
    from orchestrator.entrypoints import load_flow
    from orchestrator.errors import EntrypointError
    try:
        flow = load_flow("flows.py:hello")
        print("loaded", flow.fn(), type(flow).__module__)
    except EntrypointError as exc:
        print("refused", exc.message)
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "flows.py").write_text(textwrap.dedent("""
        from prefect import flow
        import prefect

        @flow
        def hello():
            return getattr(prefect, "REAL", "flowpool")
    """))
    fake = tmp_path / "site" / "prefect"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(textwrap.dedent("""
        REAL = "a real prefect"
        class _Flow:
            def __init__(self, fn): self.fn, self.name = fn, fn.__name__
        def flow(fn): return _Flow(fn)
    """))
    return tmp_path


def test_load_flow_installs_the_hook_so_prefect_code_loads(project):
    out = run_python(LOAD_FLOW, {"FLOWPOOL_PREFECT_COMPAT": "on"}, project)
    assert out.stdout.strip() == "loaded flowpool orchestrator.flows", out.stderr


def test_the_hook_shadows_a_real_prefect(project):
    out = run_python(LOAD_FLOW, {"PYTHONPATH": str(project / "site")}, project)
    assert out.stdout.strip() == "loaded flowpool orchestrator.flows", out.stderr


def test_compat_off_lets_a_real_prefect_load(project):
    out = run_python(LOAD_FLOW, {"FLOWPOOL_PREFECT_COMPAT": "off",
                                 "PYTHONPATH": str(project / "site")}, project)
    assert out.stdout.strip() == "loaded a real prefect orchestrator.flows", out.stderr


def test_compat_off_without_a_real_prefect_fails_to_import_it(project):
    out = run_python(LOAD_FLOW, {"FLOWPOOL_PREFECT_COMPAT": "off"}, project)
    assert "refused" in out.stdout and "No module named 'prefect'" in out.stdout, out.stderr
