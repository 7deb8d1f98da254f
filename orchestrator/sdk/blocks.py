"""Blocks in flow code, with Prefect's names: load a block the server keeps, or save one.

    Secret.load("db-password").get()
    JSON.load("settings").value
    AwsCredentials.load("minio").aws_secret_access_key.get_secret_value()
    Secret(value="s3cr3t").save("db-password", overwrite=True)

In a deployed run the block comes from the API, its secret fields in the clear (they are
used here); a flow called directly uses the process-wide store of LocalReporter. Secret
fields are pydantic `SecretStr` (they print as `**********`), as in Prefect.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar

from pydantic import SecretStr

from ..errors import FieldError, InvalidInput, PrefectAttributeNotSupported
from ..models.blocks import BLOCK_NAME_ADVICE, BLOCK_NAME_PATTERN, BLOCK_TYPES, BlockType
from .run_context import ambient_reporter


class Block:
    """A block of one type: its fields are attributes; secret ones are SecretStr."""

    _block_type_slug: ClassVar[str]

    def __init__(self, **data: Any):
        kind = self._kind()
        unknown = [name for name in data if kind.field(name) is None]
        if unknown:
            raise InvalidInput(f"{type(self).__name__} has no field {unknown[0]!r}", [FieldError(
                unknown[0], "its fields: " + ", ".join(f.name for f in kind.fields))])
        for field in kind.fields:
            value = data.get(field.name)
            if field.secret and isinstance(value, str):
                value = SecretStr(value)
            object.__setattr__(self, field.name, value)

    @classmethod
    def _kind(cls) -> BlockType:
        return BLOCK_TYPES[cls._block_type_slug]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise PrefectAttributeNotSupported(
            f"{type(self).__name__}.{name} is not supported by flowpool")

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self._kind().fields
                          if getattr(self, f.name) is not None)
        return f"{type(self).__name__}({shown})"

    def data(self) -> dict[str, Any]:
        """The fields as the server keeps them: secrets in the clear, unset ones left out."""
        values = {f.name: getattr(self, f.name) for f in self._kind().fields}
        return {name: value.get_secret_value() if isinstance(value, SecretStr) else value
                for name, value in values.items() if value is not None}

    @classmethod
    def load(cls, name: str, validate: bool = True) -> "Block":
        """The block NAME of this type; NotFound naming how to create it."""
        return cls(**ambient_reporter().read_block(cls._block_type_slug, _checked(name)))

    @classmethod
    async def aload(cls, name: str, validate: bool = True) -> "Block":
        return await asyncio.to_thread(cls.load, name, validate)

    def save(self, name: str, overwrite: bool = False) -> str:
        """Keep this block as NAME; AlreadyExists when it exists and not `overwrite`."""
        ambient_reporter().write_block(self._block_type_slug, _checked(name), self.data(),
                                       overwrite)
        return name

    async def asave(self, name: str, overwrite: bool = False) -> str:
        return await asyncio.to_thread(self.save, name, overwrite)


def _checked(name: str) -> str:
    if not isinstance(name, str) or len(name) > 100 or not re.match(BLOCK_NAME_PATTERN, name):
        raise InvalidInput(f"{name!r} is not a valid block name", [FieldError(
            "name", BLOCK_NAME_ADVICE)])
    return name


class Secret(Block):
    """A secret value: `Secret.load(NAME).get()`."""

    _block_type_slug = "secret"

    def __init__(self, value: Any = None, **data: Any):
        super().__init__(value=value, **data)

    def get(self) -> Any:
        value = self.value
        return value.get_secret_value() if isinstance(value, SecretStr) else value


class JSON(Block):
    """Any JSON value: `JSON.load(NAME).value`."""

    _block_type_slug = "json"

    def __init__(self, value: Any = None, **data: Any):
        super().__init__(value=value, **data)


class AwsCredentials(Block):
    _block_type_slug = "aws-credentials"

    def get_boto3_session(self) -> Any:
        """A boto3 Session with these credentials (boto3 must be installed where this runs)."""
        try:
            import boto3
        except ImportError:
            raise InvalidInput("AwsCredentials.get_boto3_session needs boto3", [FieldError(
                "boto3", "install it where the flow runs (pip install boto3)")]) from None
        secret = self.data()
        return boto3.Session(aws_access_key_id=secret.get("aws_access_key_id"),
                             aws_secret_access_key=secret.get("aws_secret_access_key"),
                             aws_session_token=secret.get("aws_session_token"),
                             profile_name=self.profile_name, region_name=self.region_name)

    def get_client(self, client_type: str = "s3") -> Any:
        return self.get_boto3_session().client(client_type, **(self.aws_client_parameters or {}))

    def get_s3_client(self) -> Any:
        return self.get_client("s3")


class S3Bucket(Block):
    """A bucket; `credentials` is loaded as the AwsCredentials block it names."""

    _block_type_slug = "s3-bucket"

    def __init__(self, credentials: Any = None, **data: Any):
        named = credentials if isinstance(credentials, str) else None
        super().__init__(credentials=named, **data)
        object.__setattr__(self, "_credentials_name", named)
        if isinstance(credentials, AwsCredentials):
            object.__setattr__(self, "credentials", credentials)
        elif named is not None:
            object.__setattr__(self, "credentials", AwsCredentials.load(named))

    def data(self) -> dict[str, Any]:
        """Kept with the name of its credentials block (one given inline has none to keep)."""
        data = super().data()
        data.pop("credentials", None)
        if self._credentials_name is not None:
            data["credentials"] = self._credentials_name
        return data


class GitHubCredentials(Block):
    _block_type_slug = "github-credentials"


class DockerRegistryCredentials(Block):
    _block_type_slug = "docker-registry-credentials"

    def login(self, client: Any) -> None:
        """Log `client` (a docker.DockerClient) in to the registry."""
        client.login(username=self.username, password=self.password.get_secret_value(),
                     registry=self.registry_url, reauth=bool(self.reauth))
