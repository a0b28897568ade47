-- A delivery made when its event is published is named after it (`dlv_<event ULID>_<n>`), so an event's
-- deliveries are a range of the primary key and publishing no longer writes an entry per delivery in an index by
-- event (an eighth of the bytes the single writer logged per event). The index keeps only the rows whose id does
-- not name their event: replays, and the rows written before this migration.
--
-- The foreign key to events goes too: deleting an event would look up its deliveries through that index, and a
-- table scan per deleted event is no way to prune. Nothing relied on it (PostgreSQL dropped it in its 0008):
-- deliveries are written in the statement group that writes their event, and pruning deletes attempts, then
-- deliveries, then the events no delivery refers to. SQLite drops a constraint by rebuilding the table; the
-- migrations run with foreign keys off (`Store::migrate`), so dropping the old table does not cascade to the
-- attempts.
CREATE TABLE deliveries_rebuilt (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    last_status_code BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    duration_ms     BIGINT,
    is_test         BIGINT NOT NULL DEFAULT 0
);
INSERT INTO deliveries_rebuilt (id, tenant_id, event_id, webhook_id, event_type, status, attempts, next_attempt_at,
    lease_until, last_status_code, last_error, created_at, updated_at, duration_ms, is_test)
SELECT id, tenant_id, event_id, webhook_id, event_type, status, attempts, next_attempt_at,
    lease_until, last_status_code, last_error, created_at, updated_at, duration_ms, is_test FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, id);
CREATE INDEX deliveries_event ON deliveries(event_id) WHERE substr(id, 5, 26) <> substr(event_id, 5, 26);
CREATE INDEX deliveries_finished ON deliveries(updated_at) WHERE status IN ('success', 'failed', 'cancelled');
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id) WHERE status <> 'pending';
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, webhook_id, status) WHERE status IN ('pending', 'retrying');
