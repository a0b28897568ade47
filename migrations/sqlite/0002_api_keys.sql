-- API keys: only hashes are stored. `key_id` is the public id inside the key string (unique index: O(1) lookup).
CREATE TABLE api_keys (
    id                  TEXT PRIMARY KEY,
    key_id              TEXT NOT NULL UNIQUE,
    tenant_id           TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    prefix              TEXT NOT NULL,
    secret_hash         TEXT NOT NULL,
    previous_hash       TEXT,
    previous_expires_at BIGINT,
    scopes              TEXT NOT NULL,
    allowed_ips         TEXT NOT NULL,
    rate_per_minute     BIGINT NOT NULL,
    rate_per_hour       BIGINT NOT NULL,
    expires_at          BIGINT,
    is_active           BIGINT NOT NULL DEFAULT 1,
    revoked_at          BIGINT,
    created_by          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    last_used_at        BIGINT,
    usage_count         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_tenant_created ON api_keys(tenant_id, created_at);
