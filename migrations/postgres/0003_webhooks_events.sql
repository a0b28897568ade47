-- Webhook endpoints, the event-type catalog, events and their delivery rows (the transactional outbox).
CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    events              TEXT NOT NULL,
    filters             TEXT NOT NULL,
    headers             TEXT NOT NULL,
    secret_sealed       TEXT NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_expires_at BIGINT,
    content_type        TEXT NOT NULL,
    template            TEXT,
    max_retries         BIGINT NOT NULL,
    retry_delay_seconds BIGINT NOT NULL,
    backoff_factor      DOUBLE PRECISION NOT NULL,
    timeout_ms          BIGINT NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    is_active           BIGINT NOT NULL,
    disabled_reason     TEXT,
    created_by          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    last_triggered_at   BIGINT,
    last_error_at       BIGINT,
    last_error          TEXT,
    total_delivered     BIGINT NOT NULL DEFAULT 0,
    total_failed        BIGINT NOT NULL DEFAULT 0,
    deleted_at          BIGINT
);
CREATE INDEX webhooks_tenant ON webhooks(tenant_id, id);

CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    category    TEXT NOT NULL,
    description TEXT NOT NULL,
    example     TEXT NOT NULL,
    schema      TEXT,
    archived    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX events_tenant_id ON events(tenant_id, id);
CREATE INDEX events_tenant_type ON events(tenant_id, event_type, id);

-- Idempotency keys live 24 h; an expired one is replaced in the publishing transaction.
CREATE TABLE idempotency_keys (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    matched     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    last_status_code BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- The worker's queue: due rows by time.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, id);
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id);
CREATE INDEX deliveries_event ON deliveries(event_id);
