"""The shipped deployment files: the Kubernetes manifests under deploy/kubernetes/ validate
against the Kubernetes OpenAPI schemas (offline, strict: an unknown field fails), and the
compose file keeps the topology and the safety README.md promises."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "deploy" / "kubernetes"


def validate_kubernetes(document: dict) -> None:
    """Raise with the schema's message when `document` is not a valid Kubernetes object."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise AssertionError(f"{document.get('kind')} {document['metadata'].get('name')}:"
                             f" {where}: {exc.message}") from None


def manifest_documents() -> list[tuple[str, dict]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    return [(f"{name}:{doc['kind']}/{doc['metadata']['name']}", doc)
            for name in kustomization["resources"]
            for doc in yaml.safe_load_all((MANIFESTS / name).read_text()) if doc]


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


@pytest.mark.parametrize("name, document", manifest_documents(), ids=[n for n, _ in manifest_documents()])
def test_every_manifest_is_a_valid_kubernetes_object(name, document):
    validate_kubernetes(document)


def test_a_misspelled_field_is_caught():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "x", "image": "flowpool:latest", "comand": ["true"]}]}}}}
    with pytest.raises(AssertionError, match="comand"):
        validate_kubernetes(job)


def test_the_cluster_runs_two_api_replicas_two_schedulers_and_scalable_workers():
    found = {doc["metadata"]["name"]: doc for _, doc in manifest_documents()
             if doc["kind"] == "Deployment"}
    assert found["api"]["spec"]["replicas"] == 2 and found["scheduler"]["spec"]["replicas"] == 2
    api = found["api"]["spec"]["template"]["spec"]["containers"][0]
    assert "--upgrade" in api["args"] and "--no-scheduler" in api["args"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/health"


def test_no_secret_is_written_in_a_manifest():
    for name, document in manifest_documents():
        for container in _containers(document):
            for variable in container.get("env", []):
                if variable["name"] in ("FLOWPOOL_API_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD"):
                    assert "valueFrom" in variable, f"{name}: {variable['name']} is written in"


def _containers(document: dict) -> list[dict]:
    spec = document.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("initContainers", []) + spec.get("containers", [])


COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_topology():
    services = COMPOSE["services"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert "--no-scheduler" in services["api"]["command"]
    assert services["migrate"]["command"][-1].endswith("exec flowpool database upgrade")
    assert services["docker-worker"]["profiles"] == ["docker"]
    assert "healthcheck" in services["api"]


def test_compose_starts_each_service_only_once_what_it_needs_is_ready():
    needs = {name: service.get("depends_on", {}) for name, service in COMPOSE["services"].items()}
    assert needs["migrate"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "scheduler"):
        assert needs[name]["migrate"]["condition"] == "service_completed_successfully"
    assert needs["setup"]["api"]["condition"] == "service_healthy"
    for name in ("worker", "docker-worker"):
        assert needs[name]["setup"]["condition"] == "service_completed_successfully"
    assert "--if-not-exists" in " ".join(COMPOSE["services"]["setup"]["command"])


def test_compose_takes_every_secret_from_the_env_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("FLOWPOOL_API_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD"):
        assert f"${{{variable}:?" in text, f"{variable} must be required from .env"
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert {"FLOWPOOL_API_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD", "FLOWPOOL_IMAGE",
            "REDIS_IMAGE", "POSTGRES_IMAGE"} <= set(example)
    assert ".env" in (ROOT / ".gitignore").read_text().split()
