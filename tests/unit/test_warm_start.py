"""When a process run may start warm, what the zygote's environment keeps, when the worker
may skip reading a run back, and the zygote's messages (over a real socket pair)."""
import os
import socket

from orchestrator.warm_protocol import receive_message, send_message
from workers.execution import reported_the_end
from workers.warm_start import cold_start_reason, zygote_environment


def test_a_plain_job_starts_warm():
    assert cold_start_reason({}, {"PATH": os.environ.get("PATH", "")}, "fork") is None


def test_spawn_starts_cold():
    assert cold_start_reason({}, {}, "spawn") == "FLOWPOOL_PROCESS_START=spawn"


def test_a_job_with_its_own_command_starts_cold():
    assert "command" in cold_start_reason({"command": "python -m mine"}, {}, "fork")


def test_interpreter_settings_the_worker_does_not_have_start_cold():
    reason = cold_start_reason({}, {"PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1"}, "fork")
    assert reason and "PYTHONHASHSEED" in reason and "PYTHONUNBUFFERED" not in reason


def test_the_zygote_gets_no_secret_of_the_worker():
    env = zygote_environment({"PATH": "/bin", "FLOWPOOL_API_KEY": "k", "FLOWPOOL_REDIS_URL": "r",
                              "GITHUB_TOKEN": "t", "MIRROR": "https://u:pw@example.com/x",
                              "FLOWPOOL_HOME": "/h"})
    assert env == {"PATH": "/bin", "FLOWPOOL_HOME": "/h"}


def test_the_worker_trusts_only_a_final_report_under_its_token():
    assert reported_the_end({"state": "COMPLETED", "token": "t"}, "t")
    assert reported_the_end({"state": "FAILED", "token": "t"}, "t")
    assert not reported_the_end({"state": "COMPLETED", "token": "other"}, "t")
    assert not reported_the_end({"state": "RUNNING", "token": "t"}, "t")
    assert not reported_the_end({"state": "CANCELLING", "token": "t"}, "t")
    assert not reported_the_end({"state": "NOPE", "token": "t"}, "t")
    assert not reported_the_end(None, "t")


def test_a_message_crosses_with_its_descriptors_whatever_its_size():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    big = {"env": {f"V{i}": "x" * 100 for i in range(3000)}}  # ~300 KB: many recv() calls
    try:
        import threading

        sender = threading.Thread(target=send_message, args=(ours, big, [write_end]))
        sender.start()
        message, fds = receive_message(theirs, max_fds=1)
        sender.join()
        assert message == big and len(fds) == 1
        os.write(fds[0], b"through")
        assert os.read(read_end, 7) == b"through"
        os.close(fds[0])
        ours.close()
        assert receive_message(theirs, max_fds=1) == (None, [])  # the peer is gone
    finally:
        for fd in (read_end, write_end):
            os.close(fd)
        theirs.close()


def test_a_bad_start_setting_stops_the_worker_naming_the_variable(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "FLOWPOOL_PROCESS_START": "vfork", "FLOWPOOL_HOME": str(tmp_path),
           "FLOWPOOL_API_URL": "http://127.0.0.1:9/api"}
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "worker", "start",
                           "--pool", "p"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FLOWPOOL_PROCESS_START: Input should be 'fork' or 'spawn'" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
