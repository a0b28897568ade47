-- Circuit breaker state per endpoint: failed deliveries in a row, and since when every attempt has failed.
ALTER TABLE webhooks ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
-- Latency of the last attempt (stats), and test-fire rows (kept 7 days instead of 30).
ALTER TABLE deliveries ADD COLUMN duration_ms BIGINT;
ALTER TABLE deliveries ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;
-- Stats read only these covering indexes (range of time per endpoint or tenant), never the table.
CREATE INDEX deliveries_webhook_stats ON deliveries(webhook_id, created_at, status, duration_ms);
CREATE INDEX deliveries_tenant_stats ON deliveries(tenant_id, created_at, status, duration_ms);
-- Retention walks finished rows by age.
CREATE INDEX deliveries_finished ON deliveries(updated_at) WHERE status IN ('success', 'failed', 'cancelled');
CREATE INDEX events_created ON events(created_at);
