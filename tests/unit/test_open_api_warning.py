"""`flowpool server start --host X` without an API key warns when X is reachable from other
machines."""
import logging

import pytest

from orchestrator.server import is_loopback, warn_if_open


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]",
                                  "localhost", "LOCALHOST"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "fe80::1",
                                  "example.com", "myhost", "128.0.0.1"])
def test_hosts_other_machines_may_reach(host):
    assert not is_loopback(host)


def test_an_open_host_without_a_key_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        warn_if_open("0.0.0.0", None)
    assert "without an API key" in caplog.text and "FLOWPOOL_API_KEY" in caplog.text


@pytest.mark.parametrize("host, key", [("0.0.0.0", "s3cret"), ("127.0.0.1", None),
                                       ("localhost", None)])
def test_no_warning_with_a_key_or_on_loopback(caplog, host, key):
    with caplog.at_level(logging.WARNING):
        warn_if_open(host, key)
    assert caplog.text == ""
