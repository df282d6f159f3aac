"""Every Prometheus metric leadstream exports, in one place (each documented in docs/operations.md).

The edge runs several processes (``leadstream edge --workers N``), so its metrics use
prometheus_client's multiprocess mode: ``leadstream edge`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh directory before any process imports this module, each process writes its values there, and
``GET /metrics`` on any of them adds them up (``exposition.render``). The worker is one process and
uses the default registry. Gauges say how their per-process values combine (``multiprocess_mode``).

Label values are bounded: routes are route templates, reasons are classes (``reason_class``), never
free text or ids.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000)

# --- edge ------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "leadstream_http_requests_total", "HTTP requests answered by the edge", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "leadstream_http_request_duration_seconds",
    "Time from request to response start on the edge",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
PRODUCE_DURATION = Histogram(
    "leadstream_kafka_produce_duration_seconds",
    "Time the edge waited for Kafka to acknowledge a request's records (acks=all), failures included",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
BROKER_UNAVAILABLE = Counter(
    "leadstream_edge_unavailable_total", "Requests answered 503 because Kafka could not take them in time", ["route"]
)
RATE_LIMITED = Counter("leadstream_rate_limited_total", "Requests refused with 429 by the rate limiter", ["route"])
META_KEYS_DROPPED = Counter(
    "leadstream_meta_keys_dropped_total", "Extra meta keys dropped past the per-event limit (the event is kept)"
)
SENDS_IN_FLIGHT = Gauge(
    "leadstream_produce_in_flight",
    "Requests waiting for Kafka's acknowledgement (summed over the edge's processes)",
    multiprocess_mode="livesum",
)
OS_FALLBACKS = Counter(
    "leadstream_os_fallbacks_total",
    "Sales-OS requests answered with the contract's fallback body",
    ["endpoint", "reason"],
)
BREAKER_OPEN = Gauge(
    "leadstream_breaker_state",
    "Circuit breaker per OS endpoint: 0 closed, 1 half-open, 2 open (the worst over the edge's processes)",
    ["endpoint"],
    multiprocess_mode="livemax",
)

# --- consumption (worker) --------------------------------------------------------------------
COMMITTED_OFFSET = Gauge(
    "leadstream_consumer_committed_offset", "Offset committed by a consumer group", ["group", "topic", "partition"]
)
END_OFFSET = Gauge(
    "leadstream_consumer_end_offset", "Partition end offset (the next to be written)", ["topic", "partition"]
)
LAG = Gauge("leadstream_consumer_lag", "Records not yet committed by the group", ["group", "topic", "partition"])
LAG_SCRAPE_ERRORS = Counter(
    "leadstream_consumer_lag_errors_total", "Failed attempts to read committed and end offsets from Kafka"
)
RECORDS_PROCESSED = Counter(
    "leadstream_records_processed_total", "Records a processor consumed and finished (committed)", ["processor"]
)
BATCH_SIZE = Histogram(
    "leadstream_batch_size_records", "Records per processed batch", ["processor"], buckets=BATCH_BUCKETS
)
END_TO_END = Histogram(
    "leadstream_end_to_end_delay_seconds",
    "From the record's Kafka timestamp (the edge's ack) to its batch being stored, for the oldest record of a batch",
    ["processor"],
    buckets=SLOW_BUCKETS,
)

# --- warehouse -------------------------------------------------------------------------------
INSERT_DURATION = Histogram(
    "leadstream_warehouse_insert_duration_seconds",
    "One insert into the warehouse (one attempt)",
    ["table"],
    buckets=LATENCY_BUCKETS,
)
ROWS_INSERTED = Counter("leadstream_warehouse_rows_inserted_total", "Rows inserted into the warehouse", ["table"])
INSERT_RETRIES = Counter(
    "leadstream_warehouse_insert_retries_total", "Failed insert attempts that were retried", ["table"]
)
WAREHOUSE_PAUSED = Gauge(
    "leadstream_warehouse_paused", "1 while writes to this table wait for the warehouse (retrying), else 0", ["table"]
)
ANALYST_QUERIES = Counter(
    "leadstream_analyst_queries_total", "Analysts' queries on the worker's query endpoint", ["outcome"]
)

# --- everything else -------------------------------------------------------------------------
DEAD_LETTERS = Counter("leadstream_dead_letters_total", "Records sent to the dead-letter topic", ["stage", "reason"])
RECOVERY_DURATION = Gauge(
    "leadstream_changelog_recovery_duration_seconds", "How long the last changelog recovery of a table took", ["table"]
)
RECOVERED_RECORDS = Counter(
    "leadstream_changelog_records_recovered_total", "Changelog records read while recovering a table", ["table"]
)
TABLE_ENTRIES = Gauge("leadstream_table_entries", "Entries a keyed table holds in this worker", ["table"])
OS_STAGE_DURATION = Histogram(
    "leadstream_os_stage_duration_seconds", "One sales-OS stage on one run", ["stage", "outcome"], buckets=SLOW_BUCKETS
)
DAILY_STATS_AGE = Gauge(
    "leadstream_daily_stats_refresh_age_seconds", "Seconds since the daily statistics were last refreshed"
)
LOOP_HEALTHY = Gauge("leadstream_loop_healthy", "1 while a worker loop is healthy (see /leadstream/health)", ["loop"])
LOOP_RESTARTS = Counter("leadstream_loop_restarts_total", "Times a worker loop failed and was restarted", ["loop"])

_REASON = re.compile(r"[0-9]+")


def reason_class(reason: str) -> str:
    """A dead letter's reason as a bounded label: the part before the first ``:`` (``invalid
    meta.fp``), numbers replaced by ``N`` (list positions), at most 60 characters."""
    head = reason.split(":", 1)[0].strip().lower() or "unknown"
    return _REASON.sub("N", head)[:60]


class Timer:
    """``with Timer(histogram.labels(...)):`` observes the block's duration, also when it raises."""

    __slots__ = ("_observe", "_started")

    def __init__(self, metric: Histogram) -> None:
        self._observe: Callable[[float], None] = metric.observe
        self._started = 0.0

    def __enter__(self) -> Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self._observe(time.perf_counter() - self._started)


def all_metric_names() -> set[str]:
    """The names of every metric family above (what the dashboard and docs may reference)."""
    names = set()
    for value in globals().values():
        if isinstance(value, Counter | Gauge | Histogram):
            names.add(value._name + ("_total" if isinstance(value, Counter) else ""))
    return names
