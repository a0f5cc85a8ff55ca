#!/usr/bin/env bash
# Repeat-build benchmark: what a run costs after a push that changed one file, by the path it
# takes, against the engine's own first (cold) clone measured in the same round:
#   cache      fresh work tree, objects from the repository cache after an incremental fetch
#              (target: wall ≤ 0.6x the cold clone)
#   workspace  the profile's work tree reused and updated in place, after a build dirtied it
#              (modified, untracked and ignored files; target: wall ≤ 0.1x the cold clone)
#   8 at once  eight runs of one repository started by one push, in one process sharing one
#              cache: one upstream fetch (checked), wall and peak RSS against one run
#              (targets: ≤ 1.5x wall, ≤ 2x peak RSS), with fresh work trees and with workspaces
# The reference is what a CI agent that keeps its clone does: `git fetch --depth D` and
# `git checkout` in a kept clone. Every round pushes a new commit (one file changed) to the
# simulator, then measures the paths in rotated order; medians over RUNS rounds. Each tree is
# checked against the kept git clone: same HEAD^{tree}, same files, `git status --ignored` clean.
#
#   bench/repeat.sh
#   RUNS=5 REPOS=awssdk bench/repeat.sh
#
# Environment:
#   RUNS=3                 rounds (medians are reported)
#   REPOS="awssdk gomods"  repositories to measure
#   DEPTH=1                history depth of every clone and fetch (0: full history)
#   CLONE_BENCH_CACHE=/tmp/repoconnect-clone-bench   where the built repositories are kept
#                          (shared with bench/clone.sh, which builds gomods)
#   EIGHT=1                measure eight runs at once (0: skip; on gomods they take minutes)
#   KEEP=1                 keep the temporary directory
#
# Repositories:
#   awssdk   twelve released versions of github.com/aws/aws-sdk-go from the Go module proxy, one
#            commit each (~5,500 files, ~330 MB of source per version); built here once (~5 min)
#   gomods   bench/clone.sh's monorepo of module releases (≥100k objects); skipped when that
#            script has not built it yet (`REPOS=gomods RUNS=1 bench/clone.sh`)
#
# Peak RSS is /usr/bin/time's %M. Timings are ratios against the cold clone of the same round;
# on a shared machine read them as such. Exit status 1 when a clone failed or a tree differed
# from git's (a MISS against a target does not change it).
# Needs: go, git, python3, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
REPOS=${REPOS:-"awssdk gomods"}
DEPTH=${DEPTH:-1}
CACHE=${CLONE_BENCH_CACHE:-/tmp/repoconnect-clone-bench}
KEEP=${KEEP:-0}
EIGHT=${EIGHT:-1}
AWS_VERSIONS="v1.50.0 v1.50.1 v1.50.2 v1.50.3 v1.50.4 v1.50.5 v1.50.6 v1.50.7 v1.50.8 v1.50.32 v1.51.30 v1.53.10"

W=$(mktemp -d /tmp/repeat-bench.XXXXXX); PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "repeat-bench: $*" >&2; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_line() { local i; for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
G() { git -c gc.auto=0 -c user.name=repeat-bench -c user.email=repeat-bench@example.invalid -c commit.gpgsign=false "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

build_awssdk() {
  local out=$CACHE/repos/awssdk.git src v d
  [ -d "$out" ] && return 0
  say "awssdk: building from the Go module proxy (once)"
  src=$W/awssdk-src; git init -q -b main "$src"; mkdir -p "$W/gomod"
  for v in $AWS_VERSIONS; do
    d=$(cd "$W/gomod" && GOFLAGS=-mod=mod go mod download -json "github.com/aws/aws-sdk-go@$v" |
      python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])') || { say "awssdk: go mod download $v failed"; return 1; }
    find "$src" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
    cp -r "$d"/. "$src"/ && chmod -R u+w "$src"
    G -C "$src" add -A && G -C "$src" commit -q -m "aws-sdk-go $v"
  done
  mkdir -p "$CACHE/repos"
  git clone -q --bare "$src" "$out.tmp" && G -C "$out.tmp" repack -adq && mv "$out.tmp" "$out"; rm -rf "$src"
}

say "building repeatdrive and azdosim"
go build -o "$W/repeatdrive" ./bench/repeatdrive
go build -o "$W/azdosim" ./cmd/azdosim

BENCH=()
for r in $REPOS; do
  case $r in
    awssdk) build_awssdk && BENCH+=(awssdk) || say "awssdk: not built" ;;
    gomods) [ -d "$CACHE/repos/gomods.git" ] && BENCH+=(gomods) ||
      say "gomods: SKIPPED: not built yet (REPOS=gomods RUNS=1 bench/clone.sh builds it into $CACHE/repos)" ;;
    *) say "unknown repository '$r' (known: awssdk gomods)"; exit 2 ;;
  esac
done
[ ${#BENCH[@]} -gt 0 ] || { say "no repository to measure"; exit 1; }

PAT=bench$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); SP=$(free_port)
BASE=http://127.0.0.1:$SP/tfs/DefaultCollection/Bench/_git
H="Authorization: Basic $(printf 'x:%s' "$PAT" | base64 -w0)"
mkdir -p "$W/import/Bench"
for r in "${BENCH[@]}"; do cp -a "$CACHE/repos/$r.git" "$W/import/Bench/$r.git"; done # pushed into: a copy
"$W/azdosim" --addr "127.0.0.1:$SP" --virtual-dir tfs --collection DefaultCollection --pat "$PAT" --import "$W/import" >"$W/sim.log" 2>&1 &
PIDS+=($!)
wait_line "$W/sim.log" "http://127.0.0.1:$SP" 30 || { cat "$W/sim.log" >&2; say "azdosim did not start"; exit 1; }
export GIT_TERMINAL_PROMPT=0 AZURE_DEVOPS_PAT=$PAT
GA=(-c "http.extraHeader=$H")
DA=(--depth "$DEPTH"); [ "$DEPTH" = 0 ] && DA=()
RES=$W/results; : >"$RES"; FAILED=0; mkdir -p "$W/logs"

# push_change REPO ROUND: one commit on main changing one file, pushed to the simulator.
push_change() {
  local r=$1 i=$2 p=$W/push-$r.git f blob tree c
  [ -d "$p" ] || git clone -q --bare --no-local "$CACHE/repos/$r.git" "$p"
  G -C "$p" "${GA[@]}" fetch -q "$BASE/$r" +refs/heads/main:refs/heads/main
  f=$(git -C "$p" ls-tree -r --name-only main | awk '/\.(go|md|txt)$/ && !f {print; f=1}')
  blob=$({ git -C "$p" cat-file blob "main:$f"; echo "// repeat-bench round $i $(date +%s%N)"; } | git -C "$p" hash-object -w --stdin)
  GIT_INDEX_FILE=$W/push.idx git -C "$p" read-tree main
  GIT_INDEX_FILE=$W/push.idx git -C "$p" update-index --cacheinfo "100644,$blob,$f"
  tree=$(GIT_INDEX_FILE=$W/push.idx git -C "$p" write-tree); rm -f "$W/push.idx"
  c=$(G -C "$p" commit-tree "$tree" -p main -m "repeat-bench: round $i changes $f")
  git -C "$p" update-ref refs/heads/main "$c"
  G -C "$p" "${GA[@]}" push -q "$BASE/$r" main:main
  echo "$c"
}
# timed REPO PATH ROUND LOG cmd...: appends "REPO PATH wall rss" to RES
timed() {
  local r=$1 path=$2 i=$3 log=$4 wall rss; shift 4
  if /usr/bin/time -f '%e %M' -o "$W/time.out" "$@" >"$log" 2>&1; then
    read -r wall rss < <(tail -1 "$W/time.out")
    echo "$r $path $wall $rss" >>"$RES"
    printf '  %-7s round %d %-12s %7.2fs %8.1f MiB\n' "$r" "$i" "$path" "$wall" "$(awk "BEGIN {print $rss/1024}")" >&2
  else
    FAILED=1; say "FAILED: $r round $i $path: $(tail -3 "$log" | tr '\n' ' ')"
  fi
}
# same REPO PATH DIR REF: DIR's tree is REF's (a git clone at the pushed commit)
same() {
  local r=$1 path=$2 d=$3 ref=$4 msgs=() a b
  a=$(git -C "$d" rev-parse 'HEAD^{tree}' 2>&1) b=$(git -C "$ref" rev-parse 'HEAD^{tree}')
  [ "$a" = "$b" ] || msgs+=("HEAD^{tree} [$a] git [$b]")
  a=$(git -C "$d" status --porcelain --ignored 2>&1 | head -3 | tr '\n' ' ')
  [ -z "$a" ] || msgs+=("git status --ignored: $a")
  if ! diff -q <(cd "$d" && find . -path ./.git -prune -o -print | sort) <(cd "$ref" && find . -path ./.git -prune -o -print | sort) >/dev/null; then
    msgs+=("the files differ from git's")
  fi
  git -C "$d" fsck --no-progress >/dev/null 2>&1 || msgs+=("git fsck failed")
  if [ ${#msgs[@]} -gt 0 ]; then FAILED=1; for a in "${msgs[@]}"; do say "!!! CORRECTNESS $r $path: $a"; done; fi
}
# dirty DIR: what a build leaves: a modified tracked file, untracked and ignored output
dirty() {
  local d=$1 f
  f=$(git -C "$d" ls-files | awk '/\.(go|md|txt)$/ && !f {print; f=1}')
  echo "// edited by the build" >>"$d/$f"
  mkdir -p "$d/build/obj" && head -c 1048576 /dev/urandom >"$d/build/obj/out.o"
  echo "untracked" >"$d/untracked.txt"; mkdir -p "$d/.git/info"; printf 'build/\n' >>"$d/.git/info/exclude"
}

for r in "${BENCH[@]}"; do
  URL=$BASE/$r
  say "$r: priming the kept git clone, the caches and the workspace"
  rm -rf "$W/$r.kept"; G "${GA[@]}" clone -q "${DA[@]}" "$URL" "$W/$r.kept"
  "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.cache-fresh" -dir "$W/$r.prime" >/dev/null && rm -rf "$W/$r.prime"
  "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.cache-ws" -reuse -dir "$W/$r.ws" >/dev/null
  for ((i = 1; i <= RUNS; i++)); do
    push_change "$r" "$i" >/dev/null
    dirty "$W/$r.ws"
    order=(cold cache workspace git); k=$(( (i - 1) % 4 )); order=("${order[@]:k}" "${order[@]:0:k}")
    for p in "${order[@]}"; do
      case $p in
        cold) rm -rf "$W/$r.cold"; timed "$r" cold "$i" "$W/logs/$r.cold.$i" "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -dir "$W/$r.cold" ;;
        cache) rm -rf "$W/$r.fresh"; timed "$r" cache "$i" "$W/logs/$r.cache.$i" "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.cache-fresh" -dir "$W/$r.fresh" ;;
        workspace) timed "$r" workspace "$i" "$W/logs/$r.workspace.$i" "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.cache-ws" -reuse -dir "$W/$r.ws" ;;
        git) timed "$r" git "$i" "$W/logs/$r.git.$i" sh -c 'git "$@" && git -C "$0" checkout -q --detach FETCH_HEAD' "$W/$r.kept" \
               -C "$W/$r.kept" "${GA[@]}" fetch -q "${DA[@]}" origin main ;;
      esac
    done
    for p in cold cache workspace; do
      d=$W/$r.$p; [ $p = cache ] && d=$W/$r.fresh; [ $p = workspace ] && d=$W/$r.ws
      same "$r" "$p" "$d" "$W/$r.kept"
    done
    python3 - "$W/logs/$r.workspace.$i" <<'EOF' >&2 || true
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        d = json.loads(l); s = d.get("stats", {})
        print(f"           workspace: {d.get('source')} fetched {s.get('fetchedObjects')} objects ({s.get('fetchedBytes')} B), "
              f"wrote {s.get('writtenFiles')} files ({s.get('writtenBytes')} B), removed {s.get('removedFiles')}")
EOF
  done
  rm -rf "$W/$r.cold" "$W/$r.fresh"

  [ "$EIGHT" = 1 ] || continue
  say "$r: eight runs at once against one"
  for mode in fresh workspace; do
    ra=(); [ $mode = workspace ] && ra=(-reuse)
    for n in 1 8; do # prime: the caches (and workspaces) at the current tip
      "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.c$n-$mode" "${ra[@]}" -n "$n" -dir "$W/$r.d$n-$mode" >/dev/null
      [ $mode = workspace ] || rm -rf "$W/$r.d$n-$mode"*
    done
    for ((i = 1; i <= RUNS; i++)); do
      c=$(push_change "$r" "x$mode$i")
      for n in $([ $((i % 2)) = 1 ] && echo 1 8 || echo 8 1); do
        [ $mode = workspace ] || rm -rf "$W/$r.d$n-$mode"*
        timed "$r" "$mode$n" "$i" "$W/logs/$r.$mode$n.$i" "$W/repeatdrive" -url "$URL" -depth "$DEPTH" -cache "$W/$r.c$n-$mode" "${ra[@]}" -n "$n" -dir "$W/$r.d$n-$mode"
        fetched=$(grep -c '"fetchedObjects":[1-9]' "$W/logs/$r.$mode$n.$i" || true)
        commits=$(grep -o '"commit":"[0-9a-f]*"' "$W/logs/$r.$mode$n.$i" | sort -u | tr '\n' ' ')
        [ "$fetched" = 1 ] || { FAILED=1; say "!!! $r $mode x$n: $fetched runs fetched objects, not 1"; }
        [ "$commits" = "\"commit\":\"$c\" " ] || { FAILED=1; say "!!! $r $mode x$n: checked out $commits, not $c"; }
      done
    done
    rm -rf "$W/$r.d1-$mode"* "$W/$r.d8-$mode"* "$W/$r.c1-$mode" "$W/$r.c8-$mode"
  done
done

echo
echo "Repeat builds after a one-file push, depth $DEPTH, medians of $RUNS rounds (ratios against the cold clone of the same rounds)"
python3 - "$RES" <<'EOF'
import sys, statistics as st
rows = {}
for l in open(sys.argv[1]):
    r, p, wall, rss = l.split()
    rows.setdefault((r, p), []).append((float(wall), int(rss) / 1024))
def med(r, p, k):
    v = rows.get((r, p))
    return st.median(x[k] for x in v) if v else float("nan")
def mark(v, goal): return "met" if v <= goal else "MISS"
for r in dict.fromkeys(k[0] for k in rows):
    cold = med(r, "cold", 0)
    print(f"\n{r}")
    print(f"  {'path':<22} {'wall s':>8} {'x cold':>7} {'target':>7} {'':>5} {'peak MiB':>9}")
    for p, goal in (("cold", None), ("cache", 0.6), ("workspace", 0.1), ("git", None)):
        w = med(r, p, 0)
        label = {"git": "git fetch+checkout", "cache": "cache, fresh tree", "workspace": "reused workspace"}.get(p, p)
        t = f"{goal:>6}x {mark(w / cold, goal):>5}" if goal else f"{'':>7} {'':>5}"
        print(f"  {label:<22} {w:8.2f} {w / cold:6.2f}x {t} {med(r, p, 1):9.1f}")
    for mode in ("fresh", "workspace"):
        w1, w8, m1, m8 = med(r, mode + "1", 0), med(r, mode + "8", 0), med(r, mode + "1", 1), med(r, mode + "8", 1)
        if w1 == w1:
            print(f"  8 at once ({mode:<9}) wall {w8:.2f}s / {w1:.2f}s = {w8 / w1:.2f}x (target 1.5x {mark(w8 / w1, 1.5)}); "
                  f"peak {m8:.0f} / {m1:.0f} MiB = {m8 / m1:.2f}x (target 2x {mark(m8 / m1, 2.0)}); "
                  f"against the cold clone: wall {w8 / cold:.2f}x, peak {m8 / med(r, 'cold', 1):.2f}x")
EOF
[ "$FAILED" = 0 ] || { say "some clones failed or differed from git's (see above)"; exit 1; }
