"""One real flowpool (server with an API key, bundled-binary Redis, a process worker) and one
headless Debian Chromium driven by Playwright, shared by the browser tests of a module.

Chromium comes from the system's package archive (see chromium.py); where it cannot be had,
or the playwright package is missing, every browser test is reported skipped with the reason.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from devstack import LocalStack

from .chromium import ensure_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
API_KEY = "browser-s3cret"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]
FLOWS = '''
import time
from enum import Enum
from orchestrator import flow


class Mode(str, Enum):
    FULL = "full"
    INCREMENTAL = "incremental"


@flow
def report(source: str = "crm", batches: int = 3, dry_run: bool = False,
           mode: Mode = Mode.FULL, tables: list[str] = []) -> dict:
    """Report on a source, a batch at a time."""
    print(f"starting {source} in {mode.value} mode")
    for i in range(batches):
        time.sleep(1.0)
        print(f"batch {i + 1} of {batches} done")
    return {"source": source, "batches": batches, "tables": tables}


@flow
def sleeper(seconds: float = 600.0):
    print("going to sleep")
    time.sleep(seconds)
'''


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    path, reason = ensure_chromium()
    if path is None:
        pytest.skip(f"no Chromium for the browser tests: {reason}")
    return path


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory, chromium_path) -> LocalStack:
    """A server with its own Redis: the scheduler leader of another server on a shared one
    (the session's stack, in the same test process) would never dispatch this one's runs."""
    home = tmp_path_factory.mktemp("browser-home")
    stack = LocalStack(home, extra_env={"FLOWPOOL_API_KEY": API_KEY})
    stack.start_redis()
    stack.start_server()
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOWS)
    stack.cli("work-pool", "create", "browser-pool", "--type", "process", check=True)
    stack.start_worker("browser-pool", "--limit", "4")
    for entrypoint, name, *extra in (("flows.py:report", "daily"),
                                     ("flows.py:sleeper", "long"),
                                     ("flows.py:sleeper", "hourly", "--interval", "3600")):
        stack.cli("deploy", entrypoint, "--name", name, "--pool", "browser-pool", *extra,
                  cwd=project, check=True)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path,
                                              args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base_url(ui_stack) -> str:
    return f"http://127.0.0.1:{ui_stack.api_port}"


@pytest.fixture(scope="module")
def page(browser, base_url):
    """A page signed in with the key, through the login form, once for the module."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    signed_in = context.new_page()
    signed_in.on("dialog", lambda dialog: dialog.accept())  # "Cancel this run?" -> yes
    signed_in.goto("/ui/")
    signed_in.fill("#key", API_KEY)
    signed_in.click("button:has-text('Sign in')")
    signed_in.wait_for_url("**/ui/")
    yield signed_in
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
