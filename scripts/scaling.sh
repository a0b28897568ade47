#!/usr/bin/env bash
# docs/SCALING.md's measurements: the release binary on PostgreSQL with its worker, delivering to a receiver in a
# process of its own while wrk publishes. Reports CPU-seconds per 1,000 deliveries in the hub and in PostgreSQL
# (every postgres process), WAL bytes per delivery and the hub's connections. With PIN=1 the hub runs on core 0
# and PostgreSQL on core 1 (the model's check). Needs the release build (make build-release), wrk and a local
# PostgreSQL with trust auth; usage: [PIN=1] [DURATION=10s] bash scripts/scaling.sh [endpoints…]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/load.sh
BIN="${CARGO_TARGET_DIR:-target}/release/integration-hub"
DURATION=${DURATION:-10s}
CONNS=64
PORT=${SCALING_PORT:-3196}
RECV="127.0.0.1:${RECV_PORT:-3195}"
PG="postgres://postgres@127.0.0.1:5432"
DBNAME=hub_scaling
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/hub-scaling.XXXXXX)
RECV_EXE=$(receiver_exe)
RECEIVER_ADDR=$RECV "$RECV_EXE" & RPID=$!
PID=0
trap 'kill $PID $RPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
write_publish_body "$WORK/publish.lua"
# CPU ticks (user + system) of the given processes, all their threads included.
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'; }
pg_pids() { pgrep -x postgres || pgrep -f 'postgres:|bin/postgres' || true; }
sql() { psql -qtA "$PG/$1" -c "$2"; }
export HUB_ADMIN_PASSWORD=scaling-password-1 HUB_MASTER_KEY=${HUB_MASTER_KEY:-$(printf 'ab%.0s' $(seq 1 32))} HUB_LOG=warn HUB_ALLOW_PRIVATE_TARGETS=127.0.0.1/32
if [[ ${PIN:-0} == 1 ]]; then
  for p in $(pg_pids); do taskset -a -p -c 1 "$p" >/dev/null; done
fi
[[ $# -gt 0 ]] || set -- 1 10
for endpoints in "$@"; do
  sql postgres "DROP DATABASE IF EXISTS $DBNAME" && sql postgres "CREATE DATABASE $DBNAME"
  export HUB_DATABASE_URL="$PG/$DBNAME"
  "$BIN" migrate >/dev/null
  T=$("$BIN" tenant create --name Scaling)
  K=$("$BIN" key create --tenant "$T" --name publish --scopes events:write,webhooks:write --per-minute 6000000 --per-hour 360000000)
  if [[ ${PIN:-0} == 1 ]]; then
    HUB_ADDR=127.0.0.1:$PORT taskset -c 0 "$BIN" serve & PID=$!
  else
    HUB_ADDR=127.0.0.1:$PORT "$BIN" serve & PID=$!
  fi
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  for i in $(seq 1 "$endpoints"); do
    curl -sf -o /dev/null -X POST "http://127.0.0.1:$PORT/api/v1/webhooks" -H "Authorization: Bearer $K" \
      -H 'content-type: application/json' -d "{\"url\":\"http://$RECV/in/$i\",\"events\":[\"ticket.*\"]}"
  done
  r0=$(curl -sf "http://$RECV/count"); h0=$(ticks "$PID"); p0=$(ticks $(pg_pids)); t0=$(date +%s.%N)
  w0=$(sql "$DBNAME" "SELECT pg_current_wal_lsn()")
  read -r _ _ _ events < <(run_wrk "http://127.0.0.1:$PORT/api/v1/events" "Authorization: Bearer $K" -s "$WORK/publish.lua")
  conns=$(sql "$DBNAME" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DBNAME'")
  for _ in $(seq 1 1200); do
    [[ $(( $(curl -sf "http://$RECV/count") - r0 )) -ge $((events * endpoints)) ]] && break; sleep 0.1
  done
  got=$(( $(curl -sf "http://$RECV/count") - r0 )); h1=$(ticks "$PID"); p1=$(ticks $(pg_pids)); t1=$(date +%s.%N)
  wal=$(sql "$DBNAME" "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0')")
  awk -v e="$endpoints" -v n="$got" -v ev="$events" -v h=$((h1 - h0)) -v p=$((p1 - p0)) -v tk="$TICK" -v w="$wal" \
    -v s="$t0" -v f="$t1" -v c="$conns" -v pin="${PIN:-0}" 'BEGIN {
      printf "#scaling endpoints=%d pinned=%d events=%d deliveries=%d seconds=%.1f delivered_per_s=%.0f ", e, pin, ev, n, f - s, n / (f - s)
      printf "hub_cpu_s_per_1000=%.3f pg_cpu_s_per_1000=%.3f wal_bytes_per_delivery=%.0f connections=%d\n", 1000 * h / tk / n, 1000 * p / tk / n, w / n, c
    }'
  kill $PID; wait $PID 2>/dev/null || true
done
if [[ ${PIN:-0} == 1 ]]; then
  for p in $(pg_pids); do taskset -a -p -c 0-$(($(nproc) - 1)) "$p" >/dev/null; done
fi
