"""The web UI as a person uses it, in headless Chromium against a real server and worker:
sign in with the key, look at the dashboard, run a deployment through the custom-run form (a
bad value shows its error beside the field), watch the run complete with its logs arriving
live, cancel a long run, pause and resume a schedule. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import re

import pytest

from orchestrator.client import FlowpoolClient

from .conftest import API_KEY, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def state_badge(page):
    return page.locator("#run-state .badge").first


def test_the_key_is_asked_for_once(browser, base_url):
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/ui/deployments")
    assert "/ui/login" in page.url

    page.fill("#key", "not-the-key")
    page.click("button:has-text('Sign in')")
    refused = page.locator(".error").inner_text()
    page.fill("#key", API_KEY)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/ui/deployments")
    cookies = {c["name"]: c for c in context.cookies()}
    context.close()

    assert "not the server's API key" in refused
    assert cookies["flowpool_session"]["httpOnly"] and cookies["flowpool_session"]["sameSite"] == "Strict"
    assert API_KEY not in cookies["flowpool_session"]["value"]


def test_a_custom_run_shows_field_errors_then_completes_with_live_logs(page):
    page.goto("/ui/deployments/report/daily")
    page.click("summary:has-text('Custom run')")  # click 1
    page.fill("input[name='param.batches']", "three")
    page.fill("textarea[name='param.tables']", "[1, 2]")
    page.click("button:has-text('Start run')")  # click 2: refused, errors beside the fields
    batches_error = page.locator(".error[data-field='batches']").inner_text()
    tables_error = page.locator(".error[data-field='tables']").inner_text()
    screenshot(page, "custom-run-field-errors")

    page.fill("input[name='param.batches']", "3")
    page.fill("textarea[name='param.tables']", '["orders"]')
    page.select_option("select[name='param.mode']", label="incremental")
    page.click("button:has-text('Start run')")  # click 3: the run's page
    page.wait_for_url(re.compile(r".*/ui/runs/[0-9a-f-]+$"))
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    page.locator("#logs .l", has_text="batch 1 of 3 done").wait_for()
    first_seen_while = state_badge(page).inner_text()
    page.locator("#run-state .badge", has_text="Completed").wait_for(timeout=60_000)
    page.locator("#logs .l", has_text="batch 3 of 3 done").wait_for()
    same_document = page.evaluate("window.__sameDocument === true")
    result = page.locator("#run-live pre").inner_text()
    screenshot(page, "run-completed-with-live-logs")

    assert "enter a whole number" in batches_error
    assert "is not of type 'string'" in tables_error
    assert first_seen_while in ("Running", "Completed")
    assert same_document, "the logs and state arrived without reloading the page"
    assert '"source": "crm"' in result and '"orders"' in result
    assert "starting crm in incremental mode" in page.locator("#logs").inner_text()


def test_a_long_run_is_cancelled_from_its_page(page):
    page.goto("/ui/deployments/sleeper/long")
    page.click("button:has-text('Run')")
    page.wait_for_url(re.compile(r".*/ui/runs/[0-9a-f-]+$"))
    page.locator("#run-state .badge", has_text="Running").wait_for(timeout=60_000)
    page.locator("#logs .l", has_text="going to sleep").wait_for()
    page.click("button:has-text('Cancel')")  # confirmed in the dialog
    page.locator("#run-state .badge", has_text="Cancelled").wait_for(timeout=60_000)
    timeline = page.locator(".timeline").inner_text()
    screenshot(page, "run-cancelled")

    assert "Cancelling" in timeline and "cancelled by a user" in timeline


def test_a_schedule_is_paused_and_resumed(page, ui_stack):
    page.goto("/ui/deployments/sleeper/hourly")
    row = page.locator("tr[data-schedule]")
    assert row.locator(".badge").inner_text() == "Active"
    page.locator("tr[data-schedule] button:has-text('Pause')").click()
    row.locator(".badge", has_text="Paused").wait_for()
    client = FlowpoolClient(ui_stack.api_url, api_key=API_KEY)
    paused = client.read_deployment("sleeper/hourly")
    upcoming_while_paused = page.locator("section:has(h2:has-text('Upcoming runs')) table.runs").count()

    page.locator("tr[data-schedule] button:has-text('Resume')").click()
    row.locator(".badge", has_text="Active").wait_for()
    resumed = client.read_deployment("sleeper/hourly")
    client.close()

    assert [s.active for s in paused.schedules] == [False]
    assert upcoming_while_paused == 0
    assert [s.active for s in resumed.schedules] == [True]


def test_the_dashboard_shows_runs_health_and_pools(page):
    page.goto("/ui/")
    page.locator("svg.chart rect").first.wait_for()
    tiles = page.locator(".health").inner_text()
    latest = page.locator("table.runs").last.inner_text()
    screenshot(page, "dashboard")

    assert "answers" in tiles and "leader" in tiles
    assert "Completed" in latest and "Cancelled" in latest
    assert "0 of 1" in tiles  # the pool has its worker online
