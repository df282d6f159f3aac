"""The ``custom`` discovery source on a real embedded warehouse: a page of the tenant's companies at a
time, filters narrowed in the query and checked exactly, signals only for the companies kept, the
tenant's copies of providers' companies, and never another tenant's rows."""

from __future__ import annotations

from typing import Any

import pytest

from leadstream.providers.custom import TenantCompanies, matches
from leadstream.storage.warehouse import QueryResult, Warehouse
from tests.providers.tenant_rows import company, insert, signal

pytestmark = pytest.mark.integration


class CountingReads:
    """The real warehouse, counting the rows each query returns."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.rows_read: list[int] = []

    async def read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        result = await self.warehouse.read(sql, parameters)
        if "os_companies_v" in sql:
            self.rows_read.append(len(result.rows))
        return result


async def load(warehouse: Warehouse) -> None:
    rows = [company("acme", n) for n in range(1, 61)]
    rows[4] = company("acme", 5, industry=" Retail ")  # padded and capitalised: still equal to "retail"
    rows[9] = company("acme", 10, industry="Retailers")  # contains "retail" but is not it
    rows[14] = company("acme", 15, industry="retail", data={"tier": "Gold"})
    rows[19] = company("acme", 20, domain="https://www.gulfpayroll.ae/about")
    rows += [company("globex", n, industry="retail") for n in range(1, 6)]
    signals = [signal("acme", n, k, f"hiring {k}") for n in (1, 2, 15) for k in range(3)]
    globex = signal("globex", 1, 99, "globex's")
    globex[1] = "s-g"
    await insert(warehouse, rows, [*signals, globex])


async def test_reads_a_page_at_a_time_and_stops_at_the_limit(warehouse: Warehouse) -> None:
    await load(warehouse)
    reads = CountingReads(warehouse)
    found, signals = await TenantCompanies(reads, page_rows=7).matching("acme", 12)
    assert [c["company_id"] for c in found] == [f"c-{n:03d}" for n in range(1, 13)]
    assert max(reads.rows_read) <= 7 and sum(reads.rows_read) == 12  # never the tenant's 60
    assert {s["signal_id"] for s in signals} == {f"s-{n}-{k}" for n in (1, 2) for k in range(3)}


async def test_filters_are_exact_and_read_only_what_may_match(warehouse: Warehouse) -> None:
    await load(warehouse)
    reads = CountingReads(warehouse)
    found, _ = await TenantCompanies(reads).matching("acme", 100, {"industry": "RETAIL"})
    assert [c["company_id"] for c in found] == ["c-005", "c-015"]  # not "Retailers", not globex's
    assert sum(reads.rows_read) == 3  # the query kept the three that contain "retail"
    gold, _ = await TenantCompanies(reads).matching("acme", 100, {"tier": "gold"})  # an extra field
    assert [c["company_id"] for c in gold] == ["c-015"] and gold[0]["tier"] == "Gold"


async def test_accept_sees_each_company_with_its_signals(warehouse: Warehouse) -> None:
    await load(warehouse)
    found, signals = await TenantCompanies(warehouse, page_rows=5).matching(
        "acme", 10, accept=lambda c, own: len(own) == 3
    )
    assert [c["company_id"] for c in found] == ["c-001", "c-002", "c-015"]
    assert len(signals) == 9


async def test_copies_of_providers_companies(warehouse: Warehouse) -> None:
    await load(warehouse)
    custom = TenantCompanies(warehouse)
    found = [{"company_id": "apollo:1", "domain": "gulfpayroll.ae"}, {"company_id": "c-030", "domain": None}]
    copies = await custom.copies_of("acme", found, known=["c-001"])
    assert sorted(c["company_id"] for c in copies) == ["c-020", "c-030"]
    assert await custom.copies_of("acme", found, known=["c-020", "c-030"]) == []
    assert await custom.copies_of("globex", [{"company_id": "x", "domain": "c020.ae"}], known=[]) == []


async def test_another_tenant_is_never_read(warehouse: Warehouse) -> None:
    await load(warehouse)
    found, signals = await TenantCompanies(warehouse).matching("globex", 100)
    assert [c["company_id"] for c in found] == [f"c-{n:03d}" for n in range(1, 6)]
    assert [s["signal_id"] for s in signals] == ["s-g"]
    assert await TenantCompanies(warehouse).matching("nobody", 100) == ([], [])


def test_matches_is_the_discovery_rule() -> None:
    assert matches({"industry": " Banking "}, {"industry": "banking"})
    assert not matches({"industry": "banking"}, {"industry": "bank"})
    assert matches({}, {"tier": None}) and matches({"size": 25}, {"size": "25"})


async def test_a_test_the_query_cannot_narrow_reads_at_most_max_rows(warehouse: Warehouse) -> None:
    await load(warehouse)
    reads = CountingReads(warehouse)
    found, _ = await TenantCompanies(reads, page_rows=5).matching("acme", 10, accept=lambda c, s: False, max_rows=12)
    assert found == [] and sum(reads.rows_read) == 15  # three pages of five, then it stops
