-- API key usage per UTC day, for the usage charts (per key and per tenant). The hub counts in memory and adds
-- each few seconds' counts here in one batch, so a request never costs a write. `requests` counts every request
-- that presented the key's valid secret; `rate_limited` and `ip_refused` are those of them refused by the key's
-- rate limit or IP allowlist. No reference to api_keys: a deleted key's rows stay in its tenant's history.
CREATE TABLE api_key_usage_daily (
    key_id       TEXT NOT NULL,
    tenant_id    TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    day          BIGINT NOT NULL,
    requests     BIGINT NOT NULL DEFAULT 0,
    rate_limited BIGINT NOT NULL DEFAULT 0,
    ip_refused   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);
CREATE INDEX api_key_usage_daily_tenant_day ON api_key_usage_daily(tenant_id, day);

-- The address the key was last used from, shown beside its last use.
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT;
