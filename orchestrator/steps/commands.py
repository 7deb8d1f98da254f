"""Run one command for a step: capture stdout and stderr, optionally echo them as they come.

Echoed lines go to this process's stdout/stderr, which the engine ships to the run's logs.
Every line is redacted before it is echoed or kept, so a secret never reaches a log.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Mapping

from .errors import StepFailed
from .redaction import redact


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


def run_command(args: list[str], *, cwd: str | Path | None = None,
                env: Mapping[str, str] | None = None, stream_output: bool = False,
                secrets: Iterable[str | None] = ()) -> CommandResult:
    """Run `args` (no shell) to completion; a missing program raises StepFailed."""
    secrets = list(secrets)
    if cwd is not None and not Path(cwd).is_dir():
        raise StepFailed(f"directory {cwd} does not exist")
    try:
        popen = subprocess.Popen(args, cwd=cwd, env=dict(env) if env is not None else None,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise StepFailed(f"command not found: {args[0]}") from None
    out: list[str] = []
    err: list[str] = []
    readers = [_reader(popen.stdout, out, sys.stdout if stream_output else None, secrets),
               _reader(popen.stderr, err, sys.stderr if stream_output else None, secrets)]
    returncode = popen.wait()
    for reader in readers:
        reader.join()
    return CommandResult(returncode, "".join(out).strip(), "".join(err).strip())


def _reader(pipe: IO[bytes], kept: list[str], echo: IO[str] | None,
            secrets: list[str | None]) -> threading.Thread:
    def read() -> None:
        for raw in pipe:
            line = redact(raw.decode(errors="replace"), secrets)
            kept.append(line)
            if echo is not None:
                echo.write(line)
                echo.flush()
        pipe.close()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def tail(text: str, lines: int = 20) -> str:
    """The last lines of a command's output, for an error message."""
    return "\n".join(text.splitlines()[-lines:])
