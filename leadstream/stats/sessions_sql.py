"""Visits as SQL over ``events_v``: what a visit is, its properties, and its pages.

A visit is a session (``session_id``). Its properties come from its events as Plausible's do:
the entry (first) pageview's page, the landing (first) event's campaign and source, the first
referrer it carries, the device, browser and OS of its first event. Its counts: pageviews
(``interaction/view``), events (pageviews and custom events: everything but the engagement
signals ``system/*``, ``scroll_depth`` and ``hover_intent``), conversions (``conversion/*``, the
visit's leads) and the lead scores of its events (heartbeats aside). A visit bounces when it has at
most one pageview and no custom event; its duration is the time from its first to its last event
(zero for a bounce).

The SQL here is fixed text: values reach it only as bound parameters (``{name:Type}``).
"""

from __future__ import annotations

PAGEVIEW = "(category = 'interaction' AND action = 'view')"
ENGAGEMENT = "(category = 'system' OR (category = 'interaction' AND action IN ('scroll_depth', 'hover_intent')))"
CUSTOM = f"(NOT {PAGEVIEW} AND NOT {ENGAGEMENT})"
PAGE = "if(path(url) = '', '/', path(url))"
SCORED = "(action != 'heartbeat')"
NOT_SET = "(not set)"
DIRECT = "Direct / None"

# Referrer hosts shown by name as visit:source (Plausible's list, its common entries).
KNOWN_SOURCES: tuple[tuple[str, str], ...] = (
    (r"^(.+\.)?google(\.[a-z]{2,3}){1,2}$", "Google"),
    (r"^(.+\.)?bing\.com$", "Bing"),
    (r"^(.+\.)?duckduckgo\.com$", "DuckDuckGo"),
    (r"^(.+\.)?yahoo(\.[a-z]{2,3}){1,2}$", "Yahoo!"),
    (r"^(.+\.)?yandex(\.[a-z]{2,3}){1,2}$", "Yandex"),
    (r"^(.+\.)?baidu\.com$", "Baidu"),
    (r"^(.+\.)?ecosia\.org$", "Ecosia"),
    (r"^(.+\.)?facebook\.com$", "Facebook"),
    (r"^(.+\.)?instagram\.com$", "Instagram"),
    (r"^(t\.co|(.+\.)?twitter\.com|(.+\.)?x\.com)$", "Twitter"),
    (r"^((.+\.)?linkedin\.com|lnkd\.in)$", "LinkedIn"),
    (r"^((.+\.)?youtube\.com|youtu\.be)$", "Youtube"),
    (r"^(.+\.)?reddit\.com$", "Reddit"),
    (r"^news\.ycombinator\.com$", "Hacker News"),
    (r"^(.+\.)?github\.com$", "GitHub"),
    (r"^(chatgpt\.com|chat\.openai\.com)$", "ChatGPT"),
)
_PLACEHOLDERS = "('', 'null', 'undefined', 'none', 'unknown', 'n/a', '(not set)', '(none)')"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _named_source(host: str) -> str:
    branches = ", ".join(f"match({host}, {_sql_string(p)}), {_sql_string(name)}" for p, name in KNOWN_SOURCES)
    return f"multiIf({branches}, {host})"


def _campaign(param: str) -> str:
    """The landing URL's parameter, else the landing event's meta (the tracker's copy of it)."""
    in_url = f"extractURLParameter(landing_url, '{param}')"
    raw = f"if({in_url} != '', decodeURLFormComponent({in_url}), landing_meta_{param})"
    return f"if(lower(trim(BOTH ' ' FROM {raw})) IN {_PLACEHOLDERS} OR position({raw}, '{{') > 0, '', {raw})"


UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# One row per visit: first the raw facts (inner), then the labelled properties (outer).
RAW_VISIT_COLUMNS = f"""
    site_id,
    session_id,
    min(received_at) AS start,
    max(received_at) AS finish,
    argMinIf(fingerprint, received_at, fingerprint != '') AS fp,
    argMin(url, received_at) AS landing_url,
    {", ".join(f"argMin(meta['{u}'], received_at) AS landing_meta_{u}" for u in UTM)},
    argMin(meta['source'], received_at) AS landing_meta_source,
    argMinIf(referrer, received_at, referrer != '') AS first_referrer,
    argMinIf({PAGE}, received_at, {PAGEVIEW}) AS entry_raw,
    argMaxIf({PAGE}, received_at, {PAGEVIEW}) AS exit_raw,
    argMin(device_type, received_at) AS device_raw,
    argMin(browser, received_at) AS browser_raw,
    argMin(os, received_at) AS os_raw,
    countIf({PAGEVIEW}) AS pageviews,
    countIf(NOT {ENGAGEMENT}) AS events,
    countIf({CUSTOM}) AS customs,
    countIf(category = 'conversion') AS conversions,
    sumIf(score, {SCORED}) AS score_sum,
    countIf({SCORED}) AS score_n
"""

_REF_HOST = "if(domainWithoutWWW(first_referrer) = domainWithoutWWW(landing_url), '', domainWithoutWWW(first_referrer))"
_SOURCE_PARAM = (
    "if(extractURLParameter(landing_url, 'source') != '', extractURLParameter(landing_url, 'source'), "
    "if(extractURLParameter(landing_url, 'ref') != '', extractURLParameter(landing_url, 'ref'), landing_meta_source))"
)


def _label(raw: str, empty: str = NOT_SET) -> str:
    return f"if({raw} = '', '{empty}', {raw})"


def _title(raw: str) -> str:
    return f"if({raw} = '', '{NOT_SET}', concat(upper(substring({raw}, 1, 1)), substring({raw}, 2)))"


# The labelled properties, over the raw columns; names are the dimensions' columns.
VISIT_PROPERTIES: dict[str, str] = {
    "visit:source": (
        f"multiIf(utm_source_v != '', utm_source_v, source_param_v != '', source_param_v, "
        f"ref_host_v = '', '{DIRECT}', {_named_source('ref_host_v')})"
    ),
    "visit:referrer": (
        f"if(ref_host_v = '', '{DIRECT}', concat(ref_host_v, trim(TRAILING '/' FROM path(first_referrer))))"
    ),
    "visit:utm_source": _label("utm_source_v"),
    "visit:utm_medium": _label("utm_medium_v"),
    "visit:utm_campaign": _label("utm_campaign_v"),
    "visit:utm_content": _label("utm_content_v"),
    "visit:utm_term": _label("utm_term_v"),
    "visit:device": _title("device_raw"),
    "visit:browser": _label("browser_raw"),
    "visit:os": _label("os_raw"),
    "visit:entry_page": _label("entry_raw"),
    "visit:exit_page": _label("exit_raw"),
}
COLUMN = {dimension: "p_" + dimension.split(":", 1)[1] for dimension in VISIT_PROPERTIES}


def visits_sql(scan_where: str, having: str = "") -> str:
    """Visits whose events pass ``scan_where`` (over ``events_v``), one row each: raw facts,
    every labelled property (``p_source``, ...), ``visitor``, ``is_bounce``, ``duration_ms``."""
    utm = ",\n        ".join(f"{_campaign(u)} AS {u}_v" for u in UTM)
    props = ",\n        ".join(f"{expr} AS {COLUMN[d]}" for d, expr in VISIT_PROPERTIES.items())
    return f"""
SELECT *,
    {props},
    if(fp = '', toString(session_id), fp) AS visitor,
    toUInt8(pageviews <= 1 AND customs = 0) AS is_bounce,
    if(is_bounce = 1, 0, toUInt64(toUnixTimestamp64Milli(finish) - toUnixTimestamp64Milli(start))) AS duration_ms
FROM (
    SELECT *,
        {utm},
        {_SOURCE_PARAM} AS source_param_v,
        {_REF_HOST} AS ref_host_v
    FROM (
        SELECT {RAW_VISIT_COLUMNS}
        FROM events_v
        WHERE {scan_where}
        GROUP BY site_id, session_id
        {having}
    )
)"""


PAGE_COLUMNS = f"""
    site_id,
    session_id,
    {PAGE} AS page,
    countIf({PAGEVIEW}) AS page_pageviews,
    countIf(NOT {ENGAGEMENT}) AS page_events,
    countIf(category = 'conversion') AS page_conversions,
    sumIf(score, {SCORED}) AS page_score_sum,
    countIf({SCORED}) AS page_score_n
"""


def pages_sql(scan_where: str) -> str:
    """(visit, page) rows: the visit's events on each page (pages with only engagement events left out)."""
    return f"""
SELECT {PAGE_COLUMNS}
FROM events_v
WHERE {scan_where}
GROUP BY site_id, session_id, page
HAVING page_events > 0"""
