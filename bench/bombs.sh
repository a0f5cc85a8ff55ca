#!/usr/bin/env bash
# Clone bombs of issue 15, full size, served on loopback by the project's Azure DevOps simulator:
#   zero   a ~100 KB pack naming one 100 MiB zero blob 20 times (20 tree entries): 2 GiB of work tree
#   delta  a ~270 KB pack holding a 256 MiB blob and a ~12 KB delta making a second one
# For each, `repoconnect clone` (with and without limits) and `git clone`: exit status, the
# problem code, peak RSS (/usr/bin/time %M), blocks written (/usr/bin/time %O × 512, what the
# process dirtied, removed files included) and the size of what is left (du).
#
#   bench/bombs.sh            (about a minute; needs ~5 GiB free in $TMPDIR)
#
# Environment: KEEP=1 keeps the temporary directory; ONLY_SERVE=1 measures the service only. Needs: go, git, python3, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=${KEEP:-0}
W=$(mktemp -d "${TMPDIR:-/tmp}/bombs.XXXXXX"); SIM=
cleanup() {
  [ -z "$SIM" ] || { kill "$SIM" 2>/dev/null || true; wait "$SIM" 2>/dev/null || true; }
  if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bombs: $*" >&2; }
G() { git -c gc.auto=0 -c user.name=bombs -c user.email=bombs@example.invalid "$@"; }
MiB=$((1 << 20))

say "building repoconnect and azdosim"
go build -o "$W/repoconnect" ./cmd/repoconnect
go build -o "$W/azdosim" ./cmd/azdosim

# commit BARE TREE: commits TREE on main and packs everything (deltas searched).
commit() {
  local c; c=$(G -C "$1" commit-tree "$2" -m bomb)
  G -C "$1" update-ref refs/heads/main "$c"; G -C "$1" symbolic-ref HEAD refs/heads/main
  G -C "$1" repack -adfq --window=10
}
mkdir -p "$W/import/Bench"
say "building the zero bomb (100 MiB zero blob × 20 entries)"
Z=$W/import/Bench/zero.git; G init -q --bare "$Z"
blob=$(head -c $((100 * MiB)) /dev/zero | G -C "$Z" hash-object -w --stdin)
tree=$(for i in $(seq -w 1 20); do printf '100644 blob %s\tzero%s\n' "$blob" "$i"; done | G -C "$Z" mktree)
commit "$Z" "$tree"
say "building the delta bomb (256 MiB blob + a delta making a second)"
D=$W/import/Bench/delta.git; G init -q --bare "$D"
a=$(head -c $((256 * MiB)) /dev/zero | G -C "$D" hash-object -w --stdin)
b=$({ head -c $((128 * MiB)) /dev/zero; head -c 12000 /dev/urandom; head -c $((128 * MiB - 12000)) /dev/zero; } | G -C "$D" hash-object -w --stdin)
tree=$(printf '100644 blob %s\ta\n100644 blob %s\tb\n' "$a" "$b" | G -C "$D" mktree)
commit "$D" "$tree"
for r in zero delta; do say "  $r: pack $(du -b "$W/import/Bench/$r.git/objects/pack/"*.pack | cut -f1) bytes"; done

PAT=bombs$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$W/azdosim" --addr "127.0.0.1:$PORT" --virtual-dir tfs --collection DefaultCollection --pat "$PAT" --import "$W/import" >"$W/sim.log" 2>&1 &
SIM=$!
for _ in $(seq 300); do grep -q "http://127.0.0.1:$PORT" "$W/sim.log" 2>/dev/null && break; sleep 0.1; done
BASE=http://127.0.0.1:$PORT/tfs/DefaultCollection/Bench/_git
H="Authorization: Basic $(printf 'x:%s' "$PAT" | base64 -w0)"

printf '\n%-6s %-46s %-5s %-22s %10s %12s %10s\n' bomb run exit code "peak RSS" written "left (du)"
# run BOMB LABEL cmd...: one clone into $W/c, measured.
run() {
  local bomb=$1 label=$2 code status rss out left; shift 2
  rm -rf "$W/c"; sync
  set +e
  /usr/bin/time -f '%M %O' -o "$W/time.out" "$@" >"$W/out.log" 2>&1
  status=$?
  set -e
  read -r rss out < <(tail -1 "$W/time.out")
  code=-  # the CLI prints the message; its reason, by the words only that reason's message has
  if [ "$status" != 0 ]; then
    case $(cat "$W/out.log") in
      *"would write"*) code=work_tree_too_large ;; *"is larger than the clone's size"*) code=repository_too_large ;;
      *"files and directories"*) code=too_many_files ;; *"object size limit"*) code=object_too_large ;;
      *"reserve of"*) code=disk_space_low ;; *"memory budget"*) code=memory_budget_exceeded ;; *) code=other ;;
    esac
  fi
  left=$(du -sb "$W/c" 2>/dev/null | cut -f1 || echo 0)
  printf '%-6s %-46s %-5s %-22s %7.0f MiB %8.0f MiB %6.0f MiB\n' "$bomb" "$label" "$status" "${code:--}" \
    "$(awk "BEGIN {print $rss/1024}")" "$(awk "BEGIN {print $out*512/1048576}")" "$(awk "BEGIN {print ${left:-0}/1048576}")"
  rm -rf "$W/c"
}
if [ "${ONLY_SERVE:-0}" != 1 ]; then
RC=(env AZURE_DEVOPS_PAT="$PAT" "$W/repoconnect" clone --dir "$W/c" -q)
GC=(git -c gc.auto=0 -c "http.extraHeader=$H" clone -q)
run zero "repoconnect clone --max-size 1MiB" "${RC[@]}" "$BASE/zero" --max-size 1MiB
run zero "repoconnect clone --max-files 10" "${RC[@]}" "$BASE/zero" --max-files 10
run zero "repoconnect clone --min-free-space 100000GiB" "${RC[@]}" "$BASE/zero" --min-free-space 100000GiB
run zero "repoconnect clone (no limit)" "${RC[@]}" "$BASE/zero"
run zero "git clone" "${GC[@]}" "$BASE/zero" "$W/c"
run delta "repoconnect clone --max-object-size 100MiB" "${RC[@]}" "$BASE/delta" --max-object-size 100MiB
run delta "repoconnect clone --memory 256MiB" "${RC[@]}" "$BASE/delta" --memory 256MiB
run delta "repoconnect clone --memory 600MiB" "${RC[@]}" "$BASE/delta" --memory 600MiB
run delta "repoconnect clone" "${RC[@]}" "$BASE/delta"
run delta "git clone" "${GC[@]}" "$BASE/delta" "$W/c"
fi

# The service: 4 concurrent synchronous clones of the delta bomb (POST /api/v1/build-profiles/{id}/clone)
# with --max-clones 4, with the default memory budget (--clone-memory 1GiB) and without one;
# peak RSS of the serve process, and the HTTP statuses.
# serve_run LABEL FLAGS...
serve_run() {
  local label=$1 data=$W/data.$RANDOM port key conn repo prof codes rss i; shift
  mkdir -p "$data"
  key=$("$W/repoconnect" apikey create --data-dir "$data" 2>/dev/null)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  local extra=()
  "$W/repoconnect" serve --help 2>&1 | grep -q -- --allow-destinations && extra+=(--allow-destinations 127.0.0.1/32)
  /usr/bin/time -f '%M' -o "$W/serve.time" "$W/repoconnect" serve --data-dir "$data" --addr "127.0.0.1:$port" \
    --max-clones 4 --rate-limit-clone 0 "${extra[@]}" "$@" >"$W/serve.log" 2>&1 &
  local srv=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  api() { curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
  id() { grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4; }
  conn=$(api -X POST "http://127.0.0.1:$port/api/v1/connections" -d '{"name":"bombs","type":"server-pat","serverUrl":"http://127.0.0.1:'"$PORT"'/tfs","collection":"DefaultCollection","pat":"'"$PAT"'"}' | id)
  repo=$(api "http://127.0.0.1:$port/api/v1/connections/$conn/repositories?q=delta" | id)
  prof=$(api -X POST "http://127.0.0.1:$port/api/v1/build-profiles" -d '{"name":"delta","connectionId":"'"$conn"'","repositoryId":"'"$repo"'","branch":"main"}' | id)
  local pids=()
  for i in 1 2 3 4; do
    api -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$port/api/v1/build-profiles/$prof/clone" -d '{}' >"$W/code.$i" &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  codes=$(cat "$W"/code.* | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
  kill -TERM "$(pgrep -P "$srv")"; wait "$srv" 2>/dev/null || true  # serve, not /usr/bin/time: it reports then
  rss=$(tail -1 "$W/serve.time")
  printf '%-6s %-46s %-28s %7.0f MiB\n' delta "$label" "$codes" "$(awk "BEGIN {print $rss/1024}")"
  rm -rf "$data" "$W"/code.*
}
printf '\n%-6s %-46s %-28s %10s\n' bomb "serve, 4 concurrent synchronous clones" statuses "peak RSS"
serve_run "--clone-memory 1GiB (default)"
serve_run "--clone-memory 0 (no budget)" --clone-memory 0
