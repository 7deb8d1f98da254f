"""Steps that run commands: `run_shell_script` and `pip_install_requirements`."""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any, Mapping

from .commands import run_command, tail
from .errors import StepFailed

ENV_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def run_shell_script(script: str, directory: str | None = None,
                     env: Mapping[str, Any] | None = None, stream_output: bool = True,
                     expand_env_vars: bool = False) -> dict[str, str]:
    """Run each non-empty line of `script` as a command (no shell); outputs `stdout`, `stderr`.

    Lines run in order in `directory` with `env` added to the environment; the first that
    fails stops the step. With `expand_env_vars`, `$NAME` and `${NAME}` are replaced first.
    Pipes and `&&` need an explicit shell: `bash -c "a | b"`.
    """
    full_env = {**os.environ, **{key: str(value) for key, value in (env or {}).items()}}
    stdout, stderr = [], []
    for line in (script or "").splitlines():
        if not line.strip():
            continue
        command = expand_variables(line, full_env) if expand_env_vars else line
        result = run_command(_split(command), cwd=directory, env=full_env,
                             stream_output=stream_output)
        stdout.append(result.stdout)
        stderr.append(result.stderr)
        if result.returncode != 0:
            output = tail(result.stderr or result.stdout) or "no output"
            raise StepFailed(f"run_shell_script: `{command}` exited with code "
                             f"{result.returncode}: {output}")
    return {"stdout": "\n".join(s for s in stdout if s),
            "stderr": "\n".join(s for s in stderr if s)}


def expand_variables(text: str, env: Mapping[str, str]) -> str:
    """`$NAME` / `${NAME}` replaced from `env`; unknown names are left as they are."""
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))
    return ENV_REFERENCE.sub(replace, text)


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise StepFailed(f"run_shell_script: cannot parse `{command}`: {exc}") from None


def pip_install_requirements(directory: str | None = None,
                             requirements_file: str = "requirements.txt",
                             stream_output: bool = True) -> dict[str, str]:
    """`pip install -r requirements_file` into the running interpreter; outputs `stdout`
    and `stderr`."""
    folder = Path(directory) if directory else Path.cwd()
    if not (folder / requirements_file).is_file():
        raise StepFailed(f"pip_install_requirements: {folder / requirements_file} does not exist; "
                         "set requirements_file (and directory) to the requirements to install")
    result = run_command([sys.executable, "-m", "pip", "install", "--no-input", "-r",
                          requirements_file], cwd=folder, stream_output=stream_output)
    if result.returncode != 0:
        raise StepFailed(f"pip_install_requirements: pip exited with code {result.returncode}: "
                         f"{tail(result.stderr or result.stdout)}")
    return {"stdout": result.stdout, "stderr": result.stderr}
