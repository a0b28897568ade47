#!/usr/bin/env bash
# Starts the hub for the Playwright suite on a fresh SQLite database with known fixtures:
# two tenants, an admin and a tenant user of the first tenant. Their ids go to end2end/.state/fixtures.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${HUB_BIN:-${CARGO_TARGET_DIR:-target}/release/integration-hub}"
STATE=end2end/.state
DIR=$(mktemp -d /tmp/hub-e2e.XXXXXX)
mkdir -p "$STATE"
export HUB_DATABASE_URL="sqlite://$DIR/hub.db"
export HUB_ADDR="127.0.0.1:${E2E_PORT:-3107}"
export HUB_ADMIN_EMAIL=admin@example.com HUB_ADMIN_PASSWORD=admin-password-1
export HUB_LOG="${HUB_LOG:-info}"
# The tests' webhook receivers listen on loopback; retry delays run 1000× faster so retrying → dead letter
# takes seconds.
export HUB_ALLOW_PRIVATE_TARGETS=127.0.0.1/32 HUB_RETRY_TIME_SCALE=0.001
"$BIN" migrate >/dev/null
acme=$("$BIN" tenant create --name Acme)
globex=$("$BIN" tenant create --name Globex)
"$BIN" user create --email user@acme.test --role tenant --tenant "$acme" --password tenant-password-1 >/dev/null
acme_key=$("$BIN" key create --tenant "$acme" --name e2e --scopes webhooks:read,webhooks:write,events:write,events:read,deliveries:read,deliveries:write --tier enterprise)
cat >"$STATE/fixtures.json" <<JSON
{"acme": "$acme", "globex": "$globex",
 "admin": {"email": "admin@example.com", "password": "admin-password-1"},
 "tenantUser": {"email": "user@acme.test", "password": "tenant-password-1"},
 "acmeKey": "$acme_key",
 "dbDir": "$DIR"}
JSON
exec "$BIN" serve
