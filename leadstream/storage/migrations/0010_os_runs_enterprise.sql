-- The SaaS's pipeline route sends enterprise_id in the body: recorded with every OS run.
ALTER TABLE os_runs ADD COLUMN IF NOT EXISTS enterprise_id String DEFAULT '' AFTER tenant_id;
-- A view's * is expanded when it is created: made again so it shows the new column.
DROP VIEW IF EXISTS os_runs_v;
CREATE VIEW os_runs_v AS SELECT * FROM os_runs FINAL;
