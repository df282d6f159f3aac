-- Consent, device and bot enrichment, first-touch campaign attribution (SPEC §7).
-- Enrichment comes from the stream processors: the events sink parses the user agent and the
-- referrer; the session scorer keeps the session's first device, landing referrer and campaign.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS device_type     LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS os              LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS os_version      LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS browser         LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS browser_version LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS is_bot          UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS referrer_host   String DEFAULT '',
    ADD COLUMN IF NOT EXISTS consent_scopes  Array(LowCardinality(String));

ALTER TABLE sessions
    ADD COLUMN IF NOT EXISTS device_type      LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS os               LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS os_version       LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS browser          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS browser_version  LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS is_bot           UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS referrer_host    String DEFAULT '',
    ADD COLUMN IF NOT EXISTS consent_scopes   Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS utm_source       String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_medium       String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_campaign     String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_term         String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_content      String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_adgroup      String DEFAULT '',
    ADD COLUMN IF NOT EXISTS matchtype        String DEFAULT '',
    ADD COLUMN IF NOT EXISTS network          String DEFAULT '',
    ADD COLUMN IF NOT EXISTS placement        String DEFAULT '',
    ADD COLUMN IF NOT EXISTS adposition       String DEFAULT '',
    ADD COLUMN IF NOT EXISTS ads_device_model String DEFAULT '',
    ADD COLUMN IF NOT EXISTS target_id        String DEFAULT '',
    ADD COLUMN IF NOT EXISTS feed_item_id     String DEFAULT '',
    ADD COLUMN IF NOT EXISTS loc_interest_ms  String DEFAULT '',
    ADD COLUMN IF NOT EXISTS loc_physical_ms  String DEFAULT '';

ALTER TABLE sites ADD COLUMN IF NOT EXISTS require_consent UInt8 DEFAULT 0 AFTER signed;

-- Bots are stored but flagged: the analyst views leave them out (and with them the daily
-- statistics, computed from events_v); the *_all_v views keep them reachable.
CREATE OR REPLACE VIEW events_all_v AS SELECT * FROM events FINAL;
CREATE OR REPLACE VIEW events_v AS SELECT * FROM events FINAL WHERE is_bot = 0;
CREATE OR REPLACE VIEW sessions_all_v AS SELECT * FROM sessions FINAL;
CREATE OR REPLACE VIEW sessions_v AS SELECT * FROM sessions FINAL WHERE is_bot = 0;
