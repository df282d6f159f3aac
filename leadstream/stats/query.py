"""A Plausible Stats API v2 request, validated into a ``StatsQuery``.

The request model (``QueryRequest``) types the body for OpenAPI and refuses unknown keys; the
checks after it follow Plausible's rules (metrics unique, ``percentage`` needs dimensions,
``views_per_visit`` none, ``order_by`` only what was queried, ...). Every refusal is a
``StatsQueryError`` whose message names the field, e.g. ``#/metrics/0: Invalid metric "x"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadstream.stats.errors import StatsQueryError

PLAUSIBLE_METRICS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events")
OWN_METRICS = ("leads", "calls", "matched_calls", "avg_lead_score")
METRICS = (*PLAUSIBLE_METRICS, "percentage", *OWN_METRICS)
CALL_METRICS = frozenset({"calls", "matched_calls"})
GOAL_METRICS = ("conversion_rate", "group_conversion_rate")

VISIT_DIMENSIONS = (
    "visit:source",
    "visit:referrer",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "visit:utm_content",
    "visit:utm_term",
    "visit:device",
    "visit:browser",
    "visit:os",
    "visit:entry_page",
    "visit:exit_page",
)
PAGE = "event:page"
TIME_DIMENSIONS = ("time", "time:hour", "time:day", "time:week", "time:month")
DIMENSIONS = (PAGE, *VISIT_DIMENSIONS, *TIME_DIMENSIONS)
# Named by Plausible, not held by leadstream's data: refused with the reason.
UNAVAILABLE = {
    "visit:country": "leadstream keeps no visitor location (no IP address is stored)",
    "visit:region": "leadstream keeps no visitor location (no IP address is stored)",
    "visit:city": "leadstream keeps no visitor location (no IP address is stored)",
    "visit:country_name": "leadstream keeps no visitor location (no IP address is stored)",
    "visit:region_name": "leadstream keeps no visitor location (no IP address is stored)",
    "visit:city_name": "leadstream keeps no visitor location (no IP address is stored)",
    "event:goal": "goals are not supported yet",
}
OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
MAX_LIMIT = 10_000


class Include(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    imports: bool = False
    time_labels: bool = Field(default=False, description="all time buckets of the range in meta.time_labels")
    total_rows: bool = Field(default=False, description="rows before pagination in meta.total_rows")


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0)


class QueryRequest(BaseModel):
    """``POST /api/v2/query``: Plausible's query, leadstream's site id."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"site_id": "shop", "metrics": ["visitors", "pageviews", "bounce_rate"], "date_range": "7d"},
                {
                    "site_id": "shop",
                    "metrics": ["visitors", "visits"],
                    "date_range": ["2025-01-01", "2025-01-31"],
                    "dimensions": ["visit:source"],
                    "filters": [["is", "visit:device", ["Mobile"]]],
                    "order_by": [["visitors", "desc"]],
                    "include": {"total_rows": True},
                    "pagination": {"limit": 10, "offset": 0},
                },
                {
                    "site_id": "shop",
                    "metrics": ["visitors", "leads", "calls"],
                    "date_range": "30d",
                    "dimensions": ["time:day"],
                },
            ]
        },
    )

    site_id: str = Field(min_length=1, max_length=128, description="the leadstream site id")
    metrics: list[str] = Field(min_length=1, description=f"unique; any of {', '.join(METRICS)}")
    date_range: str | list[str] = Field(
        description='"day", "7d", "30d", any "Nd", "month", "6mo", "12mo", any "Nmo", "year", "all", '
        "or [from, to]: two ISO dates (inclusive) or two ISO datetimes with an offset"
    )
    dimensions: list[str] = Field(default_factory=list, description=f"any of {', '.join(DIMENSIONS)}")
    filters: list[Any] = Field(
        default_factory=list,
        description="AND-ed; a leaf is [op, dimension, [values]] (op: is, is_not, contains, contains_not, matches, "
        'matches_not; optional 4th {"case_sensitive": false}); trees ["and", [...]], ["or", [...]], ["not", f]',
    )
    order_by: list[tuple[str, Literal["asc", "desc"]]] | None = None
    include: Include | None = None
    pagination: Pagination | None = None


@dataclass(frozen=True)
class Leaf:
    op: str
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True)
class Tree:
    op: Literal["and", "or", "not"]
    children: tuple[Filter, ...]


Filter = Leaf | Tree


@dataclass(frozen=True)
class StatsQuery:
    site_id: str
    metrics: tuple[str, ...]
    date_range: str | list[str]
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    include: Include = field(default_factory=Include)
    limit: int = MAX_LIMIT
    offset: int = 0

    @property
    def time_dimension(self) -> str | None:
        return next((d for d in self.dimensions if d.startswith("time")), None)

    @property
    def has_page(self) -> bool:
        return PAGE in self.dimensions or any(PAGE in dims_of(f) for f in self.filters)

    def echo(self, resolved_range: list[str]) -> dict[str, Any]:
        """The normalised query, as Plausible echoes it."""
        return {
            "site_id": self.site_id,
            "metrics": list(self.metrics),
            "date_range": resolved_range,
            "dimensions": list(self.dimensions),
            "filters": [to_json(f) for f in self.filters],
            "order_by": [list(o) for o in self.order_by],
            "include": self.include.model_dump(),
            "pagination": {"limit": self.limit, "offset": self.offset},
        }


def dims_of(node: Filter) -> set[str]:
    if isinstance(node, Leaf):
        return {node.dimension}
    return set().union(*(dims_of(c) for c in node.children))


def to_json(node: Filter) -> list[Any]:
    if isinstance(node, Leaf):
        leaf: list[Any] = [node.op, node.dimension, list(node.values)]
        if not node.case_sensitive:
            leaf.append({"case_sensitive": False})
        return leaf
    if node.op == "not":
        return ["not", to_json(node.children[0])]
    return [node.op, [to_json(c) for c in node.children]]


def _location(loc: tuple[int | str, ...]) -> str:
    return "#/" + "/".join(str(p) for p in loc if not (isinstance(p, str) and p in ("str", "list[str]")))


def parse(body: object) -> StatsQuery:
    """Validate a decoded JSON body; raises ``StatsQueryError`` naming the bad field."""
    if not isinstance(body, dict):
        raise StatsQueryError("#: the query must be a JSON object")
    if "site_id" not in body:
        raise StatsQueryError("#/site_id: Required property site_id was not present")
    try:
        request = QueryRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"])
        if first["type"] == "extra_forbidden":
            raise StatsQueryError(f"{where}: unknown property") from None
        if first["type"] == "missing":
            raise StatsQueryError(f"{where}: Required property {first['loc'][-1]} was not present") from None
        raise StatsQueryError(f"{where}: {first['msg']}") from None
    return _checked(request)


def _checked(request: QueryRequest) -> StatsQuery:
    metrics = tuple(request.metrics)
    for i, metric in enumerate(metrics):
        if metric in GOAL_METRICS:
            raise StatsQueryError(
                f"#/metrics/{i}: Metric `{metric}` can only be queried with event:goal filters or dimensions "
                "(goals are not supported yet)"
            )
        if metric not in METRICS:
            raise StatsQueryError(f'#/metrics/{i}: Invalid metric "{metric}"')
        if metric in metrics[:i]:
            raise StatsQueryError(f"#/metrics/{i}: Metrics cannot be queried multiple times (`{metric}`)")
    dimensions = tuple(request.dimensions)
    for i, dimension in enumerate(dimensions):
        if dimension in UNAVAILABLE:
            raise StatsQueryError(f'#/dimensions/{i}: Invalid dimension "{dimension}": {UNAVAILABLE[dimension]}')
        if dimension not in DIMENSIONS:
            raise StatsQueryError(f'#/dimensions/{i}: Invalid dimension "{dimension}"')
        if dimension in dimensions[:i]:
            raise StatsQueryError(f"#/dimensions/{i}: Dimensions cannot be queried multiple times (`{dimension}`)")
    if sum(d.startswith("time") for d in dimensions) > 1:
        raise StatsQueryError("#/dimensions: Only one time dimension can be queried at a time")
    filters = tuple(_filter(f, f"#/filters/{i}") for i, f in enumerate(request.filters))
    query_dims = set(dimensions) | set().union(*(dims_of(f) for f in filters))
    for i, metric in enumerate(metrics):
        if metric == "percentage" and not dimensions:
            raise StatsQueryError(f"#/metrics/{i}: Metric `percentage` can only be queried with a dimension")
        if metric == "views_per_visit" and dimensions:
            raise StatsQueryError(f"#/metrics/{i}: Metric `views_per_visit` cannot be queried with dimensions")
        if metric in CALL_METRICS and (query_dims - set(TIME_DIMENSIONS)):
            raise StatsQueryError(
                f"#/metrics/{i}: Metric `{metric}` can only be queried with time dimensions and without filters"
            )
    order_by = tuple((name, direction) for name, direction in request.order_by or ())
    for i, (name, _) in enumerate(order_by):
        if name not in metrics and name not in dimensions:
            raise StatsQueryError(
                f"#/order_by/{i}: Invalid order_by entry `{name}`: it must be a queried metric or dimension"
            )
    if not order_by:
        time_dimension = next((d for d in dimensions if d.startswith("time")), None)
        order_by = ((time_dimension, "asc"),) if time_dimension else ()
        order_by += ((metrics[0], "desc"),)
    include = request.include or Include()
    if include.time_labels and not any(d.startswith("time") for d in dimensions):
        raise StatsQueryError("#/include/time_labels: Invalid include.time_labels: requires a time dimension")
    pagination = request.pagination or Pagination()
    return StatsQuery(
        site_id=request.site_id,
        metrics=metrics,
        date_range=request.date_range,
        dimensions=dimensions,
        filters=filters,
        order_by=order_by,
        include=include,
        limit=pagination.limit,
        offset=pagination.offset,
    )


def _filter(node: object, where: str) -> Filter:
    if not isinstance(node, list) or not node or not isinstance(node[0], str):
        raise StatsQueryError(f"{where}: Invalid filter {_short(node)}")
    op = node[0]
    if op in ("and", "or"):
        if len(node) != 2 or not isinstance(node[1], list) or not node[1]:
            raise StatsQueryError(f"{where}: Invalid filter {_short(node)}: {op} takes a non-empty list of filters")
        return Tree(op, tuple(_filter(child, f"{where}/1/{i}") for i, child in enumerate(node[1])))
    if op == "not":
        if len(node) != 2:
            raise StatsQueryError(f"{where}: Invalid filter {_short(node)}: not takes one filter")
        return Tree("not", (_filter(node[1], f"{where}/1"),))
    if op not in OPERATORS:
        raise StatsQueryError(f'{where}/0: Invalid filter operator "{op}"')
    if len(node) not in (3, 4):
        raise StatsQueryError(f"{where}: Invalid filter {_short(node)}")
    dimension, values = node[1], node[2]
    if not isinstance(dimension, str):
        raise StatsQueryError(f"{where}/1: Invalid filter dimension {_short(dimension)}")
    if dimension.startswith("time"):
        raise StatsQueryError(f'{where}/1: Invalid filter dimension "{dimension}": time dimensions cannot be filtered')
    if dimension in UNAVAILABLE:
        raise StatsQueryError(f'{where}/1: Invalid filter dimension "{dimension}": {UNAVAILABLE[dimension]}')
    if dimension not in DIMENSIONS:
        raise StatsQueryError(f'{where}/1: Invalid filter dimension "{dimension}"')
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise StatsQueryError(f"{where}/2: filter values must be a non-empty list of strings")
    if any(len(v) > 2000 for v in values) or len(values) > 1000:
        raise StatsQueryError(f"{where}/2: filter values are too long or too many")
    case_sensitive = True
    if len(node) == 4:
        options = node[3]
        if not isinstance(options, dict) or set(options) - {"case_sensitive"}:
            raise StatsQueryError(f"{where}/3: Invalid filter options {_short(options)}")
        if not isinstance(options.get("case_sensitive", True), bool):
            raise StatsQueryError(f"{where}/3/case_sensitive: must be true or false")
        case_sensitive = options.get("case_sensitive", True)
    if op.startswith("matches"):
        for i, value in enumerate(values):
            _check_pattern(value, f"{where}/2/{i}")
    return Leaf(op, dimension, tuple(values), case_sensitive)


def _check_pattern(pattern: str, where: str) -> None:
    """RE2 (the engine's dialect) refuses what Python's ``re`` would take (lookarounds,
    backreferences); both are refused here, as are patterns Python cannot compile."""
    import re

    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        raise StatsQueryError(f"{where}: Invalid regular expression: lookarounds and backreferences are not supported")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise StatsQueryError(f"{where}: Invalid regular expression: {exc}") from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
