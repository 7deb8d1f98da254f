"""Docker steps through the docker SDK: `build_docker_image` and `push_docker_image`.

Both keep Prefect's signatures and outputs (`image_name`, `tag`, `image`), so a
`{{ build_image.image }}` in job variables works unchanged. When no Docker engine answers
they fail at once with a message saying so, instead of a connection traceback.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .errors import StepFailed
from .redaction import redact

AUTO_DOCKERFILE_NAME = "Dockerfile.flowpool-auto"


def build_docker_image(image_name: str, dockerfile: str = "Dockerfile", tag: str | None = None,
                       additional_tags: list[str] | None = None, ignore_cache: bool = False,
                       credentials: dict[str, Any] | None = None,
                       persist_dockerfile: bool = False,
                       dockerfile_output_path: str = "Dockerfile", platform: str | None = None,
                       base_image: str | None = None, **build_kwargs: Any) -> dict[str, Any]:
    """Build the working directory into `image_name:tag`; outputs `image_name`, `tag`, `image`,
    `image_id`, `additional_tags`.

    `dockerfile: auto` writes a Dockerfile that copies the project and installs its
    requirements.txt on `base_image` (default: the running Python's slim image).
    """
    client = docker_client()
    if credentials:
        _login(client, credentials)
    tag = tag or default_tag()
    with dockerfile_to_build(dockerfile, base_image, persist_dockerfile,
                             dockerfile_output_path) as dockerfile_name:
        image = _build(client, dockerfile_name, f"{image_name}:{tag}", ignore_cache, platform,
                       build_kwargs)
    for extra in additional_tags or []:
        image.tag(image_name, tag=extra)
    return {"image_name": image_name, "tag": tag, "image": f"{image_name}:{tag}",
            "image_id": image.id, "additional_tags": list(additional_tags or [])}


def push_docker_image(image_name: str, tag: str | None = None,
                      credentials: dict[str, Any] | None = None,
                      additional_tags: list[str] | None = None) -> dict[str, Any]:
    """Push `image_name:tag` (and its additional tags); outputs `image_name`, `tag`, `image`."""
    client = docker_client()
    secrets = _login(client, credentials) if credentials else []
    auth = _auth_config(credentials)
    for each_tag in [tag or "latest", *(additional_tags or [])]:
        _push(client, image_name, each_tag, auth, secrets)
    return {"image_name": image_name, "tag": tag or "latest",
            "image": f"{image_name}:{tag or 'latest'}",
            "additional_tags": list(additional_tags or [])}


def docker_client():
    """A client of an engine that answered a ping, or StepFailed saying none answers."""
    import docker

    where = os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        client = docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise StepFailed(f"no Docker engine answers at {where}: start Docker, or set DOCKER_HOST "
                         f"to an engine that runs ({type(exc).__name__}: {exc})") from None


def default_tag() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")


def auto_dockerfile(project_dir_name: str, base_image: str, has_requirements: bool) -> str:
    """The Dockerfile of `dockerfile: auto`: the project under /opt/flowpool, its
    requirements installed."""
    workdir = f"/opt/flowpool/{project_dir_name}"
    lines = [f"FROM {base_image}", f"COPY . {workdir}/", f"WORKDIR {workdir}"]
    if has_requirements:
        lines.append("RUN python -m pip install --no-cache-dir -r requirements.txt")
    return "\n".join(lines) + "\n"


@contextmanager
def dockerfile_to_build(dockerfile: str, base_image: str | None, persist: bool,
                        output_path: str) -> Iterator[str]:
    if dockerfile != "auto":
        if not Path(dockerfile).is_file():
            raise StepFailed(f"build_docker_image: {Path(dockerfile).resolve()} does not exist; "
                             "set dockerfile to your Dockerfile, or to auto")
        yield dockerfile
        return
    base = base_image or f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    text = auto_dockerfile(Path.cwd().name, base, Path("requirements.txt").is_file())
    generated = Path(AUTO_DOCKERFILE_NAME)
    generated.write_text(text)
    try:
        yield str(generated)
    finally:
        generated.unlink(missing_ok=True)
        if persist:
            Path(output_path).write_text(text)


def _build(client, dockerfile: str, reference: str, nocache: bool, platform: str | None,
           build_kwargs: dict[str, Any]):
    import docker

    try:
        image, logs = client.images.build(path=str(Path.cwd()), dockerfile=dockerfile,
                                          tag=reference, nocache=nocache, platform=platform,
                                          rm=True, **build_kwargs)
    except docker.errors.BuildError as exc:
        lines = [str(entry.get("stream", "")).rstrip() for entry in exc.build_log]
        detail = "\n".join(line for line in lines if line)[-2000:]
        raise StepFailed(f"build_docker_image: building {reference} failed: {exc.msg}\n{detail}") \
            from None
    except docker.errors.APIError as exc:
        raise StepFailed(f"build_docker_image: building {reference} failed: {exc}") from None
    for entry in logs:
        if entry.get("stream"):
            print(entry["stream"], end="")
    return image


def _push(client, image_name: str, tag: str, auth: dict[str, str] | None,
          secrets: list[str]) -> None:
    import docker

    try:
        for event in client.api.push(image_name, tag=tag, stream=True, decode=True,
                                     auth_config=auth):
            if event.get("error"):
                raise StepFailed(redact(f"push_docker_image: pushing {image_name}:{tag} failed: "
                                        f"{event['error']}", secrets))
    except docker.errors.APIError as exc:
        raise StepFailed(redact(f"push_docker_image: pushing {image_name}:{tag} failed: {exc}",
                                secrets)) from None


def _auth_config(credentials: dict[str, Any] | None) -> dict[str, str] | None:
    if not credentials:
        return None
    return {"username": credentials.get("username", ""),
            "password": credentials.get("password", "")}


def _login(client, credentials: dict[str, Any]) -> list[str]:
    import docker

    password = str(credentials.get("password", ""))
    try:
        client.login(username=credentials.get("username"), password=password,
                     registry=credentials.get("registry_url"), reauth=True)
    except docker.errors.APIError as exc:
        raise StepFailed(redact(f"docker login to {credentials.get('registry_url')} failed: {exc}",
                                [password])) from None
    return [password]
