"""flowpool reads its settings from the environment with a lean source of its own (every run's
engine reads them): it must give what pydantic-settings' own environment source gives."""
from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from config.settings import Settings


class LibrarySettings(Settings):
    """The same fields, read by the library's own environment source."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return init_settings, env_settings


ENVIRONMENTS = {
    "none": {},
    "usual": {"FLOWPOOL_API_URL": "http://127.0.0.1:9/api", "FLOWPOOL_API_KEY": "k",
              "FLOWPOOL_CRASH_AFTER_S": "5", "FLOWPOOL_PROCESS_CGROUPS": "false",
              "FLOWPOOL_PROCESS_START": "spawn", "FLOWPOOL_HOME": "/srv/flowpool",
              "FLOWPOOL_SECRET_KEY": "s3cret", "FLOWPOOL_EMBEDDED_REDIS_PORT": "7000"},
    "any case": {"flowpool_api_url": "http://lower/api", "Flowpool_Late_After_S": "3"},
    "empty values": {"FLOWPOOL_API_KEY": "", "FLOWPOOL_REDIS_URL": ""},
    "unknown names": {"FLOWPOOL_NOT_A_SETTING": "1", "FLOWPOOLAPI_URL": "x", "API_URL": "y"},
}
INVALID = {
    "a word for a number": {"FLOWPOOL_CRASH_AFTER_S": "soon"},
    "a start method that is none": {"FLOWPOOL_PROCESS_START": "thread"},
    "a port out of range": {"FLOWPOOL_EMBEDDED_REDIS_PORT": "70000"},
    "a retention that is no duration": {"FLOWPOOL_EVENTS_RETENTION": "a week"},
}


def only(monkeypatch, environment: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.upper().startswith("FLOWPOOL"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def dump(settings: Settings) -> dict:
    values = settings.model_dump()
    values["secret_key"] = settings.secret_key and settings.secret_key.get_secret_value()
    return values


@pytest.mark.parametrize("environment", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_the_settings_are_those_the_library_reads(monkeypatch, environment):
    only(monkeypatch, environment)
    assert dump(Settings()) == dump(LibrarySettings())


@pytest.mark.parametrize("environment", INVALID.values(), ids=INVALID.keys())
def test_a_bad_value_is_refused_naming_the_same_field(monkeypatch, environment):
    only(monkeypatch, environment)
    with pytest.raises(ValidationError) as ours:
        Settings()
    with pytest.raises(ValidationError) as library:
        LibrarySettings()
    assert [e["loc"] for e in ours.value.errors()] == [e["loc"] for e in library.value.errors()]


def test_values_given_in_code_win_over_the_environment(monkeypatch):
    only(monkeypatch, {"FLOWPOOL_DISPATCH_INTERVAL_S": "9"})
    assert Settings(dispatch_interval_s=0.5).dispatch_interval_s == 0.5
