"""Which step names are built in: flowpool's own and the Prefect names mapped to them.

A project file names a step by a dotted function name. The names below run flowpool's
built-in steps without importing Prefect or its integrations; any other name is imported
as a Python function.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinStep:
    """A built-in step: the function that runs it and the output keys it returns."""

    module: str
    function: str
    outputs: frozenset[str]

    @property
    def qualified_name(self) -> str:
        return f"orchestrator.steps.{self.function}"


def _step(module: str, function: str, *outputs: str) -> BuiltinStep:
    return BuiltinStep(module, function, frozenset(outputs))


BUILTINS: dict[str, BuiltinStep] = {step.function: step for step in (
    _step("git", "git_clone", "directory", "commit_sha"),
    _step("directories", "set_working_directory", "directory"),
    _step("shell", "run_shell_script", "stdout", "stderr"),
    _step("shell", "pip_install_requirements", "stdout", "stderr"),
    _step("storage", "pull_from_remote_storage", "url", "directory"),
    _step("storage", "push_to_remote_storage", "url", "directory"),
    _step("docker_images", "build_docker_image",
          "image_name", "tag", "image", "image_id", "additional_tags"),
    _step("docker_images", "push_docker_image", "image_name", "tag", "image", "additional_tags"),
    _step("cloud_storage", "push_to_s3", "bucket", "folder"),
    _step("cloud_storage", "pull_from_s3", "bucket", "folder", "directory"),
    _step("cloud_storage", "push_to_gcs", "bucket", "folder"),
    _step("cloud_storage", "pull_from_gcs", "bucket", "folder", "directory"),
    _step("cloud_storage", "push_to_azure_blob_storage", "container", "folder"),
    _step("cloud_storage", "pull_from_azure_blob_storage", "container", "folder", "directory"),
)}

FLOWPOOL_PREFIXES = ("flowpool.steps.", "orchestrator.steps.")

# Prefect's modules that held steps over its versions, and the step names each held.
_PREFECT_CORE = ("git_clone", "set_working_directory", "run_shell_script",
                 "pip_install_requirements", "pull_from_remote_storage")
_PREFECT_MODULES: dict[str, tuple[str, ...]] = {
    "prefect.deployments.steps": _PREFECT_CORE,
    "prefect.deployments.steps.pull": ("git_clone", "set_working_directory",
                                       "pull_from_remote_storage"),
    "prefect.deployments.steps.utility": ("run_shell_script", "pip_install_requirements"),
    "prefect.projects.steps": _PREFECT_CORE,
    "prefect_docker.deployments.steps": ("build_docker_image", "push_docker_image"),
    "prefect_docker.projects.steps": ("build_docker_image", "push_docker_image"),
    "prefect_aws.deployments.steps": ("push_to_s3", "pull_from_s3"),
    "prefect_aws.projects.steps": ("push_to_s3", "pull_from_s3"),
    "prefect_gcp.deployments.steps": ("push_to_gcs", "pull_from_gcs"),
    "prefect_gcp.projects.steps": ("push_to_gcs", "pull_from_gcs"),
    "prefect_azure.deployments.steps": ("push_to_azure_blob_storage",
                                        "pull_from_azure_blob_storage"),
    "prefect_azure.projects.steps": ("push_to_azure_blob_storage",
                                     "pull_from_azure_blob_storage"),
}
PREFECT_NAMES: dict[str, str] = {
    f"{module}.{function}": function
    for module, functions in _PREFECT_MODULES.items() for function in functions
}
# Renamed in Prefect 2.10's "projects" era.
PREFECT_NAMES["prefect.projects.steps.git_clone_project"] = "git_clone"
PREFECT_NAMES["prefect.projects.steps.pull.git_clone_project"] = "git_clone"

# The distribution that provides each top-level module of Prefect's step ecosystem.
PROVIDERS = {"prefect": "prefect", "prefect_docker": "prefect-docker", "prefect_aws": "prefect-aws",
             "prefect_gcp": "prefect-gcp", "prefect_azure": "prefect-azure",
             "prefect_github": "prefect-github", "prefect_gitlab": "prefect-gitlab",
             "prefect_bitbucket": "prefect-bitbucket", "prefect_kubernetes": "prefect-kubernetes"}


def builtin_step(name: str) -> BuiltinStep | None:
    """The built-in step a name stands for: `flowpool.steps.git_clone`,
    `prefect.deployments.steps.git_clone`, ... ; None for any other name."""
    for prefix in FLOWPOOL_PREFIXES:
        if name.startswith(prefix) and name[len(prefix):] in BUILTINS:
            return BUILTINS[name[len(prefix):]]
    short = PREFECT_NAMES.get(name)
    return BUILTINS[short] if short else None


def providing_package(name: str) -> str:
    """The pip package that would provide a step's module: a known one, else a guess."""
    top = name.split(".", 1)[0]
    return PROVIDERS.get(top, top.replace("_", "-"))


def is_prefect_namespace(name: str) -> bool:
    return name.split(".", 1)[0] in PROVIDERS
