"""The three files of Prefect 2.10's projects tutorial, as `prefect project init` wrote them
and the tutorial's flow: read by the deploy tests and run end to end by the wizard tests."""
from __future__ import annotations

from pathlib import Path

# `directory` is where the pull step sets the working directory.
PREFECT_YAML = """
    # Generic metadata about this project
    name: tutorial
    prefect-version: 2.10.11

    # build section allows you to manage and build docker images
    build: null

    # push section allows you to manage if and how this project is uploaded to remote locations
    push: null

    # pull section allows you to provide instructions for cloning this project in remote locations
    pull:
    - prefect.projects.steps.set_working_directory:
        directory: {directory}
"""
# One blank entry, every field null: the flow and the name come from the command line.
DEPLOYMENT_YAML = """
    deployments:
    - # base metadata
      name: null
      version: null
      tags: []
      description: null
      schedule: {}

      # flow-specific fields
      flow_name: null
      entrypoint: null
      parameters: {}

      # infra-specific fields
      work_pool:
        name: null
        work_queue_name: null
        job_variables: {}
"""
API_FLOW = '''
from prefect import flow

@flow(log_prints=True)
def call_api(url: str = "http://time.jsontest.com/"):
    print(url)
    return url
'''


def tutorial_files(directory: Path | str) -> dict[str, str]:
    """The tutorial's files by name, its pull step pointing at `directory`."""
    return {"prefect.yaml": PREFECT_YAML.format(directory=directory),
            "deployment.yaml": DEPLOYMENT_YAML, "api_flow.py": API_FLOW}
