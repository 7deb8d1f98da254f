"""Every infrastructure type keeps the contract of workers/infrastructure.py: a `launch` the
worker registers, returning a handle with the Handle protocol's methods and signatures."""
from __future__ import annotations

import inspect
import sys
import typing

import pytest

from workers import docker, kubernetes, process
from workers.execution import INFRASTRUCTURES
from workers.infrastructure import Handle, engine_command

HANDLES = {"process": process.ProcessHandle, "docker": docker.DockerHandle,
           "kubernetes": kubernetes.KubernetesHandle}
CONTRACT = ("poll", "wait", "stop", "output_tail")


def test_each_pool_type_has_an_infrastructure_and_a_handle():
    assert set(INFRASTRUCTURES) == set(HANDLES)


@pytest.mark.parametrize("kind", sorted(HANDLES))
def test_the_handle_has_the_protocols_methods_with_its_signatures(kind: str):
    handle = HANDLES[kind]
    for name in CONTRACT:
        assert inspect.signature(getattr(handle, name)) == inspect.signature(getattr(Handle, name))


@pytest.mark.parametrize("kind", sorted(HANDLES))
def test_launch_returns_that_handle(kind: str):
    returned = typing.get_type_hints(INFRASTRUCTURES[kind])["return"]
    assert returned is HANDLES[kind]


def test_the_engine_command_is_the_jobs_own_or_the_engine():
    assert engine_command(None, "r1") == ["python", "-m", "orchestrator.engine", "r1"]
    assert engine_command(None, "r1", python=sys.executable)[0] == sys.executable
    assert engine_command("sh -c 'echo hi'", "r1") == ["sh", "-c", "echo hi"]
    assert engine_command(["a", "b"], "r1") == ["a", "b"]
