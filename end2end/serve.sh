#!/usr/bin/env bash
# Starts the hub for the Playwright suite on a fresh SQLite database with known fixtures:
# two tenants, an admin and a tenant user of the first tenant. Their ids go to end2end/.state/fixtures.json.
# Email destinations send through a real SMTP server on loopback (tests/smtp/server.py), which writes each
# message it accepts to the folder named `smtpDir` in the fixtures.
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

# The port a helper server started in the background prints on its first line ($DIR/<name>.port), once it
# listens; its errors are in $DIR/<name>.log. $1: what to call it, $2: its pid, $3: <name>.
port_of() {
  for _ in $(seq 1 200); do
    [ -s "$DIR/$3.port" ] && break
    kill -0 "$2" 2>/dev/null || { echo "$1 did not start:" >&2; cat "$DIR/$3.log" >&2; exit 1; }
    sleep 0.05
  done
  local port
  port=$(head -n 1 "$DIR/$3.port")
  [ -n "$port" ] || { echo "$1 did not say its port" >&2; exit 1; }
  echo "$port"
}

# The SMTP server stops when its standard input closes: fd 3 of this script holds it open, so it ends with
# this script however that ends (the hub is stopped below; a SIGKILL of the group takes both).
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd==1.4.6
SMTP_DIR="$DIR/smtp"
mkdir -p "$SMTP_DIR"
mkfifo "$DIR/smtp.stdin"
python3 tests/smtp/server.py 0 "$SMTP_DIR" <"$DIR/smtp.stdin" >"$DIR/smtp.port" 2>"$DIR/smtp.log" &
smtp=$!
exec 3>"$DIR/smtp.stdin"
smtp_port=$(port_of "the SMTP server" "$smtp" smtp)
export HUB_SMTP_URL="smtp://127.0.0.1:$smtp_port" HUB_SMTP_FROM="Integration Hub <hub@e2e.test>"

# Connected apps: a real OAuth 2.0 server (tests/oauth/server.mjs, oidc-provider) on loopback stands in for
# Google's, so Google Calendar is configured and the other five providers stay "not configured". It shows a
# sign-in/consent page with Allow and Deny for the browser to click, and stops when fd 4 closes, like the SMTP
# server. The calendar API base points at a closed port: nothing is ever sent anywhere real.
oauth_url=""
if command -v node >/dev/null && [ -e node_modules/oidc-provider/package.json ]; then
  cat >"$DIR/oauth.json" <<OAUTH
{"consent": "page",
 "clients": [{"client_id": "hub-e2e-google", "client_secret": "hub-e2e-google-secret",
              "redirect_uris": ["http://$HUB_ADDR/oauth/callback"],
              "token_endpoint_auth_method": "client_secret_basic"}]}
OAUTH
  mkfifo "$DIR/oauth.stdin"
  node tests/oauth/server.mjs "$DIR/oauth.json" <"$DIR/oauth.stdin" >"$DIR/oauth.port" 2>"$DIR/oauth.log" &
  oauth=$!
  exec 4>"$DIR/oauth.stdin"
  oauth_port=$(port_of "the OAuth server" "$oauth" oauth)
  oauth_url="http://127.0.0.1:$oauth_port"
  export HUB_OAUTH_GOOGLE_CALENDAR_CLIENT_ID=hub-e2e-google HUB_OAUTH_GOOGLE_CALENDAR_CLIENT_SECRET=hub-e2e-google-secret
  export HUB_OAUTH_GOOGLE_CALENDAR_AUTH_URL="$oauth_url/auth" HUB_OAUTH_GOOGLE_CALENDAR_TOKEN_URL="$oauth_url/token"
  export HUB_OAUTH_GOOGLE_CALENDAR_REVOKE_URL="$oauth_url/token/revocation"
  export HUB_OAUTH_GOOGLE_CALENDAR_API_BASE="http://127.0.0.1:9"
else
  echo "node or oidc-provider missing (make node): Connected apps stay unconfigured" >&2
fi

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
 "dbDir": "$DIR",
 "smtpDir": "$SMTP_DIR",
 "oauthUrl": "$oauth_url"}
JSON

# The hub runs as a child so the SMTP and OAuth servers can be stopped with it: SIGTERM/SIGINT to this script are passed
# on to the hub (which drains and exits), and whatever way this script exits, none is left behind.
"$BIN" serve 3>&- 4>&- &
hub=$!
trap 'kill "$hub" "$smtp" ${oauth:-} 2>/dev/null || true' EXIT
trap 'kill -TERM "$hub" 2>/dev/null || true' TERM INT
status=0
wait "$hub" || status=$?
# A trapped signal ends the first wait early; the hub is stopping then, so wait for it to finish.
if kill -0 "$hub" 2>/dev/null; then
  status=0
  wait "$hub" || status=$?
fi
exit "$status"
