"""Typed settings: secrets are SecretStr (never printed), lists and maps are typed, and a bad
value stops the CLI naming the variable and what it expected, without echoing a secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from leadstream.settings import Settings
from leadstream.sites.sealing import new_key

SECRET_FIELDS = ("apollo_api_key", "linkedin_api_token", "llm_api_key", "sites_keys", "worker_token")


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_secrets_are_secretstr_and_have_no_default(name: str) -> None:
    field = Settings.model_fields[name]
    assert "SecretStr" in str(field.annotation), name
    default = field.get_default(call_default_factory=True)
    assert default in (None, [], {}), f"{name} has a default"


def test_secrets_stay_out_of_reprs() -> None:
    s = Settings(apollo_api_key="apollo-very-secret", sites_keys=[new_key()])
    assert "apollo-very-secret" not in repr(s) and "apollo-very-secret" not in str(s.model_dump())


def test_as_environment_makes_the_same_settings_again(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(cors_origins=["https://a.example"], sites_keys=[new_key()], apollo_api_key="k", topic_partitions=3)
    for name in [k for k in os.environ if k.startswith("LEADSTREAM_")]:
        monkeypatch.delenv(name)
    for name, value in s.as_environment().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert again.global_origins == ["https://a.example"]
    assert again.sites_keys[0].get_secret_value() == s.sites_keys[0].get_secret_value()
    assert isinstance(again.apollo_api_key, SecretStr) and again.apollo_api_key.get_secret_value() == "k"
    assert again.topic_partitions == 3


def test_origins_take_json_or_commas() -> None:
    assert Settings(cors_origins="https://a.example, https://b.example").global_origins == [
        "https://a.example",
        "https://b.example",
    ]
    assert Settings(cors_origins='["https://a.example"]').global_origins == ["https://a.example"]


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("LEADSTREAM_EDGE_PORT", "eighty", "LEADSTREAM_EDGE_PORT='eighty'"),
        ("LEADSTREAM_SITES_KEYS", "not json", "LEADSTREAM_SITES_KEYS: not valid JSON"),
        ("LEADSTREAM_SITES_KEYS", '["short-and-secret"]', "is not a sealing key"),
    ],
)
def test_a_bad_value_stops_the_cli_naming_the_variable(name: str, value: str, said: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTREAM_")} | {name: value}
    done = subprocess.run(
        [sys.executable, "-m", "leadstream", "sites", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert said in done.stderr
    if "KEYS" in name:
        assert value not in done.stderr  # a secret is never repeated
