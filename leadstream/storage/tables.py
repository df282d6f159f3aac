"""The warehouse's tables declared once: each table's columns and their ClickHouse types. Writers
and row builders take their column lists from here, and a test checks that the migrations built
the same columns with the same types.

(The older tables are still declared by their writers' column tuples; new tables start here.)
"""

from __future__ import annotations

from dataclasses import dataclass

from leadstream.enrichment.campaign import CAMPAIGN_COLUMNS

UTC_TIME = "DateTime64(3, 'UTC')"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, ClickHouse type), in insert order

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def index(self, column: str) -> int:
        return self.names.index(column)


LEADS = Table(
    "leads",
    (
        ("lead_id", "UUID"),
        ("site_id", "LowCardinality(String)"),
        ("session_id", "Nullable(UUID)"),
        ("fingerprint", "String"),
        ("kind", "LowCardinality(String)"),
        ("source_id", "UUID"),
        ("gclid", "String"),
        ("wbraid", "String"),
        ("gbraid", "String"),
        *((column, "String") for column in CAMPAIGN_COLUMNS),
        ("score", "UInt8"),
        ("phone_number", "String"),
        ("created_at", UTC_TIME),
        ("clicked_at", f"Nullable({UTC_TIME})"),
    ),
)

LEAD_STAGES = Table(
    "lead_stages",
    (
        ("lead_id", "UUID"),
        ("site_id", "LowCardinality(String)"),
        ("session_id", "Nullable(UUID)"),
        ("fingerprint", "String"),
        ("stage", "LowCardinality(String)"),
        ("value", "Nullable(Float64)"),
        ("currency", "String"),
        ("note", "String"),
        ("who", "String"),
        ("changed_at", UTC_TIME),
        ("version", "UInt32"),
        ("command_id", "UUID"),
    ),
)

# One row per (lead, stage) ever queued for Google Ads, each change a new version of the row.
OCI_QUEUE = Table(
    "oci_queue",
    (
        ("item_id", "String"),
        ("site_id", "LowCardinality(String)"),
        ("lead_id", "UUID"),
        ("stage", "LowCardinality(String)"),
        ("order_id", "String"),
        ("status", "LowCardinality(String)"),
        ("attempts", "UInt8"),
        ("reason", "LowCardinality(String)"),
        ("error_code", "String"),
        ("error_message", "String"),
        ("error_category", "LowCardinality(String)"),
        ("gclid", "String"),
        ("wbraid", "String"),
        ("gbraid", "String"),
        ("conversion_name", "String"),
        ("conversion_time", UTC_TIME),
        ("conversion_value", "Float64"),
        ("currency", "String"),
        ("run_id", "String"),
        ("claimed_until", UTC_TIME),
        ("next_at", UTC_TIME),
        ("session_id", "Nullable(UUID)"),
        ("fingerprint", "String"),
        ("created_at", UTC_TIME),
        ("updated_at", UTC_TIME),
        ("version", "UInt64"),
    ),
)

# The answers given to ack / ack-failed payloads, so a replayed payload gets the same answer.
OCI_REPLIES = Table(
    "oci_replies",
    (
        ("site_id", "LowCardinality(String)"),
        ("payload_hash", "String"),
        ("answer", "String"),
        ("stored_at", UTC_TIME),
    ),
)

# The Stats API's hourly rollup (stats/rollup.py): per site, hour, dimension and value, each hour's
# rows at the version (refreshed_at) its last refresh wrote; stats_hourly_hours says which is in force.
STATS_HOURLY = Table(
    "stats_hourly",
    (
        ("site_id", "LowCardinality(String)"),
        ("hour", "DateTime('UTC')"),
        ("dimension", "LowCardinality(String)"),
        ("value", "String"),
        ("visitors", "AggregateFunction(uniq, String)"),
        *((fact, "UInt64") for fact in ("visits", "entries", "bounces", "duration_ms", "pageviews", "events")),
        *((fact, "UInt64") for fact in ("conversions", "score_sum", "score_n")),
        ("refreshed_at", UTC_TIME),
    ),
)
STATS_HOURLY_HOURS = Table(
    "stats_hourly_hours",
    (("site_id", "LowCardinality(String)"), ("hour", "DateTime('UTC')"), ("refreshed_at", UTC_TIME)),
)

_LOW = "LowCardinality(String)"
STATS_VISITS = Table(
    "stats_visits",
    (
        ("site_id", _LOW),
        ("hour", "DateTime('UTC')"),
        ("session_id", "UUID"),
        ("visitor_hash", "UInt64"),
        ("start", UTC_TIME),
        ("is_bounce", "UInt8"),
        *((fact, "UInt64") for fact in ("duration_ms", "pageviews", "events", "conversions", "score_sum", "score_n")),
        ("entry_raw", _LOW),
        ("p_source", _LOW),
        ("p_referrer", _LOW),
        *((f"p_utm_{part}", _LOW) for part in ("source", "medium", "campaign", "content", "term")),
        *((f"p_{prop}", _LOW) for prop in ("device", "browser", "os")),
        ("p_entry_page", _LOW),
        ("p_exit_page", _LOW),
        ("pages", f"Array({_LOW})"),
        *((f"page_{fact}", "Array(UInt64)") for fact in ("pageviews", "events", "conversions", "score_sum", "score_n")),
        ("refreshed_at", UTC_TIME),
    ),
)

TABLES = (LEADS, LEAD_STAGES, OCI_QUEUE, OCI_REPLIES, STATS_HOURLY, STATS_HOURLY_HOURS, STATS_VISITS)
