-- Daily per-site statistics, materialised crash-safely: the worker (and `leadstream stats refresh`)
-- recomputes whole (site, day) rows from daily_site_stats_v for the pairs whose events or calls
-- rows were inserted since the last completed refresh, less a margin (storage/daily_stats.py).
-- Nothing depends on the worker's memory: a refresh lost in a crash is redone by the next one,
-- and recomputing a row again only replaces it with the same values (the newest refresh wins).
CREATE TABLE IF NOT EXISTS daily_site_stats
(
    site_id       LowCardinality(String),
    day           Date,
    events        UInt64,
    sessions      UInt64,
    conversions   UInt64,
    calls         UInt64,
    matched_calls UInt64,
    avg_score     Float64,
    refreshed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(refreshed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day);

-- One row per refresh that wrote rows, added after its insert returned: the watermark. (The
-- insert itself may land part by part, one per month, so the stats table cannot be its own
-- watermark.) After 30 days without a refresh the log is empty and the next one recomputes all.
CREATE TABLE IF NOT EXISTS daily_site_stats_refreshes
(
    refreshed_at  DateTime64(3, 'UTC'),
    changes_since Nullable(DateTime64(3, 'UTC')),
    site_days     UInt64
)
ENGINE = MergeTree
ORDER BY refreshed_at
TTL toDateTime(refreshed_at) + INTERVAL 30 DAY;

-- What analysts read: as fresh as the last refresh (LEADSTREAM_DAILY_STATS_REFRESH_S);
-- daily_site_stats_v is the exact, always-fresh and slower version.
CREATE VIEW IF NOT EXISTS daily_site_stats_mat_v AS SELECT * FROM daily_site_stats FINAL;

-- Finding the changed pairs reads only the parts inserted lately.
ALTER TABLE events ADD INDEX IF NOT EXISTS events_inserted_at inserted_at TYPE minmax GRANULARITY 1;
ALTER TABLE calls ADD INDEX IF NOT EXISTS calls_inserted_at inserted_at TYPE minmax GRANULARITY 1
