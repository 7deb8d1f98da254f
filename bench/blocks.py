"""Blocks: what sealing secret fields costs, and block writes and reads (with their secrets)
over HTTP against a real server on SQLite. Prints JSON.

    python bench/blocks.py [--blocks 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack  # noqa: E402
from orchestrator.encryption import secret_box  # noqa: E402


def timed_ms(action, count: int) -> list[float]:
    spent = []
    for number in range(count):
        started = time.perf_counter()
        action(number)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def summary(spent: list[float]) -> dict[str, float]:
    ordered = sorted(spent)
    return {"median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=200)
    count = parser.parse_args().blocks
    with tempfile.TemporaryDirectory() as home:
        box = secret_box(Path(home) / "box", None)
        secret = {"aws_secret_access_key": "x" * 40, "aws_session_token": "y" * 400}
        token = box.seal(secret)
        figures = {"seal": summary(timed_ms(lambda _: box.seal(secret), count * 10)),
                   "open": summary(timed_ms(lambda _: box.open(token), count * 10))}
        stack = LocalStack(Path(home) / "stack")
        stack.start_redis()
        stack.start_server()
        try:
            with stack.client() as api:
                data = {"aws_access_key_id": "AKIA", **secret, "region_name": "eu-west-1"}
                figures["create_over_http"] = summary(timed_ms(
                    lambda n: api.create_block("aws-credentials", f"bench-{n}", data), count))
                figures["read_with_secrets_over_http"] = summary(timed_ms(
                    lambda n: api.read_block("aws-credentials", f"bench-{n}", True), count))
                figures["read_masked_over_http"] = summary(timed_ms(
                    lambda n: api.read_block("aws-credentials", f"bench-{n}"), count))
        finally:
            stack.stop()
    print(json.dumps({"blocks": count, **figures}, indent=2))


if __name__ == "__main__":
    main()
