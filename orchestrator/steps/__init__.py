"""Steps: the built-in ones, each a plain function returning a dict of outputs, and the
machinery that runs a list of them (`runner`: placeholders rendered by `rendering` and
`references`, each step found by `declarations`, errors placed by `diagnostics`).

`flowpool deploy` runs the build and push steps (`orchestrator.deploy`); the engine runs the
pull steps at the start of every run. A project file names the built-ins `flowpool.steps.NAME`
(or by their Prefect names, see `names`); heavy libraries (fsspec, docker) are imported only
when a step that needs them runs.
"""
from .cloud_storage import (pull_from_azure_blob_storage, pull_from_gcs, pull_from_s3,
                            push_to_azure_blob_storage, push_to_gcs, push_to_s3)
from .directories import set_working_directory
from .docker_images import build_docker_image, push_docker_image
from .errors import StepFailed
from .git import git_clone
from .shell import pip_install_requirements, run_shell_script
from .storage import pull_from_remote_storage, push_to_remote_storage

__all__ = [
    "StepFailed", "build_docker_image", "git_clone", "pip_install_requirements",
    "pull_from_azure_blob_storage", "pull_from_gcs", "pull_from_remote_storage", "pull_from_s3",
    "push_docker_image", "push_to_azure_blob_storage", "push_to_gcs", "push_to_remote_storage",
    "push_to_s3", "run_shell_script", "set_working_directory",
]
