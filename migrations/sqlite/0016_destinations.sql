-- Destinations (issue 31): an endpoint's kind, and the kind's own settings as JSON (email recipients, the chat or
-- email message template). Existing endpoints are webhooks with no settings.
ALTER TABLE webhooks ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE webhooks ADD COLUMN destination TEXT NOT NULL DEFAULT '{}';
-- The expiry a key's "expiring soon" notice was sent for (hub.api_key.expiring): a changed expiry is noticed again.
ALTER TABLE api_keys ADD COLUMN expiry_notice_for BIGINT;
