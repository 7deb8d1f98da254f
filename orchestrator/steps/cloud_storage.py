"""Prefect's cloud storage steps (prefect_aws, prefect_gcp, prefect_azure) on top of fsspec.

Each keeps the Prefect signature and outputs, turns bucket + folder into a URL, and turns
the credentials (a mapping, e.g. from a flowpool variable holding JSON) into the storage
options of s3fs, gcsfs or adlfs.
"""
from __future__ import annotations

from typing import Any

from .storage import pull_from_remote_storage, push_to_remote_storage

AWS_OPTIONS = {"aws_access_key_id": "key", "aws_secret_access_key": "secret",
               "aws_session_token": "token", "profile_name": "profile"}
AZURE_OPTIONS = ("connection_string", "account_name", "account_key", "sas_token",
                 "tenant_id", "client_id", "client_secret")


def push_to_s3(bucket: str, folder: str, credentials: dict[str, Any] | None = None,
               client_parameters: dict[str, Any] | None = None,
               ignore_file: str | None = None) -> dict[str, str]:
    push_to_remote_storage(_url("s3", bucket, folder), ignore_file=ignore_file,
                           **s3_options(credentials, client_parameters))
    return {"bucket": bucket, "folder": folder}


def pull_from_s3(bucket: str, folder: str, credentials: dict[str, Any] | None = None,
                 client_parameters: dict[str, Any] | None = None) -> dict[str, str]:
    pulled = pull_from_remote_storage(_url("s3", bucket, folder),
                                      **s3_options(credentials, client_parameters))
    return {"bucket": bucket, "folder": folder, "directory": pulled["directory"]}


def push_to_gcs(bucket: str, folder: str, project: str | None = None,
                credentials: dict[str, Any] | None = None,
                ignore_file: str | None = None) -> dict[str, str]:
    push_to_remote_storage(_url("gs", bucket, folder), ignore_file=ignore_file,
                           **gcs_options(project, credentials))
    return {"bucket": bucket, "folder": folder}


def pull_from_gcs(bucket: str, folder: str, project: str | None = None,
                  credentials: dict[str, Any] | None = None) -> dict[str, str]:
    pulled = pull_from_remote_storage(_url("gs", bucket, folder),
                                      **gcs_options(project, credentials))
    return {"bucket": bucket, "folder": folder, "directory": pulled["directory"]}


def push_to_azure_blob_storage(container: str, folder: str,
                               credentials: dict[str, Any] | None = None,
                               ignore_file: str | None = None) -> dict[str, str]:
    push_to_remote_storage(_url("az", container, folder), ignore_file=ignore_file,
                           **azure_options(credentials))
    return {"container": container, "folder": folder}


def pull_from_azure_blob_storage(container: str, folder: str,
                                 credentials: dict[str, Any] | None = None) -> dict[str, str]:
    pulled = pull_from_remote_storage(_url("az", container, folder), **azure_options(credentials))
    return {"container": container, "folder": folder, "directory": pulled["directory"]}


def s3_options(credentials: dict[str, Any] | None,
               client_parameters: dict[str, Any] | None) -> dict[str, Any]:
    """s3fs options from Prefect's credentials mapping (an aws-credentials block's data:
    its `aws_client_parameters`, e.g. a MinIO `endpoint_url`, count as client parameters)."""
    credentials = credentials or {}
    options = {AWS_OPTIONS[k]: v for k, v in credentials.items() if k in AWS_OPTIONS and v}
    given = {**(credentials.get("aws_client_parameters") or {}), **(client_parameters or {})}
    client_kwargs = {k: v for k, v in given.items() if v is not None}
    if credentials.get("region_name"):
        client_kwargs["region_name"] = credentials["region_name"]
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    return options


def gcs_options(project: str | None, credentials: dict[str, Any] | None) -> dict[str, Any]:
    credentials = credentials or {}
    options: dict[str, Any] = {}
    token = credentials.get("service_account_info") or credentials.get("service_account_file")
    if token:
        options["token"] = token
    if project or credentials.get("project"):
        options["project"] = project or credentials["project"]
    return options


def azure_options(credentials: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (credentials or {}).items() if k in AZURE_OPTIONS and v}


def _url(scheme: str, bucket: str, folder: str) -> str:
    return f"{scheme}://{bucket.strip('/')}/{(folder or '').strip('/')}".rstrip("/")
