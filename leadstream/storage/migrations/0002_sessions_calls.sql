-- Session state as the scorer last computed it; one row per (session, scorer batch).
-- version = Kafka offset of the last event applied, so the newest state wins on merge
-- and a re-delivered batch replaces rather than adds (read through sessions_v).
CREATE TABLE IF NOT EXISTS sessions
(
    site_id             LowCardinality(String),
    session_id          UUID,
    fingerprint         String,
    first_seen          DateTime64(3, 'UTC'),
    last_seen           DateTime64(3, 'UTC'),
    events              UInt32,
    heartbeats          UInt32,
    conversions         UInt32,
    interactions        UInt32,
    highest_event_score UInt8,
    score               UInt8,
    confidence          UInt8,
    has_click_id        UInt8,
    gclid               String,
    wbraid              String,
    gbraid              String,
    source              LowCardinality(String),
    medium              LowCardinality(String),
    duration_sec        Float64,
    version             UInt64,
    updated_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (site_id, session_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS sessions_v AS SELECT * FROM sessions FINAL;

-- One row per call; a late match (version 2) supersedes an earlier 'unmatched' (version 1).
CREATE TABLE IF NOT EXISTS calls
(
    call_id      UUID,
    event_id     Nullable(UUID),
    site_id      LowCardinality(String),
    fingerprint  String,
    phone_number String,
    phone_raw    String,
    action       LowCardinality(String),
    url          String,
    gclid        String,
    wbraid       String,
    gbraid       String,
    received_at  DateTime64(3, 'UTC'),
    status       LowCardinality(String),
    session_id   Nullable(UUID),
    lead_score   UInt8,
    confidence   UInt8,
    call_status  LowCardinality(String),
    ip_prefix    String,
    version      UInt8,
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_at)
ORDER BY (site_id, toDate(received_at), call_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS calls_v AS SELECT * FROM calls FINAL;
