#!/usr/bin/env bash
# Load test of the read path on each deployment: GET /api/v1/connections/{id} and the cached
# repository list, against `repoconnect serve` on loopback, first with the embedded store and
# then with a Redis store (a redis-server this script starts with AOF and appendfsync always).
# Prints requests per second and the 99th percentile latency per backend and endpoint.
#
#   bench/load.sh [-d SECONDS] [-c CONNECTIONS]
#
# Needs: go, git, redis-server. The load generator is hey (run through the Go module proxy);
# with wrk on PATH (Debian: apt-get install wrk) wrk is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=10 CONC=32
while getopts d:c: o; do case $o in d) DUR=$OPTARG ;; c) CONC=$OPTARG ;; *) exit 2 ;; esac; done

W=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "no answer from $1" >&2; return 1; }

go build -o "$W/repoconnect" ./cmd/repoconnect
go build -o "$W/azdosim" ./cmd/azdosim
if command -v wrk >/dev/null; then LOADGEN=wrk; else
  GOBIN="$W" go install github.com/rakyll/hey@latest >/dev/null 2>&1; LOADGEN=hey; fi

PAT=benchpat$RANDOM$RANDOM$RANDOM; sp=$(free_port)
"$W/azdosim" --addr 127.0.0.1:$sp --virtual-dir tfs --collection DefaultCollection --pat "$PAT" --seed >"$W/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do grep -q "http://127.0.0.1:$sp" "$W/sim.log" && break; sleep 0.05; done  # its first line is its URL

# load URL KEY → "rps p99_ms"
load() {
  if [ $LOADGEN = wrk ]; then
    out=$(wrk -t2 -c"$CONC" -d"${DUR}s" --latency -H "Authorization: Bearer $2" "$1")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  else
    out=$("$W/hey" -z "${DUR}s" -c "$CONC" -H "Authorization: Bearer $2" "$1")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '/ 99%+ in / {printf "%.2f", $3*1000}' <<<"$out")   # hey prints "99%%"
    non2xx=$(awk '/^ +\[[0-9]+\][ \t]+[0-9]+ responses/ {c=$1; gsub(/[][]/, "", c); if (c != "200") n+=$2} END {print n+0}' <<<"$out")
  fi
  [ "${non2xx:-0}" = 0 ] || { echo "non-2xx answers under load: $non2xx" >&2; exit 1; }
  echo "$rps $p99"
}

run_backend() { # NAME STORE_URL
  local name=$1 store=$2 port data key conn id
  port=$(free_port); data="$W/data-$name"
  key=$("$W/repoconnect" apikey create --data-dir "$data" ${store:+--store "$store"} --tenant bench 2>/dev/null | tail -1)
  "$W/repoconnect" serve --addr 127.0.0.1:$port --data-dir "$data" ${store:+--store "$store"} --log-level error \
    --rate-limit-create-connection 0 --rate-limit-check-token 0 --allow-destinations "127.0.0.1:$sp" >"$W/serve-$name.log" 2>&1 &
  PIDS+=($!); wait_http "http://127.0.0.1:$port/healthz"
  conn=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -X POST "http://127.0.0.1:$port/api/v1/connections" \
    -d "{\"name\":\"bench\",\"type\":\"server-pat\",\"serverUrl\":\"http://127.0.0.1:$sp/tfs\",\"collection\":\"DefaultCollection\",\"pat\":\"$PAT\"}")
  id=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["id"])' "$conn")
  curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/connections/$id/repositories" >/dev/null # warm the cache
  for ep in "connection /api/v1/connections/$id" "repositories /api/v1/connections/$id/repositories"; do
    set -- $ep
    read -r rps p99 < <(load "http://127.0.0.1:$port$2" "$key")
    printf '%-6s %-13s %10s %10s\n' "$name" "$1" "$rps" "$p99"
  done
}

echo "load: $LOADGEN, $CONC connections, ${DUR}s per endpoint, $(nproc) cores"
printf '%-6s %-13s %10s %10s\n' store endpoint req/s p99_ms
run_backend bolt ""
rp=$(free_port); mkdir -p "$W/redis"
redis-server --port $rp --bind 127.0.0.1 --dir "$W/redis" --appendonly yes --appendfsync always --save "" >"$W/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p $rp ping >/dev/null 2>&1 && break; sleep 0.05; done
run_backend redis "redis://127.0.0.1:$rp/0"
