-- The producer's API (issue 32). A tenant may accept event types that are not in the catalog (off by default: an
-- unknown type is a 422). Types accepted that way are recorded per tenant, so the catalog can show them as
-- "unregistered" to that tenant (and admins) without telling other tenants what it publishes; registering the
-- name in the catalog removes these rows.
ALTER TABLE tenants ADD COLUMN accept_unregistered_types BIGINT NOT NULL DEFAULT 0;

CREATE TABLE unregistered_event_types (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    first_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX unregistered_event_types_name ON unregistered_event_types (name);
