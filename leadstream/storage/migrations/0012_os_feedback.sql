-- Decision Mode feedback (POST /api/os/intelligence/feedback): every LIKE / DISLIKE / SAVE / DISMISS a
-- user gave a session's company, kept for good; a user's last 90 days move their next shortlists.
CREATE TABLE IF NOT EXISTS os_feedback
(
    feedback_id     String,
    tenant_id       LowCardinality(String),
    user_id         String,
    session_id      String,
    company_id      String,
    action          LowCardinality(String),
    weight          Int8,
    company_name    String,
    industry        String,
    size_bucket     String,
    location        String,
    recorded_at     DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, user_id, feedback_id);

CREATE VIEW IF NOT EXISTS os_feedback_v AS SELECT * FROM os_feedback FINAL;
