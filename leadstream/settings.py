"""One settings object for every process (edge, worker, CLI).

Read from the environment with the prefix ``LEADSTREAM_`` (and an optional ``.env``);
the defaults run the whole product on one machine with nothing configured.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

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
        self.os_feedback = f"{prefix}os.feedback"  # Decision Mode feedback, copied into os_feedback
        self.erasures = f"{prefix}erasures"
        # Site API keys (hashed, keyed by prefix) and leads: the leads, the operators' stage commands
        # and the accepted stage changes, all keyed by lead id (co-partitioned).
        self.site_keys = f"{prefix}site-keys"
        self.leads = f"{prefix}leads"
        self.lead_stage_commands = f"{prefix}lead-stage-commands"
        self.lead_stages = f"{prefix}lead-stages"
        self.lead_stages_changelog = f"{worker_group}-lead-stages-changelog"
        # The scorer's and matcher's changelogs, named as Faust named them when the two ran on it,
        # so that their state carries over.
        self.sessions_changelog = f"{worker_group}-sessions-changelog"
        self.matcher_changelog = f"{worker_group}-fingerprint_sessions-changelog"
        self._prefix = prefix

    def os_stage(self, stage: str) -> str:
        """One topic per sales-OS stage: the chain's links."""
        return f"{self._prefix}os.stage.{stage}"


class Settings(BaseSettings):
    # var/secrets.env: the random worker and analyst tokens `make run` makes once; the environment wins
    model_config = SettingsConfigDict(
        env_prefix="LEADSTREAM_", env_file=(".env", REPO_ROOT / "var/secrets.env"), extra="ignore"
    )

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
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed for every site: a JSON list, or comma-separated"
    )
    rate_sync_per_min: int = Field(
        default=2000, ge=1, description="/api/sync events per (site, IP): a batch costs each"
    )
    rate_call_per_min: int = Field(default=150, ge=1, description="/api/call-event requests per (site, IP)")
    rate_call_fp_per_min: int = Field(default=20, ge=1, description="/api/call-event per (site, fingerprint)")
    rate_invalid_per_min: int = Field(
        default=120, ge=1, description="tracking requests answered 400/401/404/413 per client IP; past it, 429"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs of the proxies whose X-Forwarded-For is believed (a JSON list, or comma-separated); "
        "empty: the socket peer is the client",
    )
    call_reply_timeout_s: float = Field(default=2.0, gt=0, description="wait for the matcher, then 202 queued")
    lead_stage_timeout_s: float = Field(
        default=5.0, gt=0, description="POST /api/leads/{id}/stage: wait for the stage processor, then 503"
    )
    oci_claim_timeout_s: float = Field(
        default=900.0, gt=0, description="a conversion claimed by a Google Ads Script and never acked is exported again"
    )
    oci_rate_per_min: int = Field(default=120, ge=1, description="OCI export calls per site and minute; past it, 429")

    # --- sales OS ---------------------------------------------------------------------------
    os_tokens: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=dict,
        description='JSON object: token -> list of tenants it may act for, e.g. {"s3cret": ["acme", "globex"]} or '
        '{"s3cret": ["*"]}; empty: every /api/os call is refused',
    )
    os_reply_timeout_s: float = Field(default=5.0, gt=0, description="wait for the stage chain, then fallback")
    os_pipeline_timeout_s: float = Field(default=10.0, gt=0)
    os_jwt_key: SecretStr | None = Field(
        default=None,
        description="verifies Authorization: Bearer JWTs (PEM public key or HS secret); unset: Bearer not checked. "
        "Set, it needs LEADSTREAM_OS_JWT_AUDIENCE and LEADSTREAM_OS_JWT_ISSUER",
    )
    os_jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256"], description="JWT algorithms accepted: a JSON list, or comma-separated"
    )
    os_jwt_audience: str = Field(default="", description="the aud every JWT must carry (required with a key)")
    os_jwt_issuer: str = Field(default="", description="the iss every JWT must carry (required with a key)")
    llm_base_url: str = Field(
        default="", description="OpenAI-compatible API base, e.g. https://api.openai.com/v1; empty: AI options off"
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="sent as Authorization: Bearer; may be unset for local servers"
    )
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(
        default=3.0, gt=0, description="an AI stage's wait, within what is left of 60% of the OS reply timeout"
    )
    apollo_api_key: SecretStr | None = None
    apollo_base_url: str = "https://api.apollo.io"
    linkedin_api_token: SecretStr | None = None
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
    stats_refresh_s: float = Field(
        default=15.0, gt=0, description="how often the worker refreshes the Stats API's hourly rollup (stats_hourly)"
    )

    worker_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host header names the worker answers (a JSON list, or comma-separated; a name without a port "
        "also matches with the worker's port); empty: the bind host, 127.0.0.1, localhost and [::1]",
    )
    worker_token: SecretStr | None = Field(
        default=None,
        description="Authorization: Bearer token the worker's write endpoints (migrate, stats refresh) require, "
        "on loopback too; unset: they refuse every call",
    )
    # NoDecode: the JSON is parsed below, so a map set in the environment replaces the env files' whole
    # (pydantic-settings would merge decoded maps key by key, keeping a token the operator dropped)
    analyst_tokens: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict,
        description='JSON: analyst name -> token the query endpoint accepts, e.g. {"ana": "..."}; empty: it refuses',
    )
    analyst_token: SecretStr | None = Field(
        default=None,
        description="the token `leadstream query` sends (this caller's own); unset: the first of analyst_tokens",
    )
    query_max_execution_time_s: float = Field(
        default=30.0, gt=0, description="analysts' queries (the query endpoint, `leadstream query`): time limit"
    )
    query_max_memory_bytes: int = Field(default=2 << 30, ge=1 << 20, description="analysts' queries: memory limit")
    query_max_result_rows: int = Field(default=100_000, ge=1, description="analysts' queries: rows a result may have")
    query_max_threads: int = Field(
        default=1, ge=0, description="analysts' queries: threads each may use (0: ClickHouse's default, all cores)"
    )
    query_max_result_bytes: int = Field(
        default=16 << 20, ge=1024, description="analysts' queries: bytes a result may hold (and its JSON answer)"
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
    sites_keys: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of keys sealing the sites' signing secrets on the sites topic (the first seals, "
        "all open: put a new key first to rotate); `leadstream sites new-key` prints one",
    )
    # Days a row is kept, as ClickHouse TTLs the worker sets at start (0: kept for good).
    retention_days_events: int = Field(default=395, ge=0)
    retention_days_sessions: int = Field(default=395, ge=0)
    retention_days_calls: int = Field(default=730, ge=0)
    retention_days_dead_letters: int = Field(default=30, ge=0)

    @field_validator("cors_origins", "os_jwt_algorithms", "worker_allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _text_list(cls, value: object) -> object:
        """A list setting written as a JSON list, or comma-separated."""
        if isinstance(value, str):
            text = value.strip()
            return orjson.loads(text) if text.startswith("[") else [v.strip() for v in text.split(",") if v.strip()]
        return value

    @field_validator("os_tokens", mode="before")
    @classmethod
    def _os_token_table(cls, value: object) -> object:
        """Checked here, whole, so an error names the variable and never a token (they are secrets)."""
        return os_token_table(value)

    @field_validator("os_jwt_key", mode="before")
    @classmethod
    def _blank_jwt_key(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("os_jwt_issuer")
    @classmethod
    def _jwt_claims_named(cls, issuer: str, info: ValidationInfo) -> str:
        """A key without an audience would take tokens minted for any other service that trusts the same
        issuer; without an issuer, tokens of any issuer using the key. Both are refused at start."""
        if info.data.get("os_jwt_key") is not None:
            missing = [
                f"LEADSTREAM_OS_JWT_{name.upper()}"
                for name, value in (("audience", info.data.get("os_jwt_audience", "")), ("issuer", issuer))
                if not str(value).strip()
            ]
            if missing:
                raise ValueError(f"LEADSTREAM_OS_JWT_KEY is set, so {' and '.join(missing)} must be set too")
        return issuer.strip()

    @field_validator("sites_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for i, key in enumerate(keys):
            try:
                ok = len(base64.urlsafe_b64decode(key.get_secret_value().encode())) == 32
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"key {i} is not a sealing key (32 url-safe base64 bytes; `leadstream sites new-key`)")
        return keys

    @field_validator("analyst_tokens", mode="before")
    @classmethod
    def _analyst_token_map(cls, value: object) -> object:
        if isinstance(value, str | bytes):
            try:
                return orjson.loads(value) if value.strip() else {}
            except orjson.JSONDecodeError:
                raise ValueError('not JSON; expected {"analyst name": "token", ...}') from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, proxies: list[str]) -> list[str]:
        """Each a network (``10.0.0.0/8``) or one address, written back in its canonical form."""
        try:
            return [str(ipaddress.ip_network(p.strip(), strict=False)) for p in proxies]
        except ValueError as exc:
            raise ValueError(f"not a CIDR: {exc}") from None

    @model_validator(mode="after")
    def _default_dsn(self) -> Settings:
        if not self.clickhouse_dsn:
            self.clickhouse_dsn = f"chdb://{self.var_dir / 'clickhouse'}"
        return self

    def as_environment(self) -> dict[str, str]:
        """These settings as the ``LEADSTREAM_*`` variables that make them again in a child
        process (secrets in clear: for a child's environment only, never for a log)."""
        env = {}
        for name in type(self).model_fields:
            value = _revealed(getattr(self, name))
            if value is not None:
                env[f"LEADSTREAM_{name.upper()}"] = _as_variable(value)
        return env

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix, self.worker_group)

    @property
    def global_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins if o.strip()]

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
    def worker_headers(self) -> dict[str, str]:
        """What the CLI sends to the worker's write endpoints."""
        return {"Authorization": f"Bearer {self.worker_token.get_secret_value()}"} if self.worker_token else {}

    @property
    def caller_analyst_token(self) -> SecretStr | None:
        """The analyst token this process sends: its own, else the first the worker accepts."""
        return self.analyst_token or next(iter(self.analyst_tokens.values()), None)

    @property
    def analyst_headers(self) -> dict[str, str]:
        """What ``leadstream query`` sends to the worker's query endpoint."""
        token = self.caller_analyst_token
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    @property
    def worker_host_names(self) -> frozenset[str]:
        """The Host header values the worker answers, each with and without its port (lower case)."""
        names = self.worker_allowed_hosts or [self.worker_host, "127.0.0.1", "localhost", "[::1]"]
        allowed = set()
        for name in (n.strip().lower() for n in names if n.strip()):
            if name.count(":") > 1 and not name.startswith("["):  # a bare IPv6 address, as a Host header has it
                name = f"[{name}]"
            allowed.add(name)
            if not re.search(r":\d+$", name):
                allowed.add(f"{name}:{self.worker_port}")
        return frozenset(allowed)


def os_token_table(value: object) -> dict[str, list[str]]:
    """``LEADSTREAM_OS_TOKENS`` as ``{token: [tenant, ...]}``: a JSON object (text or already decoded) whose
    every value is a list of tenant names. A string where the list belongs is refused, not read as its
    letters; the message never repeats a token."""
    expected = 'expected a JSON object of token -> list of tenants, e.g. {"<token>": ["acme", "globex"]}'
    if isinstance(value, str | bytes):
        try:
            value = orjson.loads(value or "{}")
        except orjson.JSONDecodeError:
            raise ValueError(f"LEADSTREAM_OS_TOKENS is not valid JSON: {expected}") from None
    if not isinstance(value, dict):
        raise ValueError(f"LEADSTREAM_OS_TOKENS is a JSON {type(value).__name__}: {expected}")
    table: dict[str, list[str]] = {}
    for n, (token, tenants) in enumerate(value.items(), start=1):
        where = f"LEADSTREAM_OS_TOKENS, token {n} of {len(value)}"
        if not isinstance(token, str) or not token.strip():
            raise ValueError(f"{where}: a token must be a non-empty string; {expected}")
        if not isinstance(tenants, list):
            raise ValueError(f"{where}: its tenants are a JSON {type(tenants).__name__}, not a list; {expected}")
        if not tenants or not all(isinstance(t, str) and t.strip() for t in tenants):
            raise ValueError(f'{where}: its tenants must be non-empty strings ("*": any tenant); {expected}')
        table[token] = [t.strip() for t in tenants]
    return table


_SECRET_WORDS = ("token", "key", "secret", "password")


def _revealed(value: object) -> object:
    """A setting's value with its secrets in clear, as JSON-able data."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | tuple | set | frozenset):
        return [_revealed(v) for v in value]
    if isinstance(value, dict):
        return {str(_revealed(k)): _revealed(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _as_variable(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def settings_problems(exc: Exception) -> list[str]:
    """What is wrong with the environment, a line per variable, naming it and what was expected
    (a secret's value is never repeated)."""
    if isinstance(exc, SettingsError):  # a value that is not the JSON its field needs
        match = re.search(r'field "(\w+)"', str(exc))
        name = f"LEADSTREAM_{match.group(1).upper()}" if match else "a LEADSTREAM_ variable"
        field = Settings.model_fields.get(match.group(1)) if match else None
        expected = f" (expected: {field.description or field.annotation})" if field is not None else ""
        return [f"invalid setting {name}: not valid JSON{expected}"]
    if not isinstance(exc, ValidationError):
        return [str(exc)]
    lines = []
    for error in exc.errors():
        name = "LEADSTREAM_" + str(error["loc"][0]).upper() if error["loc"] else "a LEADSTREAM_ variable"
        detail = ".".join(str(p) for p in error["loc"][1:])
        shown = "" if any(w in name.lower() for w in _SECRET_WORDS) else f"={error.get('input')!r}"
        lines.append(f"invalid setting {name}{shown}: {error['msg']}" + (f" (at {detail})" if detail else ""))
    return lines


@lru_cache
def get_settings() -> Settings:
    return Settings()
