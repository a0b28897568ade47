#!/usr/bin/env bash
# Hostile-input run: schemathesis (PyPI) generates requests from /api/v1/openapi.json for every operation, with
# a key holding every scope, and checks that nothing answers 5xx and every answer matches the document.
# Changing or revoking keys by id is left out: the fuzzer would find and revoke its own key (GET /me tells it
# the id); tests/api_keys.rs covers those routes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${HUB_BIN:-${CARGO_TARGET_DIR:-target}/debug/integration-hub}"
MAX_EXAMPLES="${MAX_EXAMPLES:-40}"
# One worker: CPython 3.11's parser is not thread-safe and hypothesis parses lambdas to describe them, which
# crashed a two-worker run ("AST constructor recursion depth mismatch") in the tool, not in the hub.
command -v schemathesis >/dev/null ||
  python3 -m pip install -q --disable-pip-version-check schemathesis==4.32.5 hypothesis==6.170.17
DIR=$(mktemp -d /tmp/hub-st.XXXXXX)
# SQLite by default; PostgreSQL (a fresh schema) when ST_POSTGRES is a server URL, e.g. in CI.
DB="sqlite://$DIR/hub.db"
if [[ -n "${ST_POSTGRES:-}" ]]; then
  schema="hub_st_$(date +%s%N)"
  psql -q "$ST_POSTGRES" -c "CREATE SCHEMA $schema" >/dev/null
  DB="$ST_POSTGRES?options=-c%20search_path%3D$schema"
  export HUB_MASTER_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HUB_DATABASE_URL="$DB" HUB_ADDR="127.0.0.1:$PORT" HUB_LOG=warn
export HUB_ALLOW_PRIVATE_TARGETS=127.0.0.1/32 HUB_ADMIN_PASSWORD=schemathesis-admin-1
"$BIN" migrate >/dev/null
tenant=$("$BIN" tenant create --name Fuzz)
key=$("$BIN" key create --tenant "$tenant" --name st --per-minute 1000000 --per-hour 100000000 \
  --scopes events:write,events:read,webhooks:read,webhooks:write,deliveries:read,deliveries:write,keys:read,keys:write)
"$BIN" serve & pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$DIR"; [[ -z "${schema:-}" ]] || PGOPTIONS=--client-min-messages=warning psql -q "$ST_POSTGRES" -c "DROP SCHEMA $schema CASCADE" >/dev/null' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
schemathesis run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" --workers 1 --seed 42 --suppress-health-check all \
  --phases examples,coverage,fuzzing --no-color --generation-database none \
  --exclude-operation-id-regex '^(post|patch|delete)_keys__id_' "$@" || status=$?
# The run is only meaningful if the key kept working throughout.
curl -sf "http://127.0.0.1:$PORT/api/v1/me" -H "Authorization: Bearer $key" >/dev/null || { echo "schemathesis: the key stopped working" >&2; exit 1; }
exit "${status:-0}"
