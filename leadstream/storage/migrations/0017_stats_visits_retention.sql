-- The Stats API's per-visit rows (a session id and a visitor hash each) are kept as long as the
-- sessions they summarise; the worker keeps this TTL in step with LEADSTREAM_RETENTION_DAYS_SESSIONS.
ALTER TABLE stats_visits MODIFY TTL toDateTime(start) + toIntervalDay(395) SETTINGS materialize_ttl_after_modify = 0;
