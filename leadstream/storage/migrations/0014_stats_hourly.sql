-- The Stats API's hourly rollup (leadstream/stats/rollup.py): per site, hour, dimension and value,
-- the facts of the visits that started in that hour. Each refresh writes an hour's rows anew at
-- its own version (refreshed_at) and then records that version in stats_hourly_hours; readers
-- take each hour's newest recorded version, so a crash between the two changes nothing.
CREATE TABLE IF NOT EXISTS stats_hourly
(
    site_id      LowCardinality(String),
    hour         DateTime('UTC'),
    dimension    LowCardinality(String),
    value        String,
    visitors     AggregateFunction(uniq, String),
    visits       UInt64,
    entries      UInt64,
    bounces      UInt64,
    duration_ms  UInt64,
    pageviews    UInt64,
    events       UInt64,
    conversions  UInt64,
    score_sum    UInt64,
    score_n      UInt64,
    refreshed_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, dimension, hour, value);

CREATE TABLE IF NOT EXISTS stats_hourly_hours
(
    site_id      LowCardinality(String),
    hour         DateTime('UTC'),
    refreshed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY (site_id, hour);

-- One row per refresh that wrote hours, added last: the watermark.
CREATE TABLE IF NOT EXISTS stats_hourly_refreshes
(
    refreshed_at  DateTime64(3, 'UTC'),
    changes_since Nullable(DateTime64(3, 'UTC')),
    site_hours    UInt64
)
ENGINE = MergeTree
ORDER BY refreshed_at
TTL toDateTime(refreshed_at) + INTERVAL 30 DAY;

-- What analysts read: each hour's rows at the version in force (visitors as a uniq state: uniqMerge).
CREATE VIEW IF NOT EXISTS stats_hourly_v AS
SELECT * FROM stats_hourly
WHERE (site_id, hour, refreshed_at) IN (SELECT site_id, hour, max(refreshed_at) FROM stats_hourly_hours GROUP BY site_id, hour)
