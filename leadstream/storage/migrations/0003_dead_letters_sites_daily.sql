-- Records no stage could process, with why and where they came from (leadstream dlq list|replay).
CREATE TABLE IF NOT EXISTS dead_letters
(
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    stage            LowCardinality(String),
    reason           String,
    key              String,
    value            String,
    failed_at        DateTime64(3, 'UTC'),
    kafka_partition  UInt32,
    kafka_offset     UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(failed_at)
ORDER BY (source_topic, source_partition, source_offset, stage);

CREATE VIEW IF NOT EXISTS dead_letters_v AS SELECT * FROM dead_letters FINAL;

-- A copy of the site registry (the compacted topic is the system of record); no secrets.
CREATE TABLE IF NOT EXISTS sites
(
    public_id       String,
    name            String,
    origins         Array(String),
    signed          UInt8,
    active          UInt8,
    updated_at      DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree(kafka_offset)
ORDER BY public_id;

CREATE VIEW IF NOT EXISTS sites_v AS SELECT * FROM sites FINAL;

-- Daily per-site statistics, maintained by materialised views as rows arrive.
-- The events sink inserts each record exactly once (offset high-water marks), so plain sums
-- are exact; sessions and calls are counted by id (uniqExact) because their tables take
-- newer versions of the same row.
CREATE TABLE IF NOT EXISTS daily_site_stats
(
    site_id       LowCardinality(String),
    day           Date,
    events        SimpleAggregateFunction(sum, UInt64),
    conversions   SimpleAggregateFunction(sum, UInt64),
    scored_events SimpleAggregateFunction(sum, UInt64),
    score_sum     SimpleAggregateFunction(sum, UInt64),
    sessions      AggregateFunction(uniqExact, UUID),
    calls         AggregateFunction(uniqExact, UUID),
    matched_calls AggregateFunction(uniqExact, UUID)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_site_stats_events_mv TO daily_site_stats AS
SELECT
    site_id,
    toDate(received_at) AS day,
    count() AS events,
    countIf(category = 'conversion') AS conversions,
    countIf(action != 'heartbeat') AS scored_events,
    sumIf(toUInt64(score), action != 'heartbeat') AS score_sum,
    uniqExactState(session_id) AS sessions,
    uniqExactStateIf(toUUID('00000000-0000-0000-0000-000000000000'), 0) AS calls,
    uniqExactStateIf(toUUID('00000000-0000-0000-0000-000000000000'), 0) AS matched_calls
FROM events
GROUP BY site_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_site_stats_calls_mv TO daily_site_stats AS
SELECT
    site_id,
    toDate(received_at) AS day,
    toUInt64(0) AS events,
    toUInt64(0) AS conversions,
    toUInt64(0) AS scored_events,
    toUInt64(0) AS score_sum,
    uniqExactStateIf(toUUID('00000000-0000-0000-0000-000000000000'), 0) AS sessions,
    uniqExactState(call_id) AS calls,
    uniqExactStateIf(call_id, status = 'matched') AS matched_calls
FROM calls
GROUP BY site_id, day;

-- What analysts read.
CREATE VIEW IF NOT EXISTS daily_site_stats_v AS
SELECT
    site_id,
    day,
    sum(events) AS events,
    uniqExactMerge(sessions) AS sessions,
    sum(conversions) AS conversions,
    uniqExactMerge(calls) AS calls,
    uniqExactMerge(matched_calls) AS matched_calls,
    if(sum(scored_events) = 0, 0, round(sum(score_sum) / sum(scored_events), 1)) AS avg_score
FROM daily_site_stats
GROUP BY site_id, day;
