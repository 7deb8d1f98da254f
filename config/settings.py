"""Every setting flowpool reads, from `FLOWPOOL_*` environment variables.

Settings are read when `get_settings()` is first called, never at import time, so a
test or a CLI flag can set the environment first.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "FLOWPOOL_"

DEFAULT_API_PORT = 4300
DEFAULT_RUN_LOG_LIMIT = 10 * 1024 * 1024


class FlowpoolEnvironment(PydanticBaseSettingsSource):
    """`FLOWPOOL_<FIELD>` variables (any case) as text for the model to validate: what the
    library's environment source gives for these plain fields, in a tenth of its time, as
    every run's engine reads its settings on the way to its flow."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return os.environ.get(ENV_PREFIX + field_name.upper()), field_name, False

    def __call__(self) -> dict[str, str]:
        fields = {ENV_PREFIX.lower() + name: name for name in self.settings_cls.model_fields}
        return {fields[key.lower()]: value for key, value in os.environ.items()
                if key.lower() in fields}


class Settings(BaseSettings):
    """flowpool's settings; each field is `FLOWPOOL_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return init_settings, FlowpoolEnvironment(settings_cls)

    home: Path = Field(default_factory=lambda: Path.home() / ".flowpool")
    api_url: str = f"http://127.0.0.1:{DEFAULT_API_PORT}/api"
    api_key: str | None = None
    # the key that encrypts blocks' secret fields (a Fernet key); else FLOWPOOL_HOME/secret.key
    secret_key: SecretStr | None = None
    database_url: str | None = None
    redis_url: str | None = None
    # the bundled Redis listens on the API port + 1 unless this is set, so `--port` alone
    # gives a second server ports of its own
    embedded_redis_port: int | None = Field(default=None, ge=1, le=65535)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1)  # larger request bodies get 413

    # dispatcher / scheduler timings
    dispatch_interval_s: float = 2.0
    claim_timeout_s: float = 30.0
    late_after_s: float = 15.0
    leader_lease_s: float = 5.0  # a crashed scheduler leader is replaced within this
    crash_after_s: float = 30.0

    # worker timings
    heartbeat_interval_s: float = 5.0
    worker_offline_after_s: float = 15.0
    cancel_grace_s: float = 10.0
    # each process run in a cgroup of its own where one can be made; else a /proc walk
    process_cgroups: bool = True
    # "fork": process runs fork from a process with the engine imported; "spawn": a new
    # interpreter per run (also taken where a job's command or interpreter settings differ)
    process_start: Literal["fork", "spawn"] = "fork"
    # modules (comma-separated: "pandas,numpy") the warm-start process imports once, so a
    # forked run finds them imported: installed libraries the flows use, not the flows' code
    warm_imports: str = Field(default="", max_length=4096)

    # bytes of log lines one flow run may store; later lines are dropped and counted
    run_log_limit: int = Field(default=DEFAULT_RUN_LOG_LIMIT, ge=0, le=2**40)

    # how long events are kept: seconds, or a number with s, m, h or d (7d, 12h)
    events_retention: str = "7d"

    @field_validator("events_retention")
    @classmethod
    def _retention_is_a_duration(cls, value: str) -> str:
        duration_s(value)
        return value

    @field_validator("warm_imports")
    @classmethod
    def _warm_imports_are_module_names(cls, value: str) -> str:
        for name in module_names(value):
            if not MODULE_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a module name; give names such as"
                                 " pandas,numpy.linalg separated by commas")
        return value

    @property
    def warm_import_modules(self) -> list[str]:
        return module_names(self.warm_imports)

    @property
    def events_retention_s(self) -> float:
        return duration_s(self.events_retention)

    # an automation firing more often than this in a minute skips its firings (with a warning)
    # until the rate drops: an automation whose actions cause events it triggers on stops
    automation_max_firings_per_minute: int = Field(default=60, ge=1, le=1_000_000)

    # client behaviour
    http_timeout_s: float = 30.0
    http_retry_for_s: float = 60.0

    @property
    def sqlite_path(self) -> Path:
        return self.home / "flowpool.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"


UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def module_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def duration_s(text: str) -> float:
    """`90`, `90s`, `15m`, `12h`, `7d` in seconds (at least 1 s, at most 10 years)."""
    text = text.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in UNITS_S else (text, "s")
    try:
        seconds = float(number) * UNITS_S[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a duration; write seconds or a number with s, m, h"
                         " or d, e.g. 7d") from None
    if not 1 <= seconds <= 3650 * 86400:
        raise ValueError(f"{text!r}: give between 1s and 3650d")
    return seconds


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    """Forget the cached settings (after the environment changed) and read them again."""
    get_settings.cache_clear()
    return get_settings()
