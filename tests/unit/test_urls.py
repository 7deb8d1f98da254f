"""Broker and database URLs are shown with their password masked."""
import pytest

from orchestrator.urls import masked_url


@pytest.mark.parametrize("url, shown", [
    ("redis://:s3cret@127.0.0.1:4301/0", "redis://:********@127.0.0.1:4301/0"),
    ("redis://user:s3cret@redis:6379/2", "redis://user:********@redis:6379/2"),
    ("rediss://:p%40ss%3Aw@host:6380/0", "rediss://:********@host:6380/0"),
    ("redis://:p@ss@host:6379/0", "redis://:********@host:6379/0"),  # an unquoted @ too
    ("postgresql://flowpool:pw@db:5432/flowpool", "postgresql://flowpool:********@db:5432/flowpool"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("sqlite:////home/me/.flowpool/flowpool.db", "sqlite:////home/me/.flowpool/flowpool.db"),
])
def test_the_password_is_masked_and_the_rest_kept(url, shown):
    assert masked_url(url) == shown
