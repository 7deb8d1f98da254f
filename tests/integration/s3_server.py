"""A real S3-compatible HTTP server for the tests: moto's standalone server (the `moto[server]`
package) as a subprocess on a free loopback port. MinIO is what the corpus files talk to;
moto speaks the same S3 API over HTTP, and installs from PyPI with the test extra."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from devstack import wait_for
from orchestrator.embedded_redis import free_port

READY_TIMEOUT_S = 60
REGION = "us-east-1"


class LocalS3:
    """`python -m moto.server` on 127.0.0.1; its output goes to `log_path`."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.log_path = directory / "s3-server.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LocalS3":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(self._answers, READY_TIMEOUT_S, f"the S3 server on {self.url}")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the S3 server exited with {self.process.returncode}:\n"
                               + self.log_path.read_text(errors="replace")[-3000:])
        try:
            return httpx.get(self.url, timeout=2).status_code == 200  # ListBuckets
        except httpx.TransportError:
            return False

    def client(self, key: str, secret: str):
        """A boto3 S3 client of this server, with the given credentials."""
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
