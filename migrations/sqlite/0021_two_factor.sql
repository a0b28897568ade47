-- Two-factor sign-in (TOTP, RFC 6238) per user, and a per-tenant rule that its people must use it.

-- The secret is sealed with the master key (`user:<id>:totp`). It is set when enrolment begins and counts only
-- once a correct code confirmed it (`totp_enabled_at`). `totp_last_step` is the time step of the last code
-- accepted: a code of that step or an earlier one is refused, so an overheard code cannot be used again.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Recovery codes: only their SHA-256 is kept; each opens once.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- 1: every person of the tenant signs in with a second factor (those without one enrol first).
ALTER TABLE tenants ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0;
