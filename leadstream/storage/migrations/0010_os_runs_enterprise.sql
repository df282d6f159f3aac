-- The SaaS's pipeline route sends enterprise_id in the body: recorded with every OS run.
ALTER TABLE os_runs ADD COLUMN IF NOT EXISTS enterprise_id String DEFAULT '' AFTER tenant_id;
