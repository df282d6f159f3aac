"""Reading a /metrics page in tests."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def samples(url: str) -> list[tuple[str, dict[str, str], float]]:
    body = httpx.get(url, timeout=10).text
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(body) for s in family.samples]


def total(url: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for n, ls, v in samples(url) if n == name and all(ls.get(k) == x for k, x in labels.items()))
