-- The edge publishes no whole client IP: beside the network prefix (ip_prefix, IPv4 /24, IPv6 /48)
-- each event carries a keyed hash of (site, IP, user agent) whose key changes every UTC day and is
-- then deleted, so analysts can count distinct visitors per day without any address being kept.
ALTER TABLE events ADD COLUMN IF NOT EXISTS visitor_hash String DEFAULT '' AFTER ip_prefix;

-- The views name their columns when made: made again to show the new one.
CREATE OR REPLACE VIEW events_all_v AS SELECT * FROM events FINAL;
CREATE OR REPLACE VIEW events_v AS SELECT * FROM events FINAL WHERE is_bot = 0;
