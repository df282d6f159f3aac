"""A validated query and its resolved range -> parameterised SQL.

Two ways to the same numbers:

- **rollup**: ``stats_hourly`` (per site, hour, dimension and value; ``rollup``) for the hours its
  last refresh covers, and the same rows computed live for the hours after (the *tail*), merged.
  Taken when the range falls on whole hours of the site's zone, at most one non-time dimension is
  grouped, and the only filter (if any) is on that dimension (or, with no other dimension, on one
  visit dimension or one page).
- **visits**: what the hourly rollup cannot answer: the stored per-visit rows (``stats_visits``)
  up to the last refresh and the same rows computed live for the tail, then filtered and grouped
  any way the query asks.
- **exact**: visits computed from ``events_v`` for the range (``sessions_sql``), then filtered
  and grouped the same way (the engine with the rollup off).

All end in the same SQL for each metric, over the same per-visit facts, so they agree to the
unit. A visit belongs to the range its first event falls in, and carries all its events with it;
time buckets place a visit (and its pageviews) at its start. ``calls`` and ``matched_calls`` come
from ``calls_v`` by the call's own time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from leadstream.stats.dates import Range, whole_hours
from leadstream.stats.query import CALL_METRICS, PAGE, VISIT_DIMENSIONS, Filter, Leaf, StatsQuery
from leadstream.stats.sessions_sql import COLUMN, pages_sql, visits_sql

LOOKAROUND = timedelta(days=1)  # a visit is read from its events within a day either side of the range
_TS = "DateTime64(3, 'UTC')"
_UNIT_FACTS = "session_id, visitor, start, is_bounce, duration_ms, pageviews, events, conversions, score_sum, score_n"
_PROPS = ", ".join(COLUMN.values())

# metric -> SQL over unit rows (exact) / over rollup rows
EXACT_METRICS = {
    "visitors": "uniq(visitor)",
    "visits": "count()",
    "pageviews": "sum(pageviews)",
    "events": "sum(events)",
    "bounce_rate": (
        "if(countIf(entered = 1) = 0, 0, round(100 * countIf(entered = 1 AND is_bounce = 1) / countIf(entered = 1)))"
    ),
    "visit_duration": "if(count() = 0, 0, round(sum(duration_ms) / 1000 / count()))",
    "views_per_visit": "if(count() = 0, 0, round(sum(pageviews) / count(), 2))",
    "leads": "sum(conversions)",
    "avg_lead_score": "if(sum(score_n) = 0, 0, round(sum(score_sum) / sum(score_n), 1))",
}
ROLLUP_METRICS = {
    "visitors": "uniqMerge(visitors)",
    "visits": "sum(visits)",
    "pageviews": "sum(pageviews)",
    "events": "sum(events)",
    "bounce_rate": "if(sum(entries) = 0, 0, round(100 * sum(bounces) / sum(entries)))",
    "visit_duration": "if(sum(visits) = 0, 0, round(sum(duration_ms) / 1000 / sum(visits)))",
    "views_per_visit": "if(sum(visits) = 0, 0, round(sum(pageviews) / sum(visits), 2))",
    "leads": "sum(conversions)",
    "avg_lead_score": "if(sum(score_n) = 0, 0, round(sum(score_sum) / sum(score_n), 1))",
}
FLOAT_METRICS = frozenset({"views_per_visit", "avg_lead_score", "percentage"})


def granularity(query: StatsQuery, rng: Range) -> str | None:
    """The time dimension's bucket: ``time`` picks hour (up to 2 days), day (up to 40), else month."""
    dimension = query.time_dimension
    if dimension is None or dimension != "time":
        return dimension.split(":", 1)[1] if dimension else None
    days = rng.seconds / 86400
    return "hour" if days <= 2 else "day" if days <= 40 else "month"


def bucket_sql(column: str, unit: str) -> str:
    """A time bucket's label in the site's zone (``{tz:String}``), as Plausible writes it."""
    return {
        "hour": f"formatDateTime(toStartOfHour({column}, {{tz:String}}), '%Y-%m-%d %H:00:00', {{tz:String}})",
        "day": f"toString(toDate({column}, {{tz:String}}))",
        "week": f"toString(toMonday({column}, {{tz:String}}))",
        "month": f"toString(toStartOfMonth({column}, {{tz:String}}))",
    }[unit]


@dataclass
class Params:
    values: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, kind: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{kind}}}"


def _leaf_sql(leaf: Leaf, column: str, params: Params) -> str:
    values = list(leaf.values)
    op = leaf.op.removesuffix("_not")
    if op == "is":
        target = column if leaf.case_sensitive else f"lowerUTF8({column})"
        wanted = values if leaf.case_sensitive else [v.lower() for v in values]
        sql = f"{target} IN {params.bind(wanted, 'Array(String)')}"
    elif op == "contains":
        find = "position" if leaf.case_sensitive else "positionCaseInsensitiveUTF8"
        sql = " OR ".join(f"{find}({column}, {params.bind(v, 'String')}) > 0" for v in values)
    else:
        flags = "" if leaf.case_sensitive else "(?i)"
        sql = " OR ".join(f"match({column}, {params.bind(flags + v, 'String')})" for v in values)
    return f"NOT ({sql})" if leaf.op.endswith("_not") else f"({sql})"


def filter_sql(node: Filter, params: Params, column_of: dict[str, str]) -> str:
    if isinstance(node, Leaf):
        return _leaf_sql(node, column_of[node.dimension], params)
    parts = [filter_sql(child, params, column_of) for child in node.children]
    if node.op == "not":
        return f"NOT ({parts[0]})"
    return "(" + f" {node.op.upper()} ".join(parts) + ")"


UNIT_COLUMNS = {**COLUMN, PAGE: "page"}


@dataclass(frozen=True)
class Plan:
    """SQL whose columns are ``d0..`` (dimensions), ``m_<metric>`` and, last, ``total_rows``."""

    sql: str
    params: dict[str, Any]
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    paginated: bool = True  # LIMIT/OFFSET applied in SQL (else by the caller)
    way: str = "exact"  # exact | rollup | visits | calls
    stored_only: bool = False  # reads only rollup rows a refresh wrote: the same until the next one


def rollup_dimension(query: StatsQuery, rng: Range) -> str | None:
    """The rollup dimension that answers ``query`` ('' for the totals), or None: exact tables."""
    if not whole_hours(rng):
        return None
    grouped = [d for d in query.dimensions if not d.startswith("time")]
    if len(grouped) > 1 or len(query.filters) > 1:
        return None
    dimension = grouped[0] if grouped else ""
    if not query.filters:
        return dimension
    leaf = query.filters[0]
    if not isinstance(leaf, Leaf):
        return None
    if dimension:
        return dimension if leaf.dimension == dimension else None
    if leaf.dimension in VISIT_DIMENSIONS:
        return leaf.dimension
    if leaf.dimension == PAGE and leaf.op == "is" and len(leaf.values) == 1 and leaf.case_sensitive:
        return PAGE  # a visit's pages differ, so one page's rows count each visit once
    return None


def _order_sql(query: StatsQuery, dims: list[str]) -> str:
    alias = {d: f"d{i}" for i, d in enumerate(query.dimensions)} | {m: f"m_{m}" for m in query.metrics}
    alias |= {"percentage": "m_visitors"}
    terms = [f"{alias[name]} {direction.upper()}" for name, direction in query.order_by if name not in CALL_METRICS]
    terms += [f"{d} ASC" for d in dims if f"{d} ASC" not in terms and f"{d} DESC" not in terms]
    return " ORDER BY " + ", ".join(terms) if terms else ""


def _select(query: StatsQuery, dim_sql: list[str], formulas: dict[str, str]) -> str:
    metrics = [m for m in query.metrics if m not in CALL_METRICS]
    if "percentage" in metrics and "visitors" not in metrics:
        metrics.append("visitors")  # the caller divides by the total
    columns = [f"{sql} AS d{i}" for i, sql in enumerate(dim_sql)]
    columns += [f"{formulas[m]} AS m_{m}" for m in metrics if m != "percentage"]
    return ", ".join([*columns, "count() OVER () AS total_rows"])


def _tail(query: StatsQuery) -> tuple[str, ...]:
    return tuple(m for m in query.metrics if m not in CALL_METRICS)


_VISIT_UNITS = f"SELECT {_UNIT_FACTS}, toUInt8(1) AS entered, {_PROPS}, '' AS page FROM visits"
# (visit, page) units from stored visit rows: their pages' facts are parallel arrays.
_PAGE_UNITS_STORED = f"""
SELECT session_id, visitor, start, is_bounce, duration_ms, toUInt8(entry_raw = page) AS entered,
    u_pageviews AS pageviews, u_events AS events, u_conversions AS conversions, u_score_sum AS score_sum,
    u_score_n AS score_n, {_PROPS}, page
FROM visits ARRAY JOIN pages AS page, page_pageviews AS u_pageviews, page_events AS u_events,
    page_conversions AS u_conversions, page_score_sum AS u_score_sum, page_score_n AS u_score_n"""


def exact_plan(query: StatsQuery, rng: Range, unit: str | None) -> Plan:
    params = Params({"site": query.site_id, "from": rng.start, "to": rng.end, "tz": rng.zone})
    params.values |= {"scan_from": rng.start - LOOKAROUND, "scan_to": rng.end + LOOKAROUND}
    site = "site_id = {site:String}"
    in_range = f"{site} AND received_at >= {{from:{_TS}}} AND received_at < {{to:{_TS}}}"
    scan = (
        f"{site} AND received_at >= {{scan_from:{_TS}}} AND received_at < {{scan_to:{_TS}}} "
        f"AND session_id IN (SELECT session_id FROM events_v WHERE {in_range})"
    )
    visits = visits_sql(scan, f"HAVING start >= {{from:{_TS}}} AND start < {{to:{_TS}}}")
    if query.has_page:
        units = f"""
SELECT v.session_id AS session_id, v.visitor AS visitor, v.start AS start, v.is_bounce AS is_bounce,
    v.duration_ms AS duration_ms, toUInt8(v.entry_raw = p.page) AS entered, p.page_pageviews AS pageviews,
    p.page_events AS events, p.page_conversions AS conversions, p.page_score_sum AS score_sum,
    p.page_score_n AS score_n, {", ".join(f"v.{c} AS {c}" for c in COLUMN.values())}, p.page AS page
FROM ({pages_sql(scan + " AND session_id IN (SELECT session_id FROM visits)")}) AS p
INNER JOIN visits AS v ON v.session_id = p.session_id"""
    else:
        units = _VISIT_UNITS
    return _units_plan(query, unit, params, visits, units)


def visits_plan(query: StatsQuery, rng: Range, unit: str | None, tail_from: datetime | None) -> Plan:
    """Over the stored visit rows (``stats_visits``) up to ``tail_from`` and visit rows computed
    live after it: any filter and grouping, without recomputing the stored visits from events."""
    from leadstream.stats.rollup import live_visits_sql, stored_visits_sql

    params = Params({"site": query.site_id, "from": rng.start, "to": rng.end, "tz": rng.zone})
    split = rng.start if tail_from is None else min(max(tail_from, rng.start), rng.end)
    params.values |= {"split": split, "scan_from": split - LOOKAROUND, "scan_to": rng.end + LOOKAROUND}
    parts = []
    if split > rng.start:
        parts.append(stored_visits_sql(_on_hour(rng.start) and _on_hour(split)))
    if split < rng.end:
        parts.append(live_visits_sql())
    visits = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts)
    units = _PAGE_UNITS_STORED if query.has_page else _VISIT_UNITS
    plan = _units_plan(query, unit, params, visits, units)
    return replace(plan, way="visits", stored_only=split >= rng.end)


def _on_hour(at: datetime) -> bool:
    return at.minute == 0 and at.second == 0 and at.microsecond == 0 and at.utcoffset() in (None, timedelta(0))


def _units_plan(query: StatsQuery, unit: str | None, params: Params, visits: str, units: str) -> Plan:
    """The query over per-visit units (one per visit, or per visit and page): filtered, grouped, metrics."""
    where = " AND ".join(filter_sql(f, params, UNIT_COLUMNS) for f in query.filters) or "1"
    source = f"SELECT * FROM units WHERE {where}"
    if query.has_page and PAGE not in query.dimensions:  # each visit once, entered if it entered on a page that passed
        source = (
            f"SELECT session_id, any(visitor) AS visitor, any(start) AS start, any(is_bounce) AS is_bounce, "
            f"any(duration_ms) AS duration_ms, max(entered) AS entered, sum(pageviews) AS pageviews, "
            f"sum(events) AS events, sum(conversions) AS conversions, sum(score_sum) AS score_sum, "
            f"sum(score_n) AS score_n, {', '.join(f'any({c}) AS {c}' for c in COLUMN.values())} "
            f"FROM units WHERE {where} GROUP BY session_id"
        )
    dim_sql = [
        bucket_sql("start", unit) if d.startswith("time") and unit else UNIT_COLUMNS[d] for d in query.dimensions
    ]
    dims = [f"d{i}" for i in range(len(dim_sql))]
    group = f" GROUP BY {', '.join(dims)}" if dims else ""
    sql = (
        f"WITH visits AS ({visits}), units AS ({units}) "
        f"SELECT {_select(query, dim_sql, EXACT_METRICS)} FROM ({source}){group}"
        f"{_order_sql(query, dims)} LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}"
    )
    params.values |= {"limit": query.limit, "offset": query.offset}
    return Plan(sql, params.values, query.dimensions, _tail(query))


def rollup_plan(query: StatsQuery, rng: Range, unit: str | None, dimension: str, tail_from: datetime | None) -> Plan:
    """Over ``stats_hourly`` up to ``tail_from`` (the hour the last refresh covers; None: no
    refresh yet, all live), and live rows from there to the range's end."""
    from leadstream.stats.rollup import live_rows_sql, stored_rows_sql

    params = Params({"site": query.site_id, "from": rng.start, "to": rng.end, "tz": rng.zone, "dim": dimension})
    split = rng.start if tail_from is None else min(max(tail_from, rng.start), rng.end)
    params.values |= {"split": split, "scan_from": split - LOOKAROUND, "scan_to": rng.end + LOOKAROUND}
    parts = []
    if split > rng.start:
        parts.append(stored_rows_sql())
    if split < rng.end:
        parts.append(live_rows_sql(dimension))
    rows = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts)
    where = " AND ".join(filter_sql(f, params, {query.filters[0].dimension: "value"}) for f in query.filters) or "1"  # type: ignore[union-attr]
    dim_sql = [bucket_sql("hour", unit) if d.startswith("time") and unit else "value" for d in query.dimensions]
    dims = [f"d{i}" for i in range(len(dim_sql))]
    group = f" GROUP BY {', '.join(dims)}" if dims else ""
    sql = (
        f"SELECT {_select(query, dim_sql, ROLLUP_METRICS)} FROM ({rows}) WHERE {where}{group}"
        f"{_order_sql(query, dims)} LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}"
    )
    params.values |= {"limit": query.limit, "offset": query.offset}
    return Plan(sql, params.values, query.dimensions, _tail(query), way="rollup", stored_only=split >= rng.end)


def calls_plan(query: StatsQuery, rng: Range, unit: str | None) -> Plan:
    """``calls`` and ``matched_calls`` by the call's time (no other dimension or filter reaches here)."""
    dim_sql = [bucket_sql("received_at", unit)] if unit else []
    dims = [f"d{i}" for i in range(len(dim_sql))]
    columns = [f"{sql} AS d{i}" for i, sql in enumerate(dim_sql)] + [
        "count() AS m_calls",
        "countIf(status = 'matched') AS m_matched_calls",
    ]
    group = f" GROUP BY {', '.join(dims)}" if dims else ""
    sql = (
        f"SELECT {', '.join(columns)} FROM calls_v WHERE site_id = {{site:String}} "
        f"AND received_at >= {{from:{_TS}}} AND received_at < {{to:{_TS}}}{group}"
    )
    params = {"site": query.site_id, "from": rng.start, "to": rng.end, "tz": rng.zone}
    return Plan(sql, params, query.dimensions, ("calls", "matched_calls"), paginated=False, way="calls")


def plans(
    query: StatsQuery, rng: Range, tail_from: datetime | None, rollup: bool = True, hourly: bool = False
) -> list[Plan]:
    """The queries that answer ``query``: visits' metrics and/or the calls'. Visits' metrics come
    from the stored visit rows (``rollup``; else the exact views); ``hourly`` reads the hourly
    rows instead where they answer (at 10M events they merge more visitor states than the
    visit rows hold visits, so they are slower: kept for analysts and for comparison)."""
    unit = granularity(query, rng)
    found = []
    wants_calls = any(m in CALL_METRICS for m in query.metrics)
    if _tail(query):
        dimension = rollup_dimension(query, rng) if rollup and hourly else None
        if not rollup:
            found.append(exact_plan(query, rng, unit))
        elif dimension is None:
            found.append(visits_plan(query, rng, unit, tail_from))
        else:
            found.append(rollup_plan(query, rng, unit, dimension, tail_from))
    if wants_calls:
        found.append(calls_plan(query, rng, unit))
    if len(found) > 1:  # merged by the caller, so ordered and paginated there too
        found = [_unpaginated(p) for p in found]
    return found


def _unpaginated(plan: Plan) -> Plan:
    if not plan.paginated:
        return plan
    params = plan.params | {"limit": 1_000_000, "offset": 0}
    return Plan(plan.sql, params, plan.dimensions, plan.metrics, False, plan.way, plan.stored_only)
