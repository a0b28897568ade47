-- The audit trail becomes readable: who (a label beside the id), which object (kind and name beside the id),
-- from which address, and the changed fields before and after (JSON text, secrets redacted before writing).
ALTER TABLE audit_log ADD COLUMN actor_label TEXT;
ALTER TABLE audit_log ADD COLUMN object_type TEXT;
ALTER TABLE audit_log ADD COLUMN object_name TEXT;
ALTER TABLE audit_log ADD COLUMN ip TEXT;
ALTER TABLE audit_log ADD COLUMN before_data TEXT;
ALTER TABLE audit_log ADD COLUMN after_data TEXT;
-- Earlier entries' kind of object is the first part of their action (`webhook.created`).
UPDATE audit_log SET object_type = split_part(action, '.', 1) WHERE strpos(action, '.') > 0;

-- Pages are read newest first by (at, id), for one tenant or (admins) for all of them.
DROP INDEX audit_log_tenant_at;
CREATE INDEX audit_log_tenant_at ON audit_log(tenant_id, at, id);
CREATE INDEX audit_log_at ON audit_log(at, id);
