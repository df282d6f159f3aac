-- stats_visits: the pages and the page-like properties as LowCardinality (a few hundred to a
-- few thousand values a site): grouping by them and unrolling a visit's pages read dictionary
-- keys instead of strings.
ALTER TABLE stats_visits
    MODIFY COLUMN entry_raw LowCardinality(String),
    MODIFY COLUMN p_referrer LowCardinality(String),
    MODIFY COLUMN p_entry_page LowCardinality(String),
    MODIFY COLUMN p_exit_page LowCardinality(String),
    MODIFY COLUMN pages Array(LowCardinality(String))
