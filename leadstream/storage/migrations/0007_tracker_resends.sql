-- Meta keys past the 64 extra ones an event may carry are dropped at the edge: how many, per event
-- (SELECT site_id, sum(meta_keys_dropped) FROM events_v GROUP BY site_id shows who sends too many).
ALTER TABLE events ADD COLUMN IF NOT EXISTS meta_keys_dropped UInt16 DEFAULT 0 AFTER meta;

-- The events sink looks re-sent tracker events up by id before storing them (streams/copies.py).
ALTER TABLE events ADD INDEX IF NOT EXISTS event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 1;
ALTER TABLE events MATERIALIZE INDEX event_id_bloom;
