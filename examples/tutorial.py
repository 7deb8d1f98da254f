"""The tutorial, end to end, on the embedded defaults (SQLite, the bundled Redis).

Starts the server, creates the work pool `tutorial-process-pool`, starts a worker for it,
deploys examples/repo_info.py:get_repo_info as `my-deployment`, triggers a run, streams its
logs, prints its final state and result, and stops what it started. Run it with `make demo`.

Ports: FLOWPOOL_API_URL's when set, else `--port N`, else 4300 when free, else any free
port; the bundled Redis gets one beside it. A port that was asked for and is taken ends the
demo with one line, and the demo never talks to a server it did not start.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devstack.py lives at the top of the repository

from config.settings import DEFAULT_API_PORT, get_settings  # noqa: E402
from devstack import LocalStack, flowpool_command  # noqa: E402
from orchestrator.embedded_redis import free_port, port_is_free  # noqa: E402

POOL = "tutorial-process-pool"


def say(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m", flush=True)


def flowpool(stack: LocalStack, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    print("$ flowpool " + " ".join(args), flush=True)
    result = stack.cli(*args, cwd=ROOT)
    print((result.stdout + result.stderr).rstrip(), flush=True)
    if check and result.returncode != 0:
        raise SystemExit(f"`flowpool {' '.join(args)}` failed")
    return result


class DemoError(Exception):
    """Why the demo cannot run, in one line."""


def chosen_api_port(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The flowpool tutorial, end to end.")
    parser.add_argument("--port", type=int, help="port of the demo's API server")
    port = parser.parse_args(argv).port
    if port is None and os.environ.get("FLOWPOOL_API_URL"):
        port = urlsplit(os.environ["FLOWPOOL_API_URL"]).port
        if port is None:
            raise DemoError("FLOWPOOL_API_URL names no port: give one, e.g."
                            " http://127.0.0.1:4300/api")
    if port is None:
        return DEFAULT_API_PORT if _both_free(DEFAULT_API_PORT) else free_port()
    if not port_is_free("127.0.0.1", port):
        raise DemoError(f"port {port} is taken: stop what listens there, or give the demo"
                        " another port (--port, or FLOWPOOL_API_URL)")
    return port


def _both_free(api_port: int) -> bool:
    """The API port and the one beside it, where the bundled Redis goes."""
    return port_is_free("127.0.0.1", api_port) and port_is_free("127.0.0.1", api_port + 1)


def redis_port_beside(api_port: int) -> int:
    return api_port + 1 if port_is_free("127.0.0.1", api_port + 1) else free_port()


def main(argv: list[str]) -> int:
    try:
        return run_demo(chosen_api_port(argv))
    except (DemoError, RuntimeError, TimeoutError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"demo failed: {first_line}", file=sys.stderr)
        return 1


def run_demo(api_port: int) -> int:
    settings = get_settings()
    stack = LocalStack(settings.home, api_port=api_port, extra_env={
        "FLOWPOOL_EMBEDDED_REDIS_PORT": str(redis_port_beside(api_port))})
    try:
        say(f"1. Start the server (API + scheduler + bundled Redis; state in {settings.home})")
        stack.start_server()
        print(f"server ready at {stack.api_url}")

        say("2. Create a process work pool")
        created = flowpool(stack, "work-pool", "create", POOL, "--type", "process", check=False)
        if created.returncode != 0 and "already exists" not in created.stderr:
            return 1

        say("3. Start a worker for it")
        stack.start_worker(POOL, "--limit", "2", name="tutorial-worker")
        print(f"worker ready (log: {stack.home / 'worker-tutorial-worker.log'})")

        say("4. Deploy the flow")
        flowpool(stack, "deploy", "examples/repo_info.py:get_repo_info", "--name", "my-deployment",
                 "--pool", POOL, "--param", f"repo_path={ROOT}")

        say("5. Trigger a run")
        run = json.loads(flowpool(stack, "deployment", "run", "get-repo-info/my-deployment",
                                  "--output", "json").stdout)

        say("6. Stream its logs until it ends")
        print(f"$ flowpool flow-run logs {run['id']} --follow", flush=True)
        subprocess.run([*flowpool_command(), "flow-run", "logs", run["id"], "--follow"],
                       env=stack.env(), check=True)

        say("7. Its final state and result")
        flowpool(stack, "flow-run", "inspect", run["id"])
        with stack.client() as api:
            final = api.read_flow_run(run["id"])
        print(f"\nfinal state: {final.state_name}\nresult: {json.dumps(final.result, indent=2)}")
        return 0 if final.state_type.value == "COMPLETED" else 1
    finally:
        say("8. Stop the worker and the server")
        stack.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
