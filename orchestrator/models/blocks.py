"""Blocks: typed configuration documents kept by the server, some of whose fields are secret.

A block has a type (`secret`, `aws-credentials`, ...) and a name; its data is checked
against the type's fields. Secret fields are encrypted at rest and masked when shown; they
are resolved only where used: `{{ flowpool.blocks.TYPE.NAME }}` in a project file, or
`Secret.load(NAME).get()` in flow code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Callable, Literal

from pydantic import StringConstraints

from ..errors import FieldError, InvalidInput
from ..templating import render
from .base import Model
from .json_values import finite_json

# Prefect's block names: lowercase letters, digits and dashes (no dots: a placeholder reads
# `TYPE.NAME.FIELD`).
BLOCK_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
BLOCK_NAME_ADVICE = ("use lowercase letters, digits and '-', starting with a letter or digit, "
                     "at most 100 characters (e.g. my-token)")
BlockName = Annotated[str, StringConstraints(pattern=BLOCK_NAME_PATTERN, max_length=100)]
MAX_FIELD_CHARS = 64_000  # a field holds settings and credentials, not data sets

FieldKind = Literal["string", "boolean", "json", "object"]


@dataclass(frozen=True)
class BlockField:
    name: str
    kind: FieldKind
    description: str
    secret: bool = False
    required: bool = False


@dataclass(frozen=True)
class BlockType:
    slug: str  # as written in `{{ prefect.blocks.SLUG.NAME }}`
    name: str  # Prefect's class name
    description: str
    fields: tuple[BlockField, ...]

    def field(self, name: str) -> BlockField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def secret_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.secret]


def _string(name: str, description: str, **flags: bool) -> BlockField:
    return BlockField(name, "string", description, **flags)


BLOCK_TYPES: dict[str, BlockType] = {t.slug: t for t in (
    BlockType("secret", "Secret", "A secret value: text or any JSON.", (
        BlockField("value", "json", "the secret", secret=True, required=True),)),
    BlockType("json", "JSON", "Any JSON value.", (
        BlockField("value", "json", "the value", required=True),)),
    BlockType("aws-credentials", "AwsCredentials", "Credentials for AWS and S3-compatible "
              "storage.", (
        _string("aws_access_key_id", "the access key id"),
        _string("aws_secret_access_key", "the secret access key", secret=True),
        _string("aws_session_token", "a session token", secret=True),
        _string("profile_name", "a profile of the AWS config files"),
        _string("region_name", "the region, e.g. eu-west-1"),
        BlockField("aws_client_parameters", "object",
                   "extra client settings, e.g. {\"endpoint_url\": \"http://minio:9000\"}"))),
    BlockType("s3-bucket", "S3Bucket", "A bucket, and the aws-credentials block to reach it.", (
        _string("bucket_name", "the bucket", required=True),
        _string("bucket_folder", "a folder inside the bucket"),
        _string("credentials", "the name of an aws-credentials block"))),
    BlockType("github-credentials", "GitHubCredentials", "A GitHub access token.", (
        _string("token", "a personal access token", secret=True, required=True),)),
    BlockType("docker-registry-credentials", "DockerRegistryCredentials",
              "A login to a Docker registry.", (
        _string("username", "the user name", required=True),
        _string("password", "the password or token", secret=True, required=True),
        _string("registry_url", "the registry, e.g. ghcr.io", required=True),
        BlockField("reauth", "boolean", "log in again even when logged in"))),
)}
BLOCK_TYPE_ADVICE = "use one of: " + ", ".join(BLOCK_TYPES)


def block_type(slug: str, where: str = "type") -> BlockType:
    """The block type named `slug`; InvalidInput listing the types there are."""
    found = BLOCK_TYPES.get(slug)
    if found is None:
        raise InvalidInput(f"unknown block type {slug!r}", [FieldError(where, BLOCK_TYPE_ADVICE)])
    return found


def checked_block_data(slug: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` when it fits the type: every field known and of its kind, the required ones
    given; InvalidInput naming each field that does not, and what fits."""
    kind = block_type(slug)
    errors = [FieldError(f"data.{name}", f"{kind.slug} has no field {name!r}; its fields: "
                                         + ", ".join(f.name for f in kind.fields))
              for name in data if kind.field(name) is None]
    errors += [FieldError(f"data.{f.name}", f"required for {kind.slug}: {f.description}")
               for f in kind.fields if f.required and data.get(f.name) in (None, "")]
    errors += [FieldError(f"data.{name}", problem) for name, value in data.items()
               if kind.field(name) and value is not None
               for problem in [_value_problem(kind.field(name), value)] if problem]
    if errors:
        raise InvalidInput(f"invalid {kind.slug} block", errors)
    return {name: value for name, value in data.items() if value is not None}


def _value_problem(field: BlockField, value: Any) -> str | None:
    expected = {"string": str, "boolean": bool, "object": dict}.get(field.kind)
    if expected is not None and not isinstance(value, expected):
        return f"give {field.kind if field.kind != 'object' else 'a JSON object'}, " \
               f"not {type(value).__name__}"
    try:
        size = len(json.dumps(finite_json(value)))
    except ValueError as exc:
        return str(exc)
    if size > MAX_FIELD_CHARS:
        return f"{size} characters of JSON; at most {MAX_FIELD_CHARS} fit in a block field"
    return None


def split_secrets(slug: str, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the plain fields, the secret fields) of a block's data."""
    secret = set(BLOCK_TYPES[slug].secret_fields)
    return ({k: v for k, v in data.items() if k not in secret},
            {k: v for k, v in data.items() if k in secret})


class BlockFieldInfo(Model):
    name: str
    kind: FieldKind
    description: str
    secret: bool
    required: bool


class BlockTypeInfo(Model):
    """What `GET /block-types` lists: a type and its fields."""

    slug: str
    name: str
    description: str
    fields: list[BlockFieldInfo]

    @classmethod
    def of(cls, kind: BlockType) -> "BlockTypeInfo":
        return cls(slug=kind.slug, name=kind.name, description=kind.description,
                   fields=[BlockFieldInfo(**f.__dict__) for f in kind.fields])


class BlockData(Model):
    """What `PUT /blocks/TYPE/NAME` sends: the block's fields (checked against its type)."""

    data: dict[str, Any]


class BlockCreate(BlockData):
    """What `POST /blocks` sends: a new block."""

    type: str
    name: BlockName


class Block(Model):
    """A block as the API shows it: secret fields masked unless asked for by `include_secrets`."""

    id: str
    type: str
    name: BlockName
    data: dict[str, Any]
    secret_fields: list[str]  # the type's secret fields that this block has a value for
    created: datetime
    updated: datetime

    @property
    def full_name(self) -> str:
        return f"{self.type}/{self.name}"


@dataclass(frozen=True)
class SealedBlock:
    """A block as the store keeps it: its secret fields as one encrypted token."""

    id: str
    type: str
    name: str
    data: dict[str, Any]
    secret_data: str | None
    secret_fields: list[str]
    created: datetime
    updated: datetime


# -- references: `{{ flowpool.blocks.TYPE.NAME[.FIELD] }}` ---------------------------------
BLOCK_PREFIXES = ("flowpool.blocks.", "prefect.blocks.")
_REFERENCE = re.compile(r"^(?P<type>[a-z0-9][a-z0-9-]*)\.(?P<name>[a-z0-9][a-z0-9-]*)"
                        r"(?:\.(?P<field>[A-Za-z0-9_.-]+))?$")
REFERENCE_ADVICE = "write {{ flowpool.blocks.TYPE.NAME }} or {{ flowpool.blocks.TYPE.NAME.FIELD }}"


@dataclass(frozen=True)
class BlockReference:
    type: str
    name: str
    field: str | None = None  # a dotted path into the block's data

    @classmethod
    def parse(cls, text: str) -> "BlockReference":
        """`TYPE.NAME[.FIELD]`, the part after `flowpool.blocks.`."""
        match = _REFERENCE.match(text.strip())
        if match is None:
            raise InvalidInput(f"{text!r} does not name a block", [FieldError(
                "placeholder", REFERENCE_ADVICE)])
        return cls(match["type"], match["name"], match["field"])


def block_value(data: dict[str, Any], reference: BlockReference) -> Any:
    """What a reference stands for in a block's data: the data; for a block whose only field
    is `value` (secret, json), that value, as in Prefect; with a field path, that field."""
    if reference.field is None:
        return data["value"] if set(data) == {"value"} else data
    value: Any = data
    for part in reference.field.split("."):
        if not isinstance(value, dict) or part not in value:
            fields = ", ".join(sorted(data)) or "none"
            raise KeyError(f"block {reference.type}/{reference.name} has no field "
                           f"{reference.field!r} (its fields: {fields})")
        value = value[part]
    return value


def secret_texts(data: dict[str, Any], secret_fields: list[str]) -> list[str]:
    """The secret fields' values as they could appear in output (text, or JSON text)."""
    values = [data.get(name) for name in secret_fields]
    return [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]


def fill_blocks(template: Any, read_block: Callable[[str, str], dict[str, Any]]) -> Any:
    """`template` with every block placeholder filled in from `read_block(TYPE, NAME)` (the
    block's data, secrets in the clear); any other placeholder is left as written."""
    def resolve(text: str) -> Any:
        prefix = next((p for p in BLOCK_PREFIXES if text.startswith(p)), None)
        if prefix is None:
            return "{{ " + text + " }}"
        reference = BlockReference.parse(text[len(prefix):])
        return block_value(read_block(reference.type, reference.name), reference)
    return render(template, resolve)
