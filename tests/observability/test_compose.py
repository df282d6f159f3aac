"""docker-compose.yml (no Docker engine here): healthchecks on both processes, and the monitoring
profile's Prometheus and Grafana wired to the endpoints and the dashboard that exist."""

from __future__ import annotations

import yaml

from leadstream.settings import REPO_ROOT


def load(path: str) -> dict:
    return yaml.safe_load((REPO_ROOT / path).read_text())


def test_edge_and_worker_healthchecks_use_their_health_endpoints() -> None:
    services = load("docker-compose.yml")["services"]
    assert "/healthz" in " ".join(services["edge"]["healthcheck"]["test"])
    assert "/leadstream/health" in " ".join(services["worker"]["healthcheck"]["test"])
    # the worker binds beyond loopback there: its write endpoints get a token
    assert services["worker"]["environment"]["LEADSTREAM_WORKER_HOST"] == "0.0.0.0"
    assert services["worker"]["environment"]["LEADSTREAM_WORKER_TOKEN"]


def test_monitoring_profile_scrapes_both_and_provisions_the_dashboard() -> None:
    services = load("docker-compose.yml")["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    for name, service in services.items():
        if name not in ("prometheus", "grafana"):
            assert "profiles" not in service, f"{name} must run without a profile"
    mounts = {v.split(":")[0]: v.split(":")[1] for v in services["grafana"]["volumes"]}
    assert mounts["./docs/grafana"] == "/var/lib/grafana/dashboards/leadstream"
    for host_path in (p for p in [*mounts, *services["prometheus"]["volumes"]] if p.startswith("./")):
        assert (REPO_ROOT / host_path.split(":")[0]).exists(), host_path
    provider = load("dev/grafana/dashboards/leadstream.yml")["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/leadstream"
    scrape = load("dev/prometheus.yml")["scrape_configs"]
    assert {t for job in scrape for c in job["static_configs"] for t in c["targets"]} == {"edge:8000", "worker:6066"}
