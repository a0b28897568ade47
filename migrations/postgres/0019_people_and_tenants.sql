-- People and tenants managed in the UI: suspended tenants, the read-only `viewer` role, deactivated users,
-- one-time invite and password-reset links, and what a session list shows (last seen, address, browser).

-- A suspended tenant's API keys are refused and its deliveries wait as `paused` until it is resumed.
ALTER TABLE tenants ADD COLUMN suspended_at BIGINT;

-- The role checks gain `viewer` (a tenant's read-only user); PostgreSQL named them after the table.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users DROP CONSTRAINT users_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'tenant', 'viewer'));
ALTER TABLE users ADD CONSTRAINT users_check
    CHECK ((role = 'admin' AND tenant_id IS NULL) OR (role IN ('tenant', 'viewer') AND tenant_id IS NOT NULL));
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
CREATE INDEX users_tenant ON users(tenant_id, email);

ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Invite and password-reset links: the URL carries the id and a random secret, of which only the SHA-256 is kept.
CREATE TABLE user_links (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX user_links_user ON user_links(user_id);
