-- The sales OS: each tenant's companies and signals (loaded by POST /api/os/signals or
-- `leadstream os load`), and every OS request / pipeline run with its inputs and outputs.
-- Every row carries its tenant; every read filters on it.
CREATE TABLE IF NOT EXISTS os_companies
(
    tenant_id       LowCardinality(String),
    company_id      String,
    name            String,
    domain          String,
    industry        String,
    size            String,
    linkedin_url    String,
    location        String,
    data            String,
    loaded_at       DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (tenant_id, company_id);

CREATE VIEW IF NOT EXISTS os_companies_v AS SELECT * FROM os_companies FINAL;

CREATE TABLE IF NOT EXISTS os_signals
(
    tenant_id       LowCardinality(String),
    signal_id       String,
    company_id      String,
    type            LowCardinality(String),
    source          LowCardinality(String),
    evidence        String,
    confidence      Nullable(Float64),
    date            String,
    data            String,
    loaded_at       DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (tenant_id, company_id, signal_id);

CREATE VIEW IF NOT EXISTS os_signals_v AS SELECT * FROM os_signals FINAL;

CREATE TABLE IF NOT EXISTS os_runs
(
    run_id          String,
    tenant_id       LowCardinality(String),
    user_id         String,
    request_id      String,
    client          String,
    endpoint        LowCardinality(String),
    mode            LowCardinality(String),
    status          LowCardinality(String),
    inputs          String,
    outputs         String,
    started_at      DateTime64(3, 'UTC'),
    finished_at     DateTime64(3, 'UTC'),
    execution_ms    UInt32,
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (tenant_id, toDate(started_at), run_id);

CREATE VIEW IF NOT EXISTS os_runs_v AS SELECT * FROM os_runs FINAL;
