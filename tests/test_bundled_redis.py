"""The bundled Redis on the real binary: locked with a password kept 0600 and reused across
restarts, CONFIG/DEBUG/MODULE gone even for a client with the password, loopback only, nothing
secret on its command line; restarted by its keeper when it dies; and the cached probe behind
/api/health."""
from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest
import redis as redis_lib

from devstack import wait_for
from orchestrator.broker import BrokerProbe, redis_client
from orchestrator.embedded_redis import (CONFIG_FILE, PASSWORD_FILE, EmbeddedRedis, RedisKeeper,
                                         free_port)


@pytest.fixture
def bundled(tmp_path):
    server = EmbeddedRedis(tmp_path / "home" / "redis", free_port()).start()
    yield server
    server.stop()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def test_it_refuses_clients_without_the_password(bundled):
    address = f"{bundled.host}:{bundled.port}/0"
    anonymous = redis_client(f"redis://{address}", 2, retries=0)

    for command in (("PING",), ("SET", "k", "v"), ("KEYS", "*"), ("FLUSHALL",)):
        with pytest.raises(redis_lib.AuthenticationError):
            anonymous.execute_command(*command)
    with pytest.raises(redis_lib.AuthenticationError):
        redis_client(f"redis://:guess@{address}", 2, retries=0).ping()
    assert redis_lib.Redis.from_url(bundled.url).ping()


def test_config_debug_and_module_are_gone_even_with_the_password(bundled):
    client = redis_lib.Redis.from_url(bundled.url)

    for command in (("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "GET", "dir"),
                    ("DEBUG", "SLEEP", "0"), ("MODULE", "LIST")):
        with pytest.raises(redis_lib.ResponseError, match="unknown command"):
            client.execute_command(*command)


def test_its_secrets_are_private_and_stay_off_the_command_line(bundled):
    password_file = bundled.data_dir / PASSWORD_FILE

    assert mode(password_file) == 0o600 and mode(bundled.data_dir / CONFIG_FILE) == 0o600
    assert mode(bundled.data_dir) == 0o700
    assert password_file.read_text().strip() == bundled.password and len(bundled.password) >= 32
    command_line = Path(f"/proc/{bundled.process.pid}/cmdline").read_bytes()
    assert bundled.password.encode() not in command_line
    assert listening_addresses(bundled.port) == {"0100007F"}  # 127.0.0.1 only


def test_a_restart_keeps_the_password_so_clients_keep_working(bundled):
    client = redis_lib.Redis.from_url(bundled.url)
    client.set("survives", "yes")
    url, data_dir, port = bundled.url, bundled.data_dir, bundled.port
    (data_dir / PASSWORD_FILE).chmod(0o644)  # loosened by hand: tightened again at start

    bundled.stop()
    again = EmbeddedRedis(data_dir, port).start()
    try:
        assert again.url == url
        assert client.get("survives") == b"yes"  # the same client, reconnected
        assert mode(data_dir / PASSWORD_FILE) == 0o600
    finally:
        again.stop()


def test_a_password_with_any_characters_is_quoted_in_the_config_and_the_url(tmp_path):
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    (data_dir / PASSWORD_FILE).write_text('p@ss:w/rd "quoted" %20\\ #x\n')
    server = EmbeddedRedis(data_dir, free_port()).start()
    try:
        assert server.password == 'p@ss:w/rd "quoted" %20\\ #x'
        assert redis_lib.Redis.from_url(server.url).ping()
        assert redis_lib.Redis(host=server.host, port=server.port, password=server.password).ping()
    finally:
        server.stop()


def test_the_keeper_restarts_a_killed_redis_with_the_same_port_password_and_data(bundled):
    client = redis_lib.Redis.from_url(bundled.url)
    client.set("queued", "message")
    keeper = RedisKeeper(bundled)
    keeper.start()
    try:
        first = bundled.process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: bundled.process and bundled.process.pid != first
                 and bundled.process.poll() is None, 15, "the keeper to restart Redis")
        assert wait_for(lambda: _get(client, "queued"), 10, "the restarted Redis") == b"message"
    finally:
        keeper.stop()
    assert bundled.process is None  # stopped for good, not restarted again
    keeper.join(timeout=5)
    assert not keeper.is_alive()


def _get(client, key):
    try:
        return client.get(key)
    except redis_lib.RedisError:
        return None


def test_the_probe_remembers_its_answer_briefly(bundled):
    now = [100.0]
    probe = BrokerProbe(bundled.url, remember_s=1.0, clock=lambda: now[0])

    assert probe.up()
    bundled.stop()
    assert probe.up()  # remembered: a health check polled often costs Redis nothing
    now[0] += 1.0
    assert not probe.up()
    probe.close()


def test_the_probe_says_down_at_once_when_nothing_listens():
    probe = BrokerProbe(f"redis://:pw@127.0.0.1:{free_port()}/0")
    assert not probe.up()
    probe.close()
