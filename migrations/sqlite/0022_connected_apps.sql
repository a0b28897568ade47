-- Connected apps: a tenant's OAuth connections to providers (Google Calendar, Outlook, Zoom, HubSpot,
-- Salesforce, Mailchimp), the authorisation attempts in flight, what the hub created at each provider, and the
-- sync logs. Tokens and PKCE verifiers are sealed under the master key (AES-256-GCM bound to the row and column),
-- never stored in clear.

CREATE TABLE app_connections (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    -- NULL: the tenant's connection (the default); a user: that person's own.
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('active', 'error', 'disabled')),
    account_label    TEXT,
    access_token     TEXT,
    refresh_token    TEXT,
    token_expires_at BIGINT,
    -- Space-separated, as OAuth writes them.
    scopes           TEXT NOT NULL DEFAULT '',
    settings         TEXT NOT NULL DEFAULT '{}',
    -- Where this connection's API answers when the token says (Salesforce's instance_url, Mailchimp's dc).
    api_base         TEXT,
    -- The hidden endpoint that carries the connection's event-driven actions through the delivery queue.
    endpoint_id      TEXT,
    last_error       TEXT,
    last_sync_at     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, user_id, provider)
);
-- NULLs are distinct in a UNIQUE constraint: one tenant-wide connection per provider needs its own index.
CREATE UNIQUE INDEX app_connections_tenant_wide ON app_connections(tenant_id, provider) WHERE user_id IS NULL;
CREATE INDEX app_connections_endpoint ON app_connections(endpoint_id);

-- An authorisation in flight: the `state` sent to the provider (only its SHA-256 kept), bound to the tenant, the
-- person and their session, with the PKCE verifier sealed. Single use, ten minutes.
CREATE TABLE app_oauth_states (
    state_hash   TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT,
    session_hash TEXT,
    provider     TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX app_oauth_states_expiry ON app_oauth_states(expires_at);

-- What an action created at the provider, so an update or a cancellation finds it (`event:<id>` → remote id).
CREATE TABLE app_object_links (
    connection_id TEXT NOT NULL REFERENCES app_connections(id) ON DELETE CASCADE,
    source_key    TEXT NOT NULL,
    remote_id     TEXT NOT NULL,
    remote_url    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, source_key)
);

CREATE TABLE app_sync_logs (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES app_connections(id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('event', 'full', 'incremental', 'manual')),
    direction     TEXT NOT NULL DEFAULT 'export',
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    processed     BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    started_at    BIGINT NOT NULL,
    completed_at  BIGINT,
    duration_ms   BIGINT,
    cursor        TEXT,
    -- An `event` row's delivery: one row per delivery, however often it is attempted.
    delivery_id   TEXT,
    -- JSON: [{record, message, status}]
    errors        TEXT NOT NULL DEFAULT '[]',
    -- JSON: remote ids, join URLs.
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX app_sync_logs_connection ON app_sync_logs(connection_id, started_at, id);
CREATE UNIQUE INDEX app_sync_logs_delivery ON app_sync_logs(connection_id, delivery_id) WHERE delivery_id IS NOT NULL;
