# Load-generation pieces shared by scripts/bench.sh and scripts/scaling.sh (sourced, not run).

# The event every load run publishes: a helpdesk ticket of ~300 bytes, as a wrk script. With a rate (events/s
# over CONNS connections), each connection waits CONNS/rate between requests: a paced producer, as a host app
# publishes at its own pace, so the latency measured is the hub's and not the queue of a saturated machine.
write_publish_body() { # file [rate]
  cat >"$1" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"ticket.created","data":{"id":"tkt_1","ticket":{"id":"tkt_1","subject":"Printer on fire","status":"open","priority":"high","requester":{"name":"Ada","email":"ada@example.com"}}}}'
LUA
  if [[ -n "${2:-}" ]]; then
    echo "function delay() return $(awk -v c="$CONNS" -v r="$2" 'BEGIN {printf "%.1f", 1000 * c / r}') end" >>"$1"
  fi
}

# The path of the receiver process (benches/receiver.rs), built if needed.
receiver_exe() {
  cargo bench --bench receiver --features ssr --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "receiver":
        print(m["executable"])' | tail -n1
}

# wrk with CONNS connections for DURATION; prints "requests/s p99 p50 requests" (latencies in ms): wrk prints
# "Requests/sec: N", "N requests in …" and, with --latency, "50%" and "99%" lines in us, ms or s.
run_wrk() { # url [header [wrk options…]]
  local url=$1 out opts=()
  shift
  if [[ $# -gt 0 ]]; then opts=(-H "$1" "${@:2}"); fi
  out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "${opts[@]}" "$url")
  local ms='{v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="99%" '"$ms" <<<"$out") $(awk '$1=="50%" '"$ms" <<<"$out") $(awk '/requests in/ {print $1}' <<<"$out")"
}
