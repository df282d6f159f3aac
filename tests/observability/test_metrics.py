"""The metric catalogue: Prometheus naming, every metric documented, the dashboard references only real ones."""

from __future__ import annotations

import json
import re

from prometheus_client import Counter, Histogram

from leadstream.observability import metrics as m
from leadstream.settings import REPO_ROOT

SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def families() -> dict[str, object]:
    return {
        v._name + ("_total" if isinstance(v, Counter) else ""): v
        for v in vars(m).values()
        if isinstance(v, m.Counter | m.Gauge | m.Histogram)
    }


def test_names_follow_prometheus_conventions() -> None:
    for name, metric in families().items():
        assert name.startswith("leadstream_"), name
        assert re.fullmatch(r"[a-z_]+", name), name
        if isinstance(metric, Counter):
            assert name.endswith("_total"), name
        else:
            assert not name.endswith("_total"), name
        if "duration" in name or "delay" in name or "age" in name:
            assert name.endswith("_seconds"), name
        if isinstance(metric, Histogram) and not name.endswith("_seconds"):
            assert name.endswith("_records"), name  # the one histogram of counts says its unit


def test_every_metric_is_documented() -> None:
    doc = (REPO_ROOT / "docs" / "operations.md").read_text()
    missing = [name for name in families() if f"`{name}`" not in doc]
    assert not missing, f"not in docs/operations.md: {missing}"
    documented = set(re.findall(r"`(leadstream_[a-z_]+)`", doc))
    assert documented <= set(families()), f"documented but not exported: {documented - set(families())}"


def referenced(expr: str) -> set[str]:
    names = set()
    for name in re.findall(r"\bleadstream_[a-z_]+", expr):
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in families():
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def test_the_dashboard_references_only_exported_metrics() -> None:
    dashboard = json.loads((REPO_ROOT / "docs" / "grafana" / "leadstream.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    used = set().union(*(referenced(e) for e in exprs))
    assert used, "the dashboard references no metric"
    assert used <= set(families()), f"unknown metrics: {used - set(families())}"
    titles = {p["title"].lower() for p in dashboard["panels"]}
    for panel in (
        "ingest rate",
        "4xx / 5xx",
        "produce latency",
        "lag per group",
        "sink rate",
        "freshness",
        "dead letters",
    ):
        assert any(panel in t for t in titles), f"no panel for {panel}: {sorted(titles)}"


def test_reason_classes_are_bounded() -> None:
    assert m.reason_class("invalid meta.fp: String should have at most 128 characters") == "invalid meta.fp"
    assert m.reason_class("invalid events.12.s: Field required") == "invalid events.N.s"
    assert m.reason_class("") == "unknown"
    assert len(m.reason_class("x" * 500)) == 60


def test_the_edge_tallies_add_up_as_direct_observations_would() -> None:
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from leadstream.observability.edge import _HistogramTally

    registry = CollectorRegistry()
    direct = Histogram("direct_seconds", "d", buckets=m.LATENCY_BUCKETS, registry=registry)
    tallied = Histogram("tallied_seconds", "t", buckets=m.LATENCY_BUCKETS, registry=registry)
    tally = _HistogramTally(tallied)
    values = [0.0, 0.001, 0.0011, 0.004, 0.005, 0.7, 10.0, 11.0, 1e9]
    for v in values:
        direct.observe(v)
        tally.observe(v)
    tally.flush()
    tally.flush()  # nothing new: nothing added

    def lines(prefix: str) -> list[str]:
        body = generate_latest(registry).decode()
        ours = (line.removeprefix(prefix) for line in body.splitlines() if line.startswith(prefix + "_"))
        return [line for line in ours if not line.startswith("_created")]

    assert lines("direct_seconds") == lines("tallied_seconds")
