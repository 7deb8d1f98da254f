"""Over real HTTP, to the server subprocess: out-of-range input is answered (422, 413, 405)
on the same kept-alive connection, which the next good request still uses."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

TOO_LARGE = json.dumps({"value": "x" * (2 * 1024 * 1024)})  # over the default 1 MiB
BAD_REQUESTS = [
    ("POST", "/work_pools/{pool}/queues", json.dumps({"name": "q", "priority": 2 ** 63}), 422,
     "priority"),
    ("PATCH", "/work_pools/{pool}", json.dumps({"paused": None}), 422, "paused"),
    ("PATCH", "/work_pools/{pool}", json.dumps({"concurrency_limit": True}), 422,
     "concurrency_limit"),
    ("GET", "/flow_runs?limit=" + "9" * 30, None, 422, "limit"),
    ("PUT", "/variables/v", '{"value": NaN}', 422, "value"),
    ("PUT", "/variables/v", TOO_LARGE, 413, "body"),
    ("DELETE", "/work_pools", None, 405, "method"),
]


def test_bad_input_is_answered_on_a_connection_that_stays_open(stack, process_pool):
    pool = process_pool(workers=0)
    url = urlsplit(stack.api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    answers, sockets = [], set()
    for method, path, body, _, _ in BAD_REQUESTS:
        connection.request(method, url.path + path.format(pool=pool), body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answers.append((response.status, json.loads(response.read())))
        sockets.add(id(connection.sock))  # None after a response that closed the connection

    connection.request("GET", f"{url.path}/work_pools/{pool}")
    good = connection.getresponse()
    good.read()
    sockets.add(id(connection.sock))
    connection.close()

    for (status, body), (method, path, _, expected, field) in zip(answers, BAD_REQUESTS):
        assert status == expected, (method, path, body)
        assert field in [e["field"] for e in body["errors"]], (method, path, body)
    assert good.status == 200
    assert len(sockets) == 1 and id(None) not in sockets
