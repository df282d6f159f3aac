"""docker-compose.yml ships no secret: each is required (``${VAR:?…}``), Redis asks for a password,
Grafana has no anonymous access, and the worker's port is not published. With docker-compose
installed (CI installs it), the file is also rendered: refused without the secrets, valid with
those ``dev/compose-env.sh`` writes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from leadstream.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SECRETS = (
    "CLICKHOUSE_PASSWORD",
    "REDIS_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "LEADSTREAM_WORKER_TOKEN",
    "LEADSTREAM_ANALYST_TOKENS",
    "LEADSTREAM_SITES_KEYS",
)


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_secret_is_required_never_defaulted() -> None:
    text = COMPOSE.read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"(:?[-?][^}]*)?\}", text)
        assert uses, f"{name} is not used"
        assert all(u.startswith(":?") for u in uses), f"{name} has a default or is optional: {uses}"
    for key, value in _environment_values():
        if any(word in key.lower() for word in ("password", "token", "secret", "key")):
            assert "${" in value, f"{key} is set to a literal"


def _environment_values() -> list[tuple[str, str]]:
    found = []
    for service in services().values():
        env = service.get("environment") or {}
        found += [(k, str(v)) for k, v in env.items()]
    return found


def test_redis_requires_a_password_and_clients_send_it() -> None:
    redis = services()["redis"]
    assert "--requirepass" in " ".join(redis["command"])
    for name in ("worker", "edge"):
        assert services()[name]["environment"]["LEADSTREAM_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")


def test_grafana_has_no_anonymous_access() -> None:
    env = services()["grafana"]["environment"]
    assert str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env


def test_only_loopback_ports_and_never_the_workers() -> None:
    assert "ports" not in services()["worker"]
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed (CI installs it)")
def test_compose_refuses_missing_secrets_and_accepts_generated_ones(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    refused = _config(empty)
    assert refused.returncode != 0 and "dev/compose-env.sh" in refused.stderr
    generated = tmp_path / "generated.env"
    generated.write_text(subprocess.run([REPO_ROOT / "dev/compose-env.sh"], capture_output=True, text=True).stdout)
    rendered = _config(generated)
    assert rendered.returncode == 0, rendered.stderr
    for line in generated.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[0] in SECRETS


def _config(env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
        timeout=60,
    )
