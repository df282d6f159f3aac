"""One settings object for every process (edge, worker, CLI).

Read from the environment with the prefix ``LEADSTREAM_`` (and an optional ``.env``);
the defaults run the whole product on one machine with nothing configured.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Topics:
    """Kafka topic names, all under one configurable prefix."""

    def __init__(self, prefix: str, worker_group: str = "leadstream-worker") -> None:
        self.events = f"{prefix}events"
        self.sites = f"{prefix}sites"
        self.calls = f"{prefix}calls"
        self.session_updates = f"{prefix}session-updates"
        # The scorer's and matcher's rows, for the warehouse writer.
        self.session_rows = f"{prefix}session-rows"
        self.call_rows = f"{prefix}call-rows"
        self.dead_letters = f"{prefix}dead-letters"
        self.os_companies = f"{prefix}os.companies"
        self.os_signals = f"{prefix}os.signals"
        self.os_runs = f"{prefix}os.runs"
        self.erasures = f"{prefix}erasures"
        # The scorer's and matcher's changelogs, named as Faust named them when the two ran on it,
        # so that their state carries over.
        self.sessions_changelog = f"{worker_group}-sessions-changelog"
        self.matcher_changelog = f"{worker_group}-fingerprint_sessions-changelog"
        self._prefix = prefix

    def os_stage(self, stage: str) -> str:
        """One topic per sales-OS stage: the chain's links."""
        return f"{self._prefix}os.stage.{stage}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", env_file=".env", extra="ignore")

    # --- components -------------------------------------------------------------------------
    var_dir: Path = Field(default=REPO_ROOT / "var", description="local state: chDB data, worker tables")
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    clickhouse_dsn: str = Field(
        default="",
        description="chdb://PATH (embedded, opened by the worker only) or http(s)://user:pass@host:port; "
        "default chdb://<var_dir>/clickhouse",
    )
    clickhouse_database: str = "leadstream"

    # --- topics -----------------------------------------------------------------------------
    topic_prefix: str = "leadstream."
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    # --- edge -------------------------------------------------------------------------------
    edge_host: str = "127.0.0.1"
    edge_port: int = 8000
    edge_workers: int = Field(default=1, ge=1)
    produce_timeout_s: float = Field(default=5.0, gt=0, description="max wait for Kafka's ack before 503")
    max_inflight_sends: int = Field(default=2000, ge=1, description="bounded in-flight produce requests")
    max_body_bytes: int = 256 * 1024
    cors_origins: str = Field(default="", description="comma-separated origins allowed for every site")
    rate_sync_per_min: int = Field(default=2000, ge=1, description="/api/sync requests per (site, IP)")
    rate_call_per_min: int = Field(default=150, ge=1, description="/api/call-event requests per (site, IP)")
    rate_call_fp_per_min: int = Field(default=20, ge=1, description="/api/call-event per (site, fingerprint)")
    call_reply_timeout_s: float = Field(default=2.0, gt=0, description="wait for the matcher, then 202 queued")

    # --- sales OS ---------------------------------------------------------------------------
    os_tokens: str = Field(
        default="{}",
        description='JSON: token -> tenants it may act for, e.g. {"s3cret": ["acme", "globex"]} or {"s3cret": ["*"]}',
    )
    os_reply_timeout_s: float = Field(default=5.0, gt=0, description="wait for the stage chain, then fallback")
    os_pipeline_timeout_s: float = Field(default=10.0, gt=0)
    os_jwt_key: str = Field(
        default="",
        description="verifies Authorization: Bearer JWTs (PEM public key or HS secret); empty: Bearer not checked",
    )
    os_jwt_algorithms: str = Field(default="RS256", description="comma-separated JWT algorithms accepted")
    os_jwt_audience: str = Field(default="", description="required JWT aud when set")
    os_jwt_issuer: str = Field(default="", description="required JWT iss when set")
    llm_base_url: str = Field(
        default="", description="OpenAI-compatible API base, e.g. https://api.openai.com/v1; empty: AI options off"
    )
    llm_api_key: str = Field(default="", description="sent as Authorization: Bearer; may be empty for local servers")
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(
        default=3.0, gt=0, description="an AI stage's wait, within what is left of 60% of the OS reply timeout"
    )
    apollo_api_key: str | None = None
    apollo_base_url: str = "https://api.apollo.io"
    linkedin_api_token: str | None = None
    linkedin_base_url: str = "https://api.linkedin.com"
    linkedin_search_path: str = Field(default="/rest/companySearch", description="company search, GET, under the base")
    linkedin_api_version: str = Field(default="202506", description="LinkedIn-Version header (YYYYMM)")
    provider_timeout_s: float = Field(
        default=3.0, gt=0, description="budget of one discovery connector call, retries included (< os_reply_timeout_s)"
    )
    provider_retries: int = Field(default=2, ge=0, description="connector retries on network errors, 429 and 5xx")

    # --- worker -----------------------------------------------------------------------------
    worker_group: str = "leadstream-worker"
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=6066, description="worker's web port: health and the query endpoint")
    worker_role: Literal["all", "process", "store"] = Field(
        default="all",
        description="all: one process does everything; process: the scorer and the matcher (any number of "
        "processes share the partitions); store: the warehouse writer (sinks, the sales-OS stages, daily stats, "
        "the query endpoint), the only role that opens ClickHouse",
    )
    worker_max_poll_interval_s: float = Field(
        default=300.0,
        gt=0,
        description="longest a worker's consumer may go between polls before its group gives its partitions "
        "away; sinks keep polling (paused) while the warehouse refuses, so an outage does not count",
    )
    worker_store: Literal["memory://", "rocksdb://"] = Field(
        default="memory://",
        description="the scorer's and matcher's tables: memory:// rebuilds them from their changelogs on start; "
        "rocksdb:// also keeps a local copy, so a restart reads only the changelogs' newer records",
    )
    sink_batch_rows: int = Field(
        default=20_000,
        ge=1,
        description="the most rows a warehouse sink inserts in one block: behind a backlog, fewer, larger parts "
        "(split-role bench: the events sink 13,400-16,100 events/s with 5,000, 19,700-25,500 with 20,000)",
    )
    processor_batch_records: int = Field(
        default=50_000,
        ge=1,
        description="the most records the scorer and the matcher take in one batch: behind a backlog, a session's "
        "events in one batch make one row, one update and one changelog record",
    )
    session_cache_size: int = Field(
        default=50_000, ge=1, description="sessions the scorer keeps decoded between batches (the most recent)"
    )
    sink_flush_s: float = Field(
        default=0.25,
        gt=0,
        description="the longest a warehouse sink gathers a batch (it gathers as long as its last batch took, at "
        "least 100 ms): at 2,000 events/s a 1 s ceiling let ack -> row p99 run to 650-1,300 ms, 0.25 s to 420-790 ms",
    )
    processor_flush_s: float = Field(
        default=1.0, gt=0, description="the longest the session scorer gathers a batch (as the sinks do)"
    )
    session_ttl_days: float = Field(
        default=7.0, gt=0, description="the scorer forgets a session idle this long; a later event for it starts anew"
    )
    state_expiry_interval_s: float = Field(
        default=300.0, gt=0, description="how often the worker drops idle sessions from its tables"
    )
    worker_session_timeout_s: float = Field(
        default=10.0, gt=0, description="a worker that stops heartbeating loses its partitions after this long"
    )
    fault_warehouse_outage_file: Path | None = Field(
        default=None, description="fault drills: while this file exists the worker's warehouse calls fail"
    )
    worker_fetch_max_wait_ms: int = Field(
        default=25, ge=1, le=1500, description="longest a worker fetch waits for new records (Faust's own is 1500)"
    )
    match_grace_s: float = Field(default=1.5, ge=0, description="how long a call waits for its session's events")
    daily_stats_refresh_s: float = Field(
        default=30.0, gt=0, description="how often the worker refreshes the materialised daily statistics"
    )
    daily_stats_margin_s: float = Field(
        default=10.0, ge=0, description="a refresh also rereads rows inserted this long before the previous one"
    )

    worker_token: str = Field(
        default="",
        description="required (Authorization: Bearer) by the worker's write endpoints (migrate, stats refresh) "
        "when it binds beyond loopback; without one they are refused there",
    )
    query_max_execution_time_s: float = Field(
        default=30.0, gt=0, description="analysts' queries (the query endpoint, `leadstream query`): time limit"
    )
    query_max_memory_bytes: int = Field(default=2 << 30, ge=1 << 20, description="analysts' queries: memory limit")
    query_max_result_rows: int = Field(default=100_000, ge=1, description="analysts' queries: rows a result may have")
    query_max_threads: int = Field(
        default=1, ge=0, description="analysts' queries: threads each may use (0: ClickHouse's default, all cores)"
    )

    # --- operations -------------------------------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line (request id, run id, group/partition)"
    )
    health_stall_s: float = Field(
        default=120.0, gt=0, description="a worker loop without progress this long makes the worker's health 503"
    )
    health_crash_after: int = Field(
        default=3, ge=1, description="a worker loop failing this many times in a row makes the worker's health 503"
    )
    metrics_lag_interval_s: float = Field(default=5.0, gt=0, description="how often the worker reads consumer lag")

    # --- privacy ----------------------------------------------------------------------------
    # Days a row is kept, as ClickHouse TTLs the worker sets at start (0: kept for good).
    retention_days_events: int = Field(default=395, ge=0)
    retention_days_sessions: int = Field(default=395, ge=0)
    retention_days_calls: int = Field(default=730, ge=0)
    retention_days_dead_letters: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _default_dsn(self) -> Settings:
        if not self.clickhouse_dsn:
            self.clickhouse_dsn = f"chdb://{self.var_dir / 'clickhouse'}"
        return self

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix, self.worker_group)

    @property
    def global_origins(self) -> list[str]:
        return [o for o in self.cors_origins.split(",") if o.strip()]

    @property
    def embedded_warehouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb://")

    @property
    def worker_url(self) -> str:
        host = (
            "127.0.0.1"
            if self.worker_host in ("0.0.0.0", "")
            else "[::1]"
            if self.worker_host == "::"
            else self.worker_host
        )
        return f"http://{host}:{self.worker_port}"

    @property
    def worker_state_dir(self) -> Path:
        """Where this worker keeps local state: one directory per processor process on a host."""
        base = self.var_dir / "worker" / self.worker_group
        return base / f"process-{self.worker_port}" if self.worker_role == "process" else base

    @property
    def worker_on_loopback(self) -> bool:
        return self.worker_host in LOOPBACK_HOSTS

    @property
    def worker_headers(self) -> dict[str, str]:
        """What the CLI sends to the worker's endpoints."""
        return {"Authorization": f"Bearer {self.worker_token}"} if self.worker_token else {}


@lru_cache
def get_settings() -> Settings:
    return Settings()
