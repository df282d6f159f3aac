-- Erasure requests as carried out (leadstream privacy erase): when, what scope, how many rows
-- went. No personal data: the visitor is not named, not even by its hash.
CREATE TABLE IF NOT EXISTS erasures
(
    request_id   UUID,
    requested_at DateTime64(3, 'UTC'),
    completed_at DateTime64(3, 'UTC'),
    site_id      LowCardinality(String),
    scope        LowCardinality(String),
    events       UInt64,
    sessions     UInt64,
    calls        UInt64,
    dead_letters UInt64
)
ENGINE = ReplacingMergeTree(completed_at)
ORDER BY request_id;

-- Retention: rows older than this go at the next merge. The worker sets each table's TTL from
-- LEADSTREAM_RETENTION_DAYS_* at start (storage/retention.py); these are the defaults. Parts
-- written before drop their expired rows as they merge (no rewrite of the whole table now).
ALTER TABLE events MODIFY TTL toDateTime(received_at) + toIntervalDay(395) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE sessions MODIFY TTL toDateTime(last_seen) + toIntervalDay(395) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE calls MODIFY TTL toDateTime(received_at) + toIntervalDay(730) SETTINGS materialize_ttl_after_modify = 0;
ALTER TABLE dead_letters MODIFY TTL toDateTime(failed_at) + toIntervalDay(30) SETTINGS materialize_ttl_after_modify = 0;
