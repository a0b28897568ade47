-- Tenant portal links become records that can be revoked (they were signed URLs nobody could take back).
-- A link's URL carries its id and a random secret; only the secret's SHA-256 is kept, as for sessions.
CREATE TABLE portal_links (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret_hash  TEXT NOT NULL,
    label        TEXT,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX portal_links_tenant_created ON portal_links(tenant_id, created_at);

-- A session opened from a link names it: the session is then a restricted portal session, and it ends when the
-- link is revoked or expires (checked on every request in the session's own lookup).
ALTER TABLE sessions ADD COLUMN portal_link_id TEXT REFERENCES portal_links(id) ON DELETE CASCADE;
CREATE INDEX sessions_portal_link ON sessions(portal_link_id) WHERE portal_link_id IS NOT NULL;

-- Sessions opened by the old signed links were full tenant sessions and cannot be told apart from the link
-- that made them: they end here (portal users have the password marker '!portal', which no sign-in matches).
DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE password_hash = '!portal');
