"""Blocks in flow code, through Prefect's names: saved and loaded in a flow called directly
(the process-wide store of LocalReporter); deployed runs load them from the API
(tests/integration/test_blocks.py)."""
import pytest

from orchestrator import compat
from orchestrator.errors import AlreadyExists, InvalidInput, NotFound


@pytest.fixture
def hook():
    assert compat.install()
    yield
    compat.uninstall()


def test_a_saved_secret_loads_in_a_flow_and_never_prints(hook, reporter):
    from prefect import flow
    from prefect.blocks.system import Secret

    Secret(value="hunter22").save("sdk-password", overwrite=True)

    @flow
    def uses_secret() -> tuple[str, str]:
        secret = Secret.load("sdk-password")
        return secret.get(), repr(secret)

    value, shown = uses_secret()
    assert value == "hunter22" and "hunter22" not in shown


def test_credentials_blocks_give_secret_fields_as_secret_strings(hook, reporter):
    from prefect_aws import AwsCredentials, S3Bucket

    AwsCredentials(aws_access_key_id="minio", aws_secret_access_key="pw12345",
                   aws_client_parameters={"endpoint_url": "http://minio:9000"}
                   ).save("sdk-minio", overwrite=True)
    S3Bucket(bucket_name="flows", credentials="sdk-minio").save("sdk-bucket", overwrite=True)

    bucket = S3Bucket.load("sdk-bucket")
    assert bucket.bucket_name == "flows"
    assert bucket.credentials.aws_access_key_id == "minio"
    assert bucket.credentials.aws_secret_access_key.get_secret_value() == "pw12345"
    assert "pw12345" not in repr(bucket.credentials)


def test_json_blocks_keep_any_json(hook, reporter):
    from prefect.blocks.system import JSON

    JSON(value={"retries": 3, "regions": ["eu", "us"]}).save("sdk-settings", overwrite=True)
    assert JSON.load("sdk-settings").value == {"retries": 3, "regions": ["eu", "us"]}


def test_loading_a_missing_block_names_it(hook, reporter):
    from prefect.blocks.system import Secret

    with pytest.raises(NotFound, match="block secret/sdk-nowhere does not exist"):
        Secret.load("sdk-nowhere")


def test_saving_over_a_block_needs_overwrite(hook, reporter):
    from prefect.blocks.system import Secret

    Secret(value="one").save("sdk-once", overwrite=True)
    with pytest.raises(AlreadyExists, match="pass overwrite=True"):
        Secret(value="two").save("sdk-once")
    assert Secret.load("sdk-once").get() == "one"


@pytest.mark.parametrize("build, message", [
    (lambda blocks: blocks.Secret(value="x").save("Not Valid"), "is not a valid block name"),
    (lambda blocks: blocks.AwsCredentials(token="x"), "AwsCredentials has no field 'token'"),
    (lambda blocks: blocks.GitHubCredentials().save("sdk-empty-token"), "invalid "
                                                                        "github-credentials block"),
])
def test_bad_blocks_are_refused_naming_the_field(build, message, reporter):
    from orchestrator.sdk import blocks

    with pytest.raises(InvalidInput, match=message):
        build(blocks)
