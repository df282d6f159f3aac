-- The Stats API's per-visit table (leadstream/stats/rollup.py): one row per visit with its
-- properties, its facts and, as parallel arrays, its facts per page. Written by the same
-- refresh as stats_hourly, at the same version (refreshed_at) for the same hours, and read the
-- same way (each hour's newest version recorded in stats_hourly_hours): filtered queries read
-- these narrow rows instead of recomputing every visit from the events. visitor_hash is
-- cityHash64 of the visitor id, the hash uniq() takes of a string, so counts are unchanged.
CREATE TABLE IF NOT EXISTS stats_visits
(
    site_id          LowCardinality(String),
    hour             DateTime('UTC'),
    session_id       UUID,
    visitor_hash     UInt64,
    start            DateTime64(3, 'UTC'),
    is_bounce        UInt8,
    duration_ms      UInt64,
    pageviews        UInt64,
    events           UInt64,
    conversions      UInt64,
    score_sum        UInt64,
    score_n          UInt64,
    entry_raw        String,
    p_source         LowCardinality(String),
    p_referrer       String,
    p_utm_source     LowCardinality(String),
    p_utm_medium     LowCardinality(String),
    p_utm_campaign   LowCardinality(String),
    p_utm_content    LowCardinality(String),
    p_utm_term       LowCardinality(String),
    p_device         LowCardinality(String),
    p_browser        LowCardinality(String),
    p_os             LowCardinality(String),
    p_entry_page     String,
    p_exit_page      String,
    pages            Array(String),
    page_pageviews   Array(UInt64),
    page_events      Array(UInt64),
    page_conversions Array(UInt64),
    page_score_sum   Array(UInt64),
    page_score_n     Array(UInt64),
    refreshed_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, hour);

-- Hours refreshed before this table existed have no visit rows: forgetting the refreshes makes
-- the next one recompute every hour (both tables), and queries compute live until it has.
TRUNCATE TABLE IF EXISTS stats_hourly_refreshes
