-- Leads (a matched call, a WhatsApp click, a conversion event), their stage history, and the
-- Google Ads offline-conversion queue. Columns are declared in leadstream/storage/tables.py.
CREATE TABLE IF NOT EXISTS leads
(
    lead_id          UUID,
    site_id          LowCardinality(String),
    session_id       Nullable(UUID),
    fingerprint      String,
    kind             LowCardinality(String),
    source_id        UUID,
    gclid            String,
    wbraid           String,
    gbraid           String,
    utm_source       String,
    utm_medium       String,
    utm_campaign     String,
    utm_term         String,
    utm_content      String,
    utm_adgroup      String,
    matchtype        String,
    network          String,
    placement        String,
    adposition       String,
    ads_device_model String,
    target_id        String,
    feed_item_id     String,
    loc_interest_ms  String,
    loc_physical_ms  String,
    score            UInt8,
    phone_number     String,
    created_at       DateTime64(3, 'UTC'),
    clicked_at       Nullable(DateTime64(3, 'UTC')),
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, lead_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Analysts see every lead once, the phone number masked to its last four digits.
CREATE VIEW IF NOT EXISTS leads_v AS
SELECT * EXCEPT (phone_number, inserted_at),
       if(phone_number = '', '', concat(repeat('*', greatest(length(phone_number) - 4, 0)), right(phone_number, 4)))
           AS phone_number
FROM leads FINAL;

-- Every accepted stage change (one row per lead and version).
CREATE TABLE IF NOT EXISTS lead_stages
(
    lead_id     UUID,
    site_id     LowCardinality(String),
    session_id  Nullable(UUID),
    fingerprint String,
    stage       LowCardinality(String),
    value       Nullable(Float64),
    currency    String,
    note        String,
    who         String,
    changed_at  DateTime64(3, 'UTC'),
    version     UInt32,
    command_id  UUID,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, lead_id, version)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS lead_stage_history_v AS SELECT * EXCEPT (inserted_at) FROM lead_stages FINAL;

-- Each lead's current stage (its highest version).
CREATE VIEW IF NOT EXISTS lead_stages_v AS
SELECT site_id,
       lead_id,
       argMax(s.stage, s.version)      AS stage,
       max(s.version)                  AS version,
       argMax(s.value, s.version)      AS value,
       argMax(s.currency, s.version)   AS currency,
       argMax(s.note, s.version)       AS note,
       argMax(s.who, s.version)        AS who,
       argMax(s.changed_at, s.version) AS changed_at
FROM lead_stages AS s FINAL
GROUP BY site_id, lead_id;

-- The offline-conversion queue: one row per (lead, stage) item, each change a higher version.
CREATE TABLE IF NOT EXISTS oci_queue
(
    item_id          String,
    site_id          LowCardinality(String),
    lead_id          UUID,
    stage            LowCardinality(String),
    order_id         String,
    status           LowCardinality(String),
    attempts         UInt8,
    reason           LowCardinality(String),
    error_code       String,
    error_message    String,
    error_category   LowCardinality(String),
    gclid            String,
    wbraid           String,
    gbraid           String,
    conversion_name  String,
    conversion_time  DateTime64(3, 'UTC'),
    conversion_value Float64,
    currency         String,
    run_id           String,
    claimed_until    DateTime64(3, 'UTC'),
    next_at          DateTime64(3, 'UTC'),
    session_id       Nullable(UUID),
    fingerprint      String,
    created_at       DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC'),
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, item_id);

CREATE VIEW IF NOT EXISTS oci_queue_v AS SELECT * FROM oci_queue FINAL;

CREATE TABLE IF NOT EXISTS oci_replies
(
    site_id      LowCardinality(String),
    payload_hash String,
    answer       String,
    stored_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(stored_at)
ORDER BY (site_id, payload_hash)
TTL toDateTime(stored_at) + toIntervalDay(7);

ALTER TABLE erasures ADD COLUMN IF NOT EXISTS leads UInt64 DEFAULT 0;
ALTER TABLE erasures ADD COLUMN IF NOT EXISTS lead_stages UInt64 DEFAULT 0;
ALTER TABLE erasures ADD COLUMN IF NOT EXISTS oci_queue UInt64 DEFAULT 0;
