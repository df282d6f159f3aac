"""The ``custom`` discovery source: a tenant's own companies and signals in the warehouse, read a page
at a time.

A tenant may have loaded millions of companies; discovery wants at most ``limit`` (1,000 at most) that
match its filters. Companies are read in ``company_id`` order, one bounded page per query (keyset: the
next page starts after the last id seen), each page narrowed in the query by the filters on the
company columns and checked exactly here, until ``limit`` have matched or the tenant has no more. Signals
are read only for the companies kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import orjson

from leadstream.salesos.stages import domain_key
from leadstream.storage.warehouse import QueryResult

PAGE_ROWS = 500  # companies one query reads at most
SIGNALS_PER_COMPANY = 500  # signals read per company at most
MAX_OWNER_ROWS = 10_000  # rows a look-up of the tenant's copies of providers' companies reads at most
SEARCHED_ROWS = 50_000  # companies a discovery-v2 query is matched against at most (the first, by id)
COMPANY_COLUMNS = ("company_id", "name", "domain", "industry", "size", "linkedin_url", "location")
_SELECT_COMPANIES = f"SELECT {', '.join(COMPANY_COLUMNS)}, data FROM os_companies_v"
_SELECT_SIGNALS = "SELECT signal_id, company_id, type, source, evidence, confidence, date, data FROM os_signals_v"

Record = dict[str, Any]
Accept = Callable[[Record, list[Record]], bool]  # a company and its signals -> keep it?


class Reads(Protocol):
    async def read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...


def _records(result: QueryResult) -> list[Record]:
    """Rows as records, the extra fields loaded with each (its ``data`` JSON) merged in."""
    rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    for row in rows:
        extra = orjson.loads(row.pop("data") or "{}")
        row.update({k: v for k, v in extra.items() if k not in row})
        row.pop("tenant_id", None)
    return rows


def _text(value: object) -> str:
    return str(value).strip().lower()


def matches(company: Mapping[str, Any], filters: Mapping[str, object]) -> bool:
    """Every filter equals the company's field as text, trimmed, case-insensitive (as ``discover`` checks)."""
    return all(_text(company.get(k)) == _text(v) for k, v in filters.items())


_PLAIN_WORDS = re.compile(r"[a-z][a-z0-9 ._@/&'-]*")  # as the extra fields' JSON spells it, whatever the type
_JSON_WORDS = frozenset({"true", "false", "null", "none", "nan", "inf", "infinity"})


def _narrowing(filters: Mapping[str, object]) -> tuple[str, dict[str, str]]:
    """SQL that keeps every row matching ``filters`` (and perhaps a few more, which :func:`matches`
    drops): the wanted text must occur in the column (ASCII text: the database folds case as Python
    does), or, for another key, in the extra fields' JSON (plain words only: a number or ``None`` is
    written differently there). A filter it cannot narrow safely is left to :func:`matches`."""
    clauses, params = [], {}
    for i, (key, value) in enumerate(filters.items()):
        wanted = _text(value)
        if not wanted or not wanted.isascii():
            continue  # empty: a missing field matches it too
        if key in COMPANY_COLUMNS:
            clauses.append(f"positionCaseInsensitiveUTF8({key}, {{f{i}:String}}) > 0")
        elif _PLAIN_WORDS.fullmatch(wanted) and wanted not in _JSON_WORDS:
            clauses.append(f"positionCaseInsensitiveUTF8(data, {{f{i}:String}}) > 0")
        else:
            continue
        params[f"f{i}"] = wanted
    return "".join(f" AND {c}" for c in clauses), params


class TenantCompanies:
    """Reads a tenant's companies and signals from the warehouse's ``os_companies_v`` / ``os_signals_v``."""

    def __init__(self, warehouse: Reads, page_rows: int = PAGE_ROWS) -> None:
        self._warehouse = warehouse
        self._page_rows = page_rows

    async def matching(
        self,
        tenant: str,
        limit: int,
        filters: Mapping[str, object] | None = None,
        accept: Accept | None = None,
        max_rows: int | None = None,
    ) -> tuple[list[Record], list[Record]]:
        """Up to ``limit`` of the tenant's companies, in id order, matching ``filters`` and ``accept``; and
        the signals of those companies. Reads a page at a time and stops once ``limit`` have matched, or
        once ``max_rows`` companies have been read (a bound for a test the query cannot narrow)."""
        filters = dict(filters or {})
        narrowing, params = _narrowing(filters)
        kept: list[Record] = []
        signals: list[Record] = []
        after = ""
        read = 0
        while len(kept) < limit and (max_rows is None or read < max_rows):
            page = max(1, min(self._page_rows, limit - len(kept)))
            result = await self._warehouse.read(
                f"{_SELECT_COMPANIES} WHERE tenant_id = {{tenant:String}} AND company_id > {{after:String}}"
                f"{narrowing} ORDER BY company_id LIMIT {{page:UInt32}}",
                {"tenant": tenant, "after": after, "page": page, **params},
            )
            rows = _records(result)
            read += len(rows)
            candidates = [c for c in rows if matches(c, filters)]
            found = await self.signals_of(tenant, [str(c["company_id"]) for c in candidates])
            by_company: dict[str, list[Record]] = {}
            for signal in found:
                by_company.setdefault(str(signal.get("company_id")), []).append(signal)
            for company in candidates:
                own = by_company.get(str(company["company_id"]), [])
                if len(kept) < limit and (accept is None or accept(company, own)):
                    kept.append(company)
                    signals.extend(own)
            if len(rows) < page:
                break  # the tenant has no more
            after = str(rows[-1]["company_id"])
        return kept, signals

    async def signals_of(self, tenant: str, company_ids: Sequence[str]) -> list[Record]:
        """The tenant's signals about these companies (at most :data:`SIGNALS_PER_COMPANY` each)."""
        if not company_ids:
            return []
        result = await self._warehouse.read(
            f"{_SELECT_SIGNALS} WHERE tenant_id = {{tenant:String}} AND company_id IN {{ids:Array(String)}} "
            f"ORDER BY company_id, signal_id LIMIT {SIGNALS_PER_COMPANY} BY company_id",
            {"tenant": tenant, "ids": list(dict.fromkeys(company_ids))},
        )
        return _records(result)

    async def copies_of(self, tenant: str, found: Iterable[Mapping[str, Any]], known: Iterable[str]) -> list[Record]:
        """The tenant's companies, other than the ``known`` ids, that share an id or a domain with a
        provider's ``found`` companies: discovery lists the tenant's copy and leaves the provider's out."""
        found = list(found)
        ids = {str(c.get("company_id")) for c in found if c.get("company_id") not in (None, "")}
        domains = {d for d in (domain_key(c.get("domain")) for c in found) if d}
        if not ids and not domains:
            return []
        result = await self._warehouse.read(
            f"{_SELECT_COMPANIES} WHERE tenant_id = {{tenant:String}} AND (company_id IN {{ids:Array(String)}} "
            "OR arrayExists(d -> positionCaseInsensitiveUTF8(domain, d) > 0, {domains:Array(String)})) "
            f"ORDER BY company_id LIMIT {MAX_OWNER_ROWS}",
            {"tenant": tenant, "ids": sorted(ids), "domains": sorted(domains)},
        )
        skip = set(known)
        return [
            c
            for c in _records(result)
            if str(c["company_id"]) not in skip
            and (str(c["company_id"]) in ids or domain_key(c.get("domain")) in domains)
        ]
