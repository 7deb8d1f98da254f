"""Blocks' pure parts: the types' fields, what a placeholder stands for, and the key that
seals secret fields."""
from __future__ import annotations

import stat

import pytest

from orchestrator.blocks import BlockReference, block_value
from orchestrator.encryption import KEY_FILE_NAME, SecretBox, secret_box
from orchestrator.errors import FlowpoolError, InvalidInput
from orchestrator.models.blocks import checked_block_data, split_secrets


def test_a_lone_value_field_stands_for_itself_and_a_field_path_picks_one_field():
    assert block_value({"value": "tok"}, BlockReference.parse("secret.gh")) == "tok"
    data = {"bucket_name": "flows", "nested": {"a": 1}}
    assert block_value(data, BlockReference.parse("s3-bucket.b")) == data
    assert block_value(data, BlockReference.parse("s3-bucket.b.bucket_name")) == "flows"
    assert block_value(data, BlockReference.parse("s3-bucket.b.nested.a")) == 1
    with pytest.raises(KeyError, match="has no field 'region' \\(its fields: bucket_name, "
                                       "nested\\)"):
        block_value(data, BlockReference.parse("s3-bucket.b.region"))


@pytest.mark.parametrize("text", ["secret", "Secret.x", "secret.My_Name", ".x", "secret..x"])
def test_a_reference_that_cannot_name_a_block_is_refused(text):
    with pytest.raises(InvalidInput, match="TYPE.NAME"):
        BlockReference.parse(text)


def test_block_data_is_checked_against_its_type_naming_every_bad_field():
    with pytest.raises(InvalidInput) as failure:
        checked_block_data("docker-registry-credentials", {"username": 3, "token": "x"})
    fields = [e.field for e in failure.value.errors]
    assert fields == ["data.token", "data.password", "data.registry_url", "data.username"]


def test_secret_fields_are_split_from_the_plain_ones():
    plain, secret = split_secrets("aws-credentials", {"aws_access_key_id": "id",
                                                      "aws_secret_access_key": "s"})
    assert plain == {"aws_access_key_id": "id"} and secret == {"aws_secret_access_key": "s"}


def test_the_key_file_is_made_once_owner_only_and_read_back(tmp_path):
    box = secret_box(tmp_path / "home", None)
    token = box.seal({"value": "s3cr3t"})
    key_file = tmp_path / "home" / KEY_FILE_NAME

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "s3cr3t" not in token
    assert secret_box(tmp_path / "home", None).open(token) == {"value": "s3cr3t"}


def test_a_key_from_the_environment_wins_and_a_bad_one_is_named(tmp_path):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    token = secret_box(tmp_path / "a", key).seal({"v": 1})
    assert secret_box(tmp_path / "b", key).open(token) == {"v": 1}
    assert not (tmp_path / "b" / KEY_FILE_NAME).exists()
    with pytest.raises(InvalidInput, match="FLOWPOOL_SECRET_KEY"):
        secret_box(tmp_path, "not-a-key")


def test_opening_with_another_key_fails_naming_the_key():
    token = SecretBox(new_key()).seal({"v": 1})
    with pytest.raises(FlowpoolError, match="FLOWPOOL_SECRET_KEY"):
        SecretBox(new_key()).open(token)


def new_key() -> bytes:
    from cryptography.fernet import Fernet

    return Fernet.generate_key()
