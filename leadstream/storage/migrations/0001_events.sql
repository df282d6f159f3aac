-- Raw tracking events, one row per accepted event.
-- ReplacingMergeTree on the event id: a batch re-delivered after a worker crash
-- collapses to one row (analysts read through events_v, which applies FINAL).
-- Monthly partitions; ORDER BY serves per-site time-range queries.
CREATE TABLE IF NOT EXISTS events
(
    event_id        UUID,
    received_at     DateTime64(3, 'UTC'),
    site_id         LowCardinality(String),
    session_id      UUID,
    session_month   Date,
    url             String,
    category        LowCardinality(String),
    action          LowCardinality(String),
    label           String,
    value           Nullable(Float64),
    referrer        String,
    fingerprint     String,
    gclid           String,
    wbraid          String,
    gbraid          String,
    duration_sec    Nullable(Float64),
    meta            Map(String, String),
    score           UInt8,
    ip_prefix       String,
    user_agent      String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (site_id, toDate(received_at), event_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- What analysts query: each event exactly once, whatever the sink re-delivered.
CREATE VIEW IF NOT EXISTS events_v AS SELECT * FROM events FINAL;
