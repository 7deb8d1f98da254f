"""The web UI and /metrics over HTTP against a real server, a real worker and real Redis:
every page answers, user text stays text, forms refuse cross-site posts, the login cookie
opens the UI and nothing else, and the metrics move when runs complete."""
from __future__ import annotations

import json
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack import LocalStack, wait_for
from orchestrator.models.automations import AutomationCreate
from orchestrator.models.events import EventCreate

pytestmark = pytest.mark.integration

HELLO = "from orchestrator import flow\n\n@flow\ndef hello(n: int = 1):\n    print('hello', n)\n    return n\n"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def base_url(stack) -> str:
    return f"http://127.0.0.1:{stack.api_port}"


def deploy_hello(stack, pool, project, name="ui"):
    (project / "flows.py").write_text(HELLO)
    stack.cli("deploy", "flows.py:hello", "--name", name, "--pool", pool, cwd=project, check=True)


def trigger(stack, deployment, *args) -> dict:
    result = stack.cli("deployment", "run", deployment, *args, "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def scrape(http: httpx.Client, **headers) -> dict[str, dict[tuple, float]]:
    """name -> {labels as a sorted tuple: value} of every sample of /metrics."""
    answer = http.get("/metrics", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_every_page_answers_and_user_text_stays_text(stack, process_pool, tmp_path):
    pool = process_pool()
    deploy_hello(stack, pool, tmp_path)
    run = httpx.post(f"{stack.api_url}/deployments/name/hello/ui/runs",
                     json={"name": "<script>alert('owned')</script>"}).json()
    pages = ["/ui/", "/ui/runs", f"/ui/runs/{run['id']}", "/ui/deployments",
             "/ui/deployments/hello/ui", "/ui/work-pools", f"/ui/work-pools/{pool}",
             "/ui/variables", f"/ui/runs?state=SCHEDULED&state=COMPLETED&pool={pool}&window=24h",
             "/ui/blocks", "/ui/events", "/ui/events?name=flowpool.", "/ui/automations"]
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        answers = {page: http.get(page) for page in pages}
        home = http.get("/", follow_redirects=False)
        missing = http.get("/ui/runs/does-not-exist")
        bad_filter = http.get("/ui/runs?state=NOPE")
        document = http.get("/openapi.json").json()

    assert {p: a.status_code for p, a in answers.items()} == {p: 200 for p in pages}
    assert home.status_code == 307 and home.headers["location"] == "/ui/"
    run_page = answers[f"/ui/runs/{run['id']}"].text
    assert "<script>alert" not in run_page and "&lt;script&gt;alert(&#39;owned&#39;)" in run_page
    assert "<script>alert" not in answers["/ui/runs"].text
    assert answers["/ui/"].headers["content-security-policy"].startswith("default-src 'self'")
    assert missing.status_code == 404 and "does not exist" in missing.text
    assert bad_filter.status_code == 422 and "unknown state" in bad_filter.text
    assert not [p for p in document["paths"] if p.startswith("/ui") or p in ("/", "/metrics")]


def test_forms_want_the_page_s_token_and_refuse_other_sites(stack, process_pool, tmp_path):
    pool = process_pool()
    deploy_hello(stack, pool, tmp_path, "csrf")
    run = httpx.post(f"{stack.api_url}/deployments/name/hello/csrf/runs",
                     json={"scheduled_time": "2099-01-01T00:00:00Z"}).json()  # waits: cancellable
    cancel = f"/ui/runs/{run['id']}/cancel"
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        no_token = http.post(cancel, data={})
        page = http.get(f"/ui/runs/{run['id']}")
        token = CSRF.search(page.text).group(1)
        wrong = http.post(cancel, data={"csrf_token": "x" * len(token)})
        cross = http.post(cancel, data={"csrf_token": token},
                          headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        jar = http.cookies.get("flowpool_csrf")
        still = stack.client().read_flow_run(run["id"])
        done = http.post(cancel, data={"csrf_token": token}, follow_redirects=False)

    assert jar == token  # the token each form repeats is the cookie's
    assert "httponly" in no_token.headers["set-cookie"].lower()
    assert "samesite=strict" in no_token.headers["set-cookie"].lower()
    assert {no_token.status_code, wrong.status_code, cross.status_code} == {403}
    assert still.state_type.value == "SCHEDULED"
    assert done.status_code == 303 and done.headers["location"] == f"/ui/runs/{run['id']}"
    assert stack.client().read_flow_run(run["id"]).state_type.value == "CANCELLED"


def test_metrics_move_when_runs_complete(stack, process_pool, tmp_path):
    pool = process_pool()
    deploy_hello(stack, pool, tmp_path, "metrics")
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        before = scrape(http)
        runs = [trigger(stack, "hello/metrics", "-p", f"n={i}") for i in range(3)]
        client = stack.client()
        wait_for(lambda: all(client.read_flow_run(r["id"]).state_type.value == "COMPLETED"
                             for r in runs), 60, "three runs to complete")
        after = scrape(http)

    completed = dict(work_pool=pool, state="COMPLETED")
    assert value(after, "flowpool_flow_runs", **completed) == 3
    assert value(before, "flowpool_flow_runs", **completed) == 0
    assert value(after, "flowpool_flow_runs_finished_total", **completed) == 3
    assert value(after, "flowpool_flow_run_duration_seconds_count", **completed) == 3
    assert value(after, "flowpool_flow_run_start_delay_seconds_count", work_pool=pool) == 3
    assert value(after, "flowpool_flow_run_start_delay_seconds_bucket", work_pool=pool,
                 le="+Inf") == 3
    assert value(after, "flowpool_workers_online", work_pool=pool) == 1
    assert value(after, "flowpool_work_queue_depth", work_pool=pool, work_queue="default") == 0
    assert value(after, "flowpool_work_queue_slots_in_use", work_pool=pool,
                 work_queue="default") == 0
    assert value(after, "flowpool_late_runs", work_pool=pool) == 0
    assert value(after, "flowpool_broker_up") == 1 and value(after, "flowpool_scheduler_leader") == 1
    assert value(after, "flowpool_scheduler_ticks_total") > value(before, "flowpool_scheduler_ticks_total")
    assert value(after, "flowpool_http_requests_total", method="GET", route="/metrics",
                 status="200") >= 1


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, redis_server):
    local = LocalStack(tmp_path_factory.mktemp("keyed-ui"), redis_url=redis_server.url,
                       extra_env={"FLOWPOOL_API_KEY": "ui-s3cret"})
    local.start_server()
    yield local
    local.stop()


def test_the_key_signs_in_once_and_the_cookie_opens_the_ui_only(keyed):
    with httpx.Client(base_url=base_url(keyed), timeout=10) as http:
        asked = http.get("/ui/runs?state=FAILED", follow_redirects=False)
        home = http.get("/", follow_redirects=False)
        login = http.get(asked.headers["location"])
        token = CSRF.search(login.text).group(1)
        css = http.get("/ui/static/app.css")
        wrong = http.post("/ui/login", data={"csrf_token": token, "key": "guess",
                                             "next": "/ui/runs"})
        evil_next = http.post("/ui/login", data={"csrf_token": token, "key": "ui-s3cret",
                                                 "next": "//evil.example/"},
                              follow_redirects=False)
        http.cookies.clear()
        http.get("/ui/login")
        token = http.cookies["flowpool_csrf"]
        signed = http.post("/ui/login", data={"csrf_token": token, "key": "ui-s3cret",
                                              "next": "/ui/runs?state=FAILED"},
                           follow_redirects=False)
        page = http.get("/ui/runs?state=FAILED")
        api = http.get("/api/work_pools")
        metrics = http.get("/metrics")
        docs = http.get("/docs")
        scraped = http.get("/metrics", headers={"Authorization": "Bearer ui-s3cret"})
        out = http.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
        http.cookies.delete("flowpool_session")
        after = http.get("/ui/", follow_redirects=False)

    assert asked.status_code == 303
    assert asked.headers["location"] == "/ui/login?next=%2Fui%2Fruns%3Fstate%3DFAILED"
    assert home.status_code == 303 and login.status_code == 200 and css.status_code == 200
    assert wrong.status_code == 401 and "not the server" in wrong.text
    assert evil_next.headers["location"] == "/ui/"
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/runs?state=FAILED"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "ui-s3cret" not in cookie
    assert page.status_code == 200 and "Sign out" in page.text
    assert (api.status_code, metrics.status_code, docs.status_code) == (401, 401, 401)
    assert scraped.status_code == 200 and "flowpool_flow_runs" in scraped.text
    assert out.status_code == 303 and after.status_code == 303


def test_pool_and_queue_forms_change_what_the_api_shows(stack, process_pool):
    pool = process_pool()
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        token = CSRF.search(http.get(f"/ui/work-pools/{pool}").text).group(1)
        steps = [http.post(f"/ui/work-pools/{pool}/{path}", data={"csrf_token": token, **extra})
                 for path, extra in (("queues/default/pause", {}), ("limit", {"limit": "3"}),
                                     ("pause", {}))]
        paused = stack.client().read_work_pool(pool)
        queues = stack.client().list_work_queues(pool)
        bad = http.post(f"/ui/work-pools/{pool}/limit", data={"csrf_token": token, "limit": "-1"})
        for path in ("queues/default/resume", "resume"):
            http.post(f"/ui/work-pools/{pool}/{path}", data={"csrf_token": token})
        http.post(f"/ui/work-pools/{pool}/limit", data={"csrf_token": token, "limit": ""})
        resumed = stack.client().read_work_pool(pool)
        page = http.get(f"/ui/work-pools/{pool}").text

    assert [s.status_code for s in steps] == [303, 303, 303]  # each back to the pool page
    assert paused.paused and paused.concurrency_limit == 3 and queues[0].paused
    assert bad.status_code == 422 and "whole number" in bad.text
    assert not resumed.paused and resumed.concurrency_limit is None
    assert "ONLINE" in page and "Pause pool" in page


def test_blocks_page_masks_secrets_and_deletes(stack, unique_name):
    secret, plain = unique_name("ui-secret"), unique_name("ui-json")
    client = stack.client()
    client.create_block("secret", secret, {"value": "hunter2-very-secret"})
    client.create_block("json", plain, {"value": {"shown": "<b>plain</b>"}})
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        page = http.get("/ui/blocks")
        token = CSRF.search(page.text).group(1)
        deleted = http.post(f"/ui/blocks/json/{plain}/delete", data={"csrf_token": token})
        forged = http.post(f"/ui/blocks/secret/{secret}/delete", data={"csrf_token": "nope"})
        missing = http.post(f"/ui/blocks/json/{plain}/delete", data={"csrf_token": token})
        after = http.get("/ui/blocks").text

    assert page.status_code == 200
    assert secret in page.text and plain in page.text and "********" in page.text
    assert "hunter2" not in page.text and "hunter2" not in after
    assert "<b>plain</b>" not in page.text and "&lt;b&gt;plain&lt;/b&gt;" in page.text
    assert deleted.status_code == 303 and forged.status_code == 403
    assert missing.status_code == 404 and "does not exist" in missing.text
    assert plain not in after and secret in after
    assert [b.name for b in client.list_blocks("json") if b.name == plain] == []


def test_event_feed_lists_events_newest_first_as_text(stack, unique_name):
    kind = unique_name("uitest").replace("-", ".")
    client = stack.client()
    for n in range(2):
        client.emit_event(EventCreate(
            event=f"{kind}.happened{n}",
            resource={"flowpool.resource.id": f"my.thing.<script>x{n}</script>"},
            related=[{"flowpool.resource.id": "my.table.orders",
                      "flowpool.resource.role": "table"}],
            payload={"note": "<script>alert(1)</script>", "api_token": "tok-zz-secret"}))
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        feed = http.get("/ui/events", params={"name": kind})
        other = http.get("/ui/events", params={"name": "no.such.event"})
        bad_page = http.get("/ui/events", params={"before": "yesterday"})
        long_name = http.get("/ui/events", params={"name": "x" * 500})
        older = http.get("/ui/events", params={"name": kind, "before": "1"})

    assert feed.status_code == 200
    text = feed.text
    assert f"{kind}.happened0" in text and f"{kind}.happened1" in text
    assert text.index(f"{kind}.happened1") < text.index(f"{kind}.happened0")  # newest first
    assert "<script>" not in text.split("</header>", 1)[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "my.table.orders" in text
    assert "tok-zz-secret" not in text
    assert other.status_code == 200 and kind not in other.text
    assert bad_page.status_code == 422 and "whole number" in bad_page.text
    assert long_name.status_code == 422 and "text/html" in long_name.headers["content-type"]
    assert older.status_code == 200 and f"{kind}.happened" not in older.text


def test_event_feed_pages_back_with_the_older_link(stack, unique_name):
    kind = unique_name("uipaging").replace("-", ".")
    client = stack.client()
    for n in range(101):
        client.emit_event(EventCreate(event=f"{kind}.e{n:03d}",
                                      resource={"flowpool.resource.id": "my.thing"}))
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        first = http.get("/ui/events", params={"name": kind}).text
        link = re.search(r'href="(/ui/events\?before=[^"]+)"', first).group(1)
        second = http.get(link.replace("&amp;", "&")).text

    assert f"{kind}.e100" in first and f"{kind}.e001" in first and f"{kind}.e000" not in first
    assert f"{kind}.e000" in second and f"{kind}.e001" not in second
    assert 'rel="next"' not in second


def test_automations_page_lists_and_pauses_and_resumes(stack, process_pool, tmp_path,
                                                        unique_name):
    name = unique_name("<i>ui-automation</i>")
    deploy_hello(stack, process_pool(), tmp_path, "automated")
    client = stack.client()
    deployment = client.read_deployment("hello/automated")
    created = client.create_automation(AutomationCreate.model_validate({
        "name": name, "deployment_id": deployment.id,
        "trigger": {"expect": ["my.table.loaded"], "posture": "Reactive", "threshold": 2,
                    "within": 60, "match": {"flowpool.resource.id": "my.table.*"}},
        "actions": [{"type": "pause-work-pool", "work_pool": "somewhere"},
                    {"type": "call-webhook", "url": "https://hooks.example.com/s3cr3t-path"}]}))
    with httpx.Client(base_url=base_url(stack), timeout=10) as http:
        page = http.get("/ui/automations")
        token = CSRF.search(page.text).group(1)
        paused = http.post(f"/ui/automations/{created.id}/pause", data={"csrf_token": token})
        after_pause = client.read_automation(created.id)["enabled"]
        paused_page = http.get("/ui/automations").text
        resumed = http.post(f"/ui/automations/{created.id}/resume", data={"csrf_token": token})
        after_resume = client.read_automation(created.id)["enabled"]
        bad = http.post(f"/ui/automations/{created.id}/explode", data={"csrf_token": token})
        forged = http.post(f"/ui/automations/{created.id}/pause", data={"csrf_token": "nope"})
    client.delete_automation(created.id)

    assert page.status_code == 200
    assert "&lt;i&gt;ui-automation" in page.text and "<i>ui-automation" not in page.text
    assert "my.table.loaded" in page.text and "Reactive" in page.text
    assert "pause-work-pool" in page.text and "call-webhook" in page.text
    assert "s3cr3t" not in page.text
    assert 'href="/ui/deployments/hello/automated"' in page.text
    assert paused.status_code == 303 and after_pause is False
    assert f"/ui/automations/{created.id}/resume" in paused_page
    assert resumed.status_code == 303 and after_resume is True
    assert bad.status_code == 422 and forged.status_code == 403
