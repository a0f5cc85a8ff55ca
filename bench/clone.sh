#!/usr/bin/env bash
# Clone benchmark: repoconnect's clone engine against plain go-git PlainClone and `git clone`, on
# repositories built from real source and served on loopback by the project's Azure DevOps
# simulator. Each repository is cloned at depth 1 and in full, interleaved, RUNS times per tool;
# prints the median wall time and peak RSS of each tool, the ratios repoconnect/git and go-git/git
# against the targets (depth1: wall ≤1.2x, RSS ≤2x; full: wall ≤1.5x, RSS ≤2x), and a row for
# 8 concurrent depth-1 repoconnect clones of gomods (sum of peak RSS < 1 GiB). The real long
# histories (gitgit, openssh) have their own targets: wall ≤1.0x in both modes, and peak RSS ≤1.25x
# git's where git's peak is over 50 MiB, under 50 MiB where it is not. On the first run
# of each repository and mode, repoconnect's clone is checked against git's: same HEAD and
# HEAD^{tree} (and submodule HEADs), `git fsck` passes, `git status` clean.
#
# SSH column (SSH=1, the default when the simulator has --ssh-addr): the same repositories are
# also cloned over SSH from the simulator's SSH server, interleaved with the HTTP runs:
# repoconnect clone --ssh-key-file (host key pinned with --ssh-host-key-fingerprint) against
# `git clone` with GIT_SSH_COMMAND (the key, a known_hosts file from ssh-keyscan, nothing of
# ~/.ssh); rows ssh-depth1 and ssh-full, same targets and checks as depth1 and full. Over SSH
# the submodules repository's .gitmodules names the SSH URL of its submodule (same host: the
# key is reused). git's peak RSS is still the largest process of its tree (ssh or index-pack).
#
#   bench/clone.sh
#   RUNS=1 REPOS="empty submodules binaries" bench/clone.sh
#   GITGIT_CLONE=~/src/git OPENSSH_CLONE=~/src/openssh-portable REPOS="gitgit openssh" bench/clone.sh
#
# Environment:
#   RUNS=3                 runs per tool, repository and mode (medians are reported)
#   GOGIT_RUNS=$RUNS       runs of the plain go-git baseline (its full clones take minutes each)
#   REPOS="gomods linux empty submodules binaries gitgit openssh"   subset to build and measure
#   GITGIT_CLONE=PATH      a local clone (bare or not) of github.com/git/git: builds gitgit
#   OPENSSH_CLONE=PATH     a local clone of github.com/openssh/openssh-portable: builds openssh
#                          (either unset: that repository is skipped with a message)
#   GOGIT_LONG=0           1: run the go-git baseline on gitgit and openssh too (minutes, GiBs)
#   CLONE_BENCH_CACHE=/tmp/repoconnect-clone-bench   where the built repositories are kept
#   KEEP=1                 keep the temporary directory (binaries, logs, raw results)
#   CLONE_TIMEOUT=1800     seconds after which one clone is killed (counted as failed)
#   SSH=1                  0: no SSH rows (needs ssh, ssh-keygen, ssh-keyscan and azdosim --ssh-addr)
#   PROFILE=1              after the measurements, one more repoconnect clone per repository and
#                          mode with a CPU profile; prints go tool pprof's top functions
#
# Repositories (built once, then reused from the cache):
#   gomods      successive released versions of github.com/aws/aws-sdk-go from the Go module proxy,
#               one commit each, until ≥100k objects and a ≥150 MiB pack (first build: ~15-30 min)
#   linux       Debian's linux-source tarball as one commit (apt-get download; skipped without apt)
#   empty       no commits
#   submodules  a tree with a submodule pointing at another served repository by its simulator URL
#   binaries    3 × 20 MiB random binary files plus small text files
#   gitgit      git.git's real history from $GITGIT_CLONE: its heads and tags only (~420k objects;
#               a mirror with GitHub's refs/pull holds ~850k)
#   openssh     openssh-portable's real history from $OPENSSH_CLONE: heads and tags (~73k objects)
#               (both fetched as they are, no repack: the server's pack-objects reuses the clone's
#               own deltas, and the simulator serves them as REF_DELTA, as Azure DevOps does; a
#               shallow or partial clone is refused: `git rev-list --objects --missing=print` of the
#               heads and tags finding a missing object)
#
# Every tool clones one branch without tags (`git clone --single-branch --no-tags`); the built
# repositories other than gitgit and openssh have one branch and no tags anyway.
#
# Peak RSS is /usr/bin/time's %M: the largest single process of the tool's process tree (for git,
# usually index-pack or git-remote-http), not a sum. Exit status: 1 if a repoconnect or git clone
# failed or a correctness check did not pass, else 0 (a MISS against the targets, or plain go-git
# failing, as it does on linux's aux.c, does not change it).
# Needs: go, git, python3, /usr/bin/time; for linux: apt-get, dpkg-deb, xz.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-3}
GOGIT_RUNS=${GOGIT_RUNS:-$RUNS}
REPOS=${REPOS:-"gomods linux empty submodules binaries gitgit openssh"}
GOGIT_LONG=${GOGIT_LONG:-0}
CACHE=${CLONE_BENCH_CACHE:-/tmp/repoconnect-clone-bench}
KEEP=${KEEP:-0}
SSH=${SSH:-1}
CLONE_TIMEOUT=${CLONE_TIMEOUT:-1800}
MIN_OBJECTS=100000 MIN_PACK_KIB=$((150 * 1024))
CONCURRENT=8

W=$(mktemp -d /tmp/clone-bench.XXXXXX); PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi  # no chmod: the repositories are hard links into the cache
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "clone-bench: $*" >&2; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_line() { # wait_line FILE PATTERN SECONDS
  local i; for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1
}
G() { git -c gc.auto=0 -c user.name=clone-bench -c user.email=clone-bench@example.invalid -c commit.gpgsign=false "$@"; }
has_repo() { [[ " $REPOS " == *" $1 "* ]]; }
# stats BARE -> "N objects, X MiB pack"
stats() {
  git -C "$1" count-objects -v | awk '/^count:/ {c=$2} /^in-pack:/ {p=$2} /^size-pack:/ {s=$2} END {printf "%d objects, %.1f MiB pack\n", c+p, s/1024}'
}
mkdir -p "$CACHE/repos"

# ---------------------------------------------------------------------------------------------
# Repositories

# gomods: a monorepo of real Go modules from the module proxy, one directory per module
# (aws-sdk-go/, azure-sdk-for-go/), each commit moving one module to its next released version, the
# modules taking turns, so each commit's delta is a real release diff. aws-sdk-go: its versions in
# ascending order (where releases are dense, every 8th); azure-sdk-for-go: its major releases (track
# 1, tens of thousands of generated files, which is what brings the object count up). Built in
# $CACHE/build/gomods.git (resumable: versions already committed are skipped), moved to
# $CACHE/repos/gomods.git once it has MIN_OBJECTS objects and a MIN_PACK_KIB pack.
GOMODS="aws-sdk-go=github.com/aws/aws-sdk-go azure-sdk-for-go=github.com/Azure/azure-sdk-for-go"
gomods_enough() { # gomods_enough BARE: repack and check the thresholds
  local b=$1 objs kib
  objs=$(git -C "$b" count-objects -v | awk '/^count:/ {c=$2} /^in-pack:/ {p=$2} END {print c+p}')
  if [ "$objs" -lt "$MIN_OBJECTS" ]; then
    G -C "$b" repack -dq   # pack the loose objects (keeps the disk small); not a full repack yet
    say "gomods: $objs objects so far"; return 1
  fi
  G -C "$b" repack -adq
  kib=$(git -C "$b" count-objects -v | awk '/^size-pack:/ {print $2}')
  say "gomods: $(stats "$b")"
  [ "$kib" -ge "$MIN_PACK_KIB" ]
}
gomods_versions() { # gomods_versions MODULE: the release versions to commit, ascending
  (cd "$W/gomod" && go list -m -versions "$1") | tr ' ' '\n' | tail -n +2 |
    grep -E '^v[0-9]+\.[0-9]+\.[0-9]+(\+incompatible)?$' | sed 's/+incompatible$/ +incompatible/' |
    awk -F'[. ]' '{k=$1"."$2} k!=last || $3-lp>=8 {print $1"."$2"."$3$4; last=k; lp=$3}'
}
gomods_commit() { # gomods_commit BARE NAME DIR MESSAGE: DIR's tree becomes NAME/ in a new commit on main
  local b=$1 name=$2 d=$3 sub tree parent c
  GIT_INDEX_FILE="$b/index.$name" G --git-dir="$b" --work-tree="$d" add -A -f
  sub=$(GIT_INDEX_FILE="$b/index.$name" git --git-dir="$b" write-tree)
  parent=$(git --git-dir="$b" rev-parse -q --verify refs/heads/main || true)
  tree=$({ [ -z "$parent" ] || git --git-dir="$b" ls-tree "$parent" | awk -F'\t' -v n="$name" '$2 != n'
           printf '040000 tree %s\t%s\n' "$sub" "$name"; } | git --git-dir="$b" mktree)
  c=$(G --git-dir="$b" commit-tree "$tree" ${parent:+-p "$parent"} -m "$4")
  git --git-dir="$b" update-ref refs/heads/main "$c"
}
build_gomods() {
  local out=$CACHE/repos/gomods.git b=$CACHE/build/gomods.git mc=$CACHE/build/gomodcache
  [ -d "$out" ] && return 0
  local committed proxy entry name mod v json d z n=0 round more
  declare -A queue=()
  mkdir -p "$CACHE/build" "$W/gomod"
  [ -d "$b" ] || git init -q --bare -b main "$b"
  committed=$(git -C "$b" log --format=%s 2>/dev/null || true)
  # Zips already in the default module cache are used from there; the rest come from the proxy.
  # Extracted trees go to a private module cache and are removed once committed.
  proxy="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
  for entry in $GOMODS; do
    mod=${entry#*=}
    queue[$entry]=$(gomods_versions "$mod") || true
    [ -n "${queue[$entry]}" ] || { say "gomods: cannot list the versions of $mod"; return 1; }
  done
  if [ -n "$committed" ] && gomods_enough "$b"; then queue=(); fi
  for ((round = 1; ${#queue[@]} > 0; round++)); do
    more=0
    for entry in $GOMODS; do
      name=${entry%%=*} mod=${entry#*=}
      v=$(sed -n "${round}p" <<<"${queue[$entry]:-}")
      [ -n "$v" ] || continue
      more=1
      grep -qxF "$mod@$v" <<<"$committed" && continue
      json=$(cd "$W/gomod" && GOMODCACHE=$mc GOPROXY=$proxy GOFLAGS=-mod=mod go mod download -json "$mod@$v") ||
        { say "gomods: go mod download $mod@$v failed"; return 1; }
      d=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["Dir"])' "$json")
      z=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1]).get("Zip",""))' "$json")
      gomods_commit "$b" "$name" "$d" "$mod@$v"
      chmod -R u+w "$d" && rm -rf "$d"; case $z in "$mc"/*) rm -f "$z" ;; esac
      n=$((n + 1)); say "gomods: committed $mod@$v"
      if [ $((n % 8)) = 0 ] && gomods_enough "$b"; then more=0; break; fi
    done
    [ $more = 1 ] || break
  done
  if ! gomods_enough "$b"; then
    say "gomods: WARNING: ran out of versions below the thresholds ($MIN_OBJECTS objects, $((MIN_PACK_KIB / 1024)) MiB); using it as it is"
  fi
  rm -f "$b"/index*
  mv "$b" "$out"
  chmod -R u+w "$mc" 2>/dev/null || true; rm -rf "$mc"
}

# linux: Debian's newest linux-source-X.Y package, its tarball committed as one commit.
build_linux() {
  local out=$CACHE/repos/linux.git dl=$CACHE/build/linux pkg deb tarball src
  [ -d "$out" ] && return 0
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    { say "linux: SKIPPED: apt-get/dpkg-deb not available"; return 1; }
  pick() { apt-cache search --names-only '^linux-source-[0-9.]+$' 2>/dev/null | awk '{print $1}' | sort -V | tail -1; }
  pkg=$(pick)
  if [ -z "$pkg" ]; then apt-get update -qq >/dev/null 2>&1 || true; pkg=$(pick); fi
  [ -n "$pkg" ] || { say "linux: SKIPPED: apt knows no linux-source-X.Y package"; return 1; }
  mkdir -p "$dl"
  deb=$(ls "$dl/${pkg}"_*.deb 2>/dev/null | tail -1 || true)
  if [ -z "$deb" ]; then
    say "linux: apt-get download $pkg"
    (cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>"$W/apt.log") ||
      { say "linux: SKIPPED: apt-get download $pkg failed: $(tail -2 "$W/apt.log")"; return 1; }
    deb=$(ls "$dl/${pkg}"_*.deb | tail -1)
  fi
  src=$CACHE/build/linux-src; rm -rf "$src" "$dl/x"; mkdir -p "$src" "$dl/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards './usr/src/linux-source-*.tar.*'
  tarball=$(ls "$dl"/x/usr/src/linux-source-*.tar.* | head -1)
  say "linux: extracting $(basename "$tarball")"
  tar -xf "$tarball" -C "$src" --strip-components=1 && rm -rf "$dl/x"
  say "linux: committing $(find "$src" -type f | wc -l) files"
  rm -rf "$CACHE/build/linux.git"; git init -q --bare -b main "$CACHE/build/linux.git"
  G --git-dir="$CACHE/build/linux.git" --work-tree="$src" add -A -f
  G --git-dir="$CACHE/build/linux.git" --work-tree="$src" commit -q -m "$pkg $(basename "$deb" .deb | cut -d_ -f2)"
  say "linux: repacking"
  G -C "$CACHE/build/linux.git" repack -adq
  rm -f "$CACHE/build/linux.git/index"; mv "$CACHE/build/linux.git" "$out"; rm -rf "$src"
}

build_empty() {
  [ -d "$CACHE/repos/empty.git" ] || git init -q --bare -b main "$CACHE/repos/empty.git"
}

build_binaries() {
  local out=$CACHE/repos/binaries.git s=$W/binaries-src i
  [ -d "$out" ] && return 0
  git init -q -b main "$s"
  printf '# binaries\nLarge random files for the clone benchmark.\n' >"$s/README.md"
  for i in 1 2 3 4 5; do seq 1 $((i * 500)) >"$s/notes-$i.txt"; done
  G -C "$s" add -A && G -C "$s" commit -q -m "text files"
  mkdir -p "$s/assets"
  for i in 1 2 3; do head -c $((20 * 1024 * 1024)) /dev/urandom >"$s/assets/blob-$i.bin"; done
  echo "Three 20 MiB binaries in assets/." >>"$s/README.md"
  G -C "$s" add -A && G -C "$s" commit -q -m "binaries"
  git clone -q --bare "$s" "$out.tmp" && G -C "$out.tmp" repack -adq && mv "$out.tmp" "$out"; rm -rf "$s"
}

# gitgit, openssh: a real history from a local clone (the user's path), heads and tags only.
# build_local NAME VAR: refuses a shallow or incomplete clone; the source is only read.
build_local() {
  local name=$1 var=$2 src=${!2:-} out=$CACHE/repos/$1.git tmp head missing
  [ -d "$out" ] && return 0
  [ -n "$src" ] || { say "$name: SKIPPED: set $var to a local clone to measure it"; return 1; }
  git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { say "$name: $var=$src is not a git repository"; return 2; }
  [ "$(git -C "$src" rev-parse --is-shallow-repository)" = false ] ||
    { say "$name: $var=$src is a shallow clone: a full clone is needed"; return 2; }
  # --all of the repository built: the heads and tags (a mirror's refs/pull may lack objects).
  say "$name: checking that $src is complete (git rev-list --objects --branches --tags --missing=print)"
  missing=$(GIT_NO_LAZY_FETCH=1 git -C "$src" rev-list --objects --branches --tags --missing=print | grep -c '^?' || true)
  [ "$missing" = 0 ] ||
    { say "$name: $var=$src is an incomplete clone ($missing objects of its heads and tags missing, e.g. a --filter clone): a full clone is needed"; return 2; }
  tmp=$CACHE/build/$name.git; rm -rf "$tmp"; mkdir -p "$CACHE/build"
  git init -q --bare "$tmp"
  say "$name: fetching the heads and tags of $src"
  GIT_NO_LAZY_FETCH=1 G -C "$tmp" fetch -q --no-tags "$src" '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*' ||
    { say "$name: fetching from $src failed"; return 2; }
  head=$(git -C "$src" symbolic-ref -q HEAD || true)
  case $head in refs/heads/*) ;; *) head=refs/heads/$(git -C "$tmp" for-each-ref --format='%(refname:strip=2)' refs/heads | grep -xE 'master|main' | head -1) ;; esac
  git -C "$tmp" rev-parse -q --verify "$head" >/dev/null || { say "$name: no default branch in $src"; return 2; }
  git -C "$tmp" symbolic-ref HEAD "$head"
  mv "$tmp" "$out"
}

# sublib: the repository the submodule points at (cached). The superproject is built per run in
# $W, since its .gitmodules names the simulator's URL, whose port changes from run to run.
build_sublib() {
  local out=$CACHE/repos/sublib.git s=$W/sublib-src i
  [ -d "$out" ] && return 0
  git init -q -b main "$s"
  for i in 1 2 3; do
    printf 'package sublib\n\n// V%d is version %d.\nconst V%d = %d\n' $i $i $i $i >"$s/v$i.go"
    G -C "$s" add -A && G -C "$s" commit -q -m "sublib v$i"
  done
  git clone -q --bare "$s" "$out"; rm -rf "$s"
}
build_superproject() { # build_superproject OUT SUBLIB_URL
  local s=$W/super-src sha
  sha=$(git -C "$CACHE/repos/sublib.git" rev-parse HEAD)
  git init -q -b main "$s"
  printf '# superproject\nlib/ is a submodule.\n' >"$s/README.md"
  printf '[submodule "lib"]\n\tpath = lib\n\turl = %s\n' "$2" >"$s/.gitmodules"
  G -C "$s" add -A
  G -C "$s" update-index --add --cacheinfo "160000,$sha,lib"
  G -C "$s" commit -q -m "superproject with submodule lib"
  git clone -q --bare "$s" "$1"; rm -rf "$s"
}

# ---------------------------------------------------------------------------------------------
# Tools

say "building repoconnect, azdosim and the go-git baseline"
go build -o "$W/repoconnect" ./cmd/repoconnect
go build -o "$W/azdosim" ./cmd/azdosim
GOGIT_VERSION=$(awk '$1 == "github.com/go-git/go-git/v5" {print $2; exit}' go.mod)
mkdir -p "$W/gogit"
cat >"$W/gogit/go.mod" <<EOF
module clonebench/gogitclone

go 1.26

require github.com/go-git/go-git/v5 $GOGIT_VERSION
EOF
cp go.sum "$W/gogit/go.sum"
cat >"$W/gogit/main.go" <<'EOF'
// gogitclone URL DIR: plain go-git PlainClone, the baseline of the clone benchmark.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

func main() {
	depth := flag.Int("depth", 0, "shallow clone with this many commits (0: full)")
	recurse := flag.Bool("recurse-submodules", false, "clone submodules too")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: gogitclone [-depth N] [-recurse-submodules] URL DIR")
		os.Exit(2)
	}
	// Azure DevOps answers upload-pack only with multi_ack, which go-git disables by default.
	transport.UnsupportedCapabilities = []capability.Capability{capability.ThinPack}
	opts := &git.CloneOptions{
		URL:          flag.Arg(0),
		Auth:         &githttp.BasicAuth{Username: "x", Password: os.Getenv("AZURE_DEVOPS_PAT")},
		SingleBranch: true,
		Depth:        *depth,
		Tags:         git.NoTags,
	}
	if *recurse {
		opts.RecurseSubmodules = git.DefaultSubmoduleRecursionDepth
	}
	_, err := git.PlainClone(flag.Arg(1), false, opts)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		fmt.Fprintln(os.Stderr, "gogitclone: empty remote repository") // git clone succeeds here too
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gogitclone:", err)
		os.Exit(1)
	}
}
EOF
(cd "$W/gogit" && GOFLAGS=-mod=mod go build -o "$W/gogitclone" .) >"$W/gogit-build.log" 2>&1 ||
  { cat "$W/gogit-build.log" >&2; say "cannot build the go-git baseline"; exit 1; }
# The submodule flag of repoconnect's clone, if it has one (the engine is being extended).
RC_SUBFLAG=$("$W/repoconnect" clone --help 2>&1 | grep -oE -- '--(recurse-submodules|submodules)\b' | head -1 || true)

# ---------------------------------------------------------------------------------------------
# Build and serve

BENCH=()
for r in $REPOS; do
  case $r in
    gomods) build_gomods && BENCH+=(gomods) || say "gomods: not built" ;;
    linux) build_linux && BENCH+=(linux) || true ;;
    empty) build_empty && BENCH+=(empty) ;;
    binaries) build_binaries && BENCH+=(binaries) ;;
    submodules) build_sublib && BENCH+=(submodules) ;;
    gitgit | openssh)
      v=GITGIT_CLONE; [ "$r" = openssh ] && v=OPENSSH_CLONE
      rc=0; build_local "$r" "$v" || rc=$?
      case $rc in 0) BENCH+=("$r") ;; 1) ;; *) exit 2 ;; esac ;;
    *) say "unknown repository '$r' (known: gomods linux empty submodules binaries gitgit openssh)"; exit 2 ;;
  esac
done
[ ${#BENCH[@]} -gt 0 ] || { say "no repository to measure"; exit 1; }

PAT=bench$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); SP=$(free_port)
BASE=http://127.0.0.1:$SP/tfs/DefaultCollection/Bench/_git
if [ "$SSH" = 1 ] && ! { "$W/azdosim" --help 2>&1 | grep -q -- --ssh-addr && command -v ssh-keyscan >/dev/null; }; then
  say "no SSH rows: azdosim has no --ssh-addr, or ssh-keyscan is missing"; SSH=0
fi
SIM_SSH=()
if [ "$SSH" = 1 ]; then
  SSHP=$(free_port); SBASE=ssh://127.0.0.1:$SSHP/tfs/DefaultCollection/Bench/_git
  ssh-keygen -q -t rsa -b 3072 -N '' -C clone-bench -f "$W/sshkey"
  SIM_SSH=(--ssh-addr "127.0.0.1:$SSHP" --ssh-authorized-keys "$W/sshkey.pub")
  GIT_SSH="ssh -F /dev/null -i $W/sshkey -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$W/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"
fi
H="Authorization: Basic $(printf 'x:%s' "$PAT" | base64 -w0)"
mkdir -p "$W/import/Bench"
link_repo() { cp -al "$CACHE/repos/$1.git" "$W/import/Bench/$1.git" 2>/dev/null || cp -a "$CACHE/repos/$1.git" "$W/import/Bench/$1.git"; }
for r in "${BENCH[@]}"; do
  if [ "$r" = submodules ]; then link_repo sublib; build_superproject "$W/import/Bench/submodules.git" "$BASE/sublib"
    [ "$SSH" = 1 ] && build_superproject "$W/import/Bench/submodules-ssh.git" "$SBASE/sublib"
  else link_repo "$r"; fi
done
say "repositories:"
for r in "${BENCH[@]}"; do printf '  %-11s %s\n' "$r" "$(stats "$W/import/Bench/$r.git")" >&2; done

"$W/azdosim" --addr "127.0.0.1:$SP" --virtual-dir tfs --collection DefaultCollection --pat "$PAT" --import "$W/import" "${SIM_SSH[@]}" >"$W/sim.log" 2>&1 &
PIDS+=($!)
wait_line "$W/sim.log" "http://127.0.0.1:$SP" 30 || { cat "$W/sim.log" >&2; say "azdosim did not start"; exit 1; }
if [ "$SSH" = 1 ]; then
  # The host key as git's known_hosts holds it, and its fingerprint for repoconnect's pin.
  for ((i = 0; i < 100; i++)); do
    ssh-keyscan -p "$SSHP" -t rsa 127.0.0.1 >"$W/known_hosts" 2>/dev/null && [ -s "$W/known_hosts" ] && break; sleep 0.1
  done
  [ -s "$W/known_hosts" ] || { cat "$W/sim.log" >&2; say "the simulator's SSH server did not answer"; exit 1; }
  FP=$(ssh-keygen -l -E sha256 -f "$W/known_hosts" | awk '{print $2; exit}')
  say "SSH on 127.0.0.1:$SSHP, host key $FP"
fi

# ---------------------------------------------------------------------------------------------
# Measure

export GIT_TERMINAL_PROMPT=0
RES=$W/results CHECKS=$W/checks; : >"$RES"; : >"$CHECKS"; mkdir -p "$W/logs"
FAILED=0
# measure REPO MODE TOOL RUN DIR cmd... -> appends "REPO MODE TOOL wall rss" (or "... fail") to RES
measure() {
  local repo=$1 mode=$2 tool=$3 run=$4 d=$5 log; shift 5
  log=$W/logs/$repo.$mode.$tool.$run.log
  rm -rf "$d"
  if /usr/bin/time -f '%e %M' -o "$W/time.out" timeout -k 10 "$CLONE_TIMEOUT" "$@" >"$log" 2>&1; then
    read -r wall rss < <(tail -1 "$W/time.out")
    echo "$repo $mode $tool $wall $rss" >>"$RES"
    printf '  %-10s %-6s run %d %-11s %7.2fs %8.1f MiB\n' "$repo" "$mode" "$run" "$tool" "$wall" "$(awk "BEGIN {print $rss/1024}")" >&2
  else
    echo "$repo $mode $tool fail" >>"$RES"
    [ "$tool" = go-git ] || FAILED=1 # the baseline failing is a finding, not a failure of the benchmark
    say "FAILED: $repo $mode run $run $tool: $(grep -v '^Command exited' "$log" | tail -3 | tr '\n' ' ')"
    rm -rf "$d"
  fi
}
# check REPO MODE RCDIR GITDIR SUBMODULES: repoconnect's clone against git's
check() {
  local repo=$1 mode=$2 rc=$3 gd=$4 sub=$5 a b p msgs=()
  if [ ! -d "$rc/.git" ]; then msgs+=("repoconnect's clone failed: $(grep -v '^Command exited' "$W/logs/$repo.$mode.repoconnect.1.log" | head -1)")
  elif [ ! -d "$gd/.git" ]; then msgs+=("git's clone failed: $(grep -v '^Command exited' "$W/logs/$repo.$mode.git.1.log" | head -1)")
  else
    a=$(git -C "$rc" rev-parse HEAD 'HEAD^{tree}' 2>/dev/null | tr '\n' ' ') || a="no HEAD"
    b=$(git -C "$gd" rev-parse HEAD 'HEAD^{tree}' 2>/dev/null | tr '\n' ' ') || b="no HEAD"
    [ "$a" = "$b" ] || msgs+=("HEAD/tree differ: repoconnect [$a] git [$b]")
    git -C "$rc" fsck --no-progress >"$W/logs/$repo.$mode.fsck.log" 2>&1 ||
      msgs+=("git fsck failed: $(tail -2 "$W/logs/$repo.$mode.fsck.log" | tr '\n' ' ')")
    p=$(git -C "$rc" status --porcelain 2>&1 | head -5 | tr '\n' ' ')
    [ -z "$p" ] || msgs+=("git status not clean: $p")
    if [ "$sub" = 1 ]; then
      for p in $(git -C "$gd" ls-files -s | awk '$1 == "160000" {print $4}'); do
        a=$(git -C "$rc/$p" rev-parse HEAD 2>/dev/null || echo "not cloned")
        b=$(git -C "$gd/$p" rev-parse HEAD 2>/dev/null || echo "not cloned")
        [ "$a" = "$b" ] || msgs+=("submodule $p: repoconnect [$a] git [$b]")
      done
    fi
  fi
  if [ ${#msgs[@]} = 0 ]; then echo "$repo $mode ok" >>"$CHECKS"
  else
    FAILED=1; echo "$repo $mode MISMATCH" >>"$CHECKS"
    for p in "${msgs[@]}"; do echo "!!! CORRECTNESS $repo $mode: $p" | tee -a "$W/mismatches" >&2; done
  fi
}

for r in "${BENCH[@]}"; do
  URL=$BASE/$r
  for mode in depth1 full; do
    d1=(); g1=(); sub=0; rcsub=(); gosub=(); gitsub=()
    [ $mode = depth1 ] && d1=(--depth 1) && g1=(-depth 1)
    if [ "$r" = submodules ] && [ -n "$RC_SUBFLAG" ]; then
      sub=1; rcsub=("$RC_SUBFLAG"); gosub=(-recurse-submodules); gitsub=(--recurse-submodules)
    fi
    for ((i = 1; i <= RUNS; i++)); do
      rcd=$W/c.rc gd=$W/c.git
      measure "$r" $mode repoconnect $i "$rcd" env AZURE_DEVOPS_PAT="$PAT" "$W/repoconnect" clone "$URL" --dir "$rcd" -q "${d1[@]}" "${rcsub[@]}"
      [ $i = 1 ] || rm -rf "$rcd"
      if [ "$i" -le "$GOGIT_RUNS" ] && { [ "$GOGIT_LONG" = 1 ] || { [ "$r" != gitgit ] && [ "$r" != openssh ]; }; }; then
        measure "$r" $mode go-git $i "$W/c.gogit" env AZURE_DEVOPS_PAT="$PAT" "$W/gogitclone" "${g1[@]}" "${gosub[@]}" "$URL" "$W/c.gogit"
        rm -rf "$W/c.gogit"
      fi
      measure "$r" $mode git $i "$gd" git -c http.extraHeader="$H" clone -q --single-branch --no-tags "${d1[@]}" "${gitsub[@]}" "$URL" "$gd"
      [ $i = 1 ] && check "$r" $mode "$rcd" "$gd" $sub
      rm -rf "$rcd" "$gd"
      if [ "$SSH" = 1 ]; then # the same clones over SSH, interleaved with the HTTP ones
        SURL=$SBASE/$r; [ "$r" = submodules ] && SURL=$SBASE/submodules-ssh
        measure "$r" ssh-$mode repoconnect $i "$rcd" "$W/repoconnect" clone "$SURL" --dir "$rcd" -q "${d1[@]}" "${rcsub[@]}" \
          --ssh-key-file "$W/sshkey" --ssh-host-key-fingerprint "$FP"
        [ $i = 1 ] || rm -rf "$rcd"
        measure "$r" ssh-$mode git $i "$gd" env GIT_SSH_COMMAND="$GIT_SSH" git clone -q --single-branch --no-tags "${d1[@]}" "${gitsub[@]}" "$SURL" "$gd"
        [ $i = 1 ] && check "$r" ssh-$mode "$rcd" "$gd" $sub
        rm -rf "$rcd" "$gd"
      fi
    done
  done
done

# CONCURRENT depth-1 repoconnect clones of gomods at once: the sum of their peak RSS.
if [[ " ${BENCH[*]} " == *" gomods "* ]]; then
  for ((i = 1; i <= RUNS; i++)); do
    cp=()
    for ((j = 1; j <= CONCURRENT; j++)); do
      rm -rf "$W/cc.$j"
      /usr/bin/time -f '%e %M' -o "$W/cc.$j.time" timeout -k 10 "$CLONE_TIMEOUT" env AZURE_DEVOPS_PAT="$PAT" \
        "$W/repoconnect" clone "$BASE/gomods" --dir "$W/cc.$j" -q --depth 1 >"$W/logs/concurrent.$i.$j.log" 2>&1 &
      cp+=($!); PIDS+=($!)
    done
    ok=1
    for j in "${!cp[@]}"; do wait "${cp[$j]}" || ok=0; done
    if [ $ok = 1 ]; then
      read -r wall rss < <(cat "$W"/cc.*.time | awk '{if ($1 > w) w = $1; s += $2} END {print w, s}')
      echo "gomods concurrent repoconnect $wall $rss" >>"$RES"
      printf '  %-10s %-6s run %d %-11s %7.2fs %8.1f MiB (sum of %d)\n' gomods x$CONCURRENT $i repoconnect "$wall" "$(awk "BEGIN {print $rss/1024}")" $CONCURRENT >&2
    else
      echo "gomods concurrent repoconnect fail" >>"$RES"; FAILED=1
      say "FAILED: $CONCURRENT concurrent clones, run $i: $(cat "$W"/logs/concurrent.$i.*.log | grep -v '^Command exited' | tail -3 | tr '\n' ' ')"
    fi
    rm -rf "$W"/cc.*
  done
fi

# PROFILE=1: where repoconnect's time goes, per repository and mode (cumulative CPU, top 15).
if [ "${PROFILE:-0}" = 1 ]; then
  mkdir -p "$W/prof"
  for r in "${BENCH[@]}"; do
    for mode in depth1 full; do
      d1=(); [ $mode = depth1 ] && d1=(--depth 1)
      rm -rf "$W/c.prof"
      env AZURE_DEVOPS_PAT="$PAT" "$W/repoconnect" clone "$BASE/$r" --dir "$W/c.prof" -q "${d1[@]}" \
        --cpuprofile "$W/prof/$r.$mode.cpu" >/dev/null 2>&1 || { say "profile of $r $mode: the clone failed"; continue; }
      echo "== CPU profile: repoconnect clone of $r, $mode (go tool pprof -top -cum) ==" >>"$W/profiles.txt"
      go tool pprof -top -cum -nodecount=15 "$W/repoconnect" "$W/prof/$r.$mode.cpu" 2>/dev/null | sed -n '1,22p' >>"$W/profiles.txt"
      rm -rf "$W/c.prof"
    done
  done
fi

# ---------------------------------------------------------------------------------------------
# Report

echo
echo "clone benchmark: $RUNS run(s) per tool ($GOGIT_RUNS of go-git), $(nproc) cores, go-git $GOGIT_VERSION, $(git --version), repoconnect at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'a tree outside git')$(git -C "$ROOT" rev-parse -q HEAD >/dev/null 2>&1 && ! git -C "$ROOT" diff --quiet HEAD && echo '+dirty')"
[ -z "$RC_SUBFLAG" ] && [[ " ${BENCH[*]} " == *" submodules "* ]] &&
  echo "(repoconnect clone has no submodule flag: the submodules repository is cloned without recursion by every tool)"
python3 - "$RES" "$CHECKS" "${BENCH[*]}" "$CONCURRENT" "$SSH" <<'PY'
import sys, statistics as st
res, checks, order, conc, ssh = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4]), sys.argv[5] == "1"
data = {}
for line in open(res):
    f = line.split()
    data.setdefault((f[0], f[1], f[2]), []).append(None if f[3] == "fail" else (float(f[3]), float(f[4]) / 1024))
chk = {}
for line in open(checks):
    f = line.split()
    chk[(f[0], f[1])] = f[2]
targets = {"depth1": (1.2, 2.0), "full": (1.5, 2.0)}
# Over SSH (ssh-depth1, ssh-full): repoconnect over SSH against git over SSH, the same targets.
targets.update({"ssh-" + m: t for m, t in list(targets.items())})
modes = ("depth1", "full") + (("ssh-depth1", "ssh-full") if ssh else ())
# Real long histories: wall ≤1.0x; RSS ≤1.25x git's where git's peak is over 50 MiB, else < 50 MiB.
LONG, LONG_WALL, LONG_RSS, SMALL_MIB = ("gitgit", "openssh"), 1.0, 1.25, 50.0

def med(runs):
    if not runs or any(r is None for r in runs):
        return None
    return st.median(r[0] for r in runs), st.median(r[1] for r in runs)

def cell(m, ran=True):
    if not ran:
        return f"{'-':>7} {'-':>7}"  # not measured (go-git on gitgit and openssh without GOGIT_LONG=1)
    return f"{'FAIL':>7} {'':>7}" if m is None else f"{m[0]:7.2f} {m[1]:7.1f}"

def ratio(a, b):
    if a is None or b is None:
        return f"{'-':>5} {'-':>5}"
    w = a[0] / b[0] if b[0] > 0 else (1.0 if a[0] == 0 else float("inf"))
    return f"{w:5.2f} {a[1] / b[1]:5.2f}"

hdr = (f"{'repository':<11} {'mode':<10} | {'repoconnect':^15} | {'go-git':^15} | {'git':^15} | {'rc/git':^11} | "
       f"{'go-git/git':^11} | {'target':<13} {'result':<6} check")
sub = (f"{'':<11} {'':<10} | {'wall_s':>7} {'RSS_MiB':>7} | {'wall_s':>7} {'RSS_MiB':>7} | {'wall_s':>7} {'RSS_MiB':>7} | "
       f"{'wall':>5} {'RSS':>5} | {'wall':>5} {'RSS':>5} |")
print(hdr); print(sub); print("-" * len(hdr))
for repo in order:
    for mode in modes:
        rc, gg, gt = (med(data.get((repo, mode, t), [])) for t in ("repoconnect", "go-git", "git"))
        tw, tm = targets[mode]
        small = repo in LONG and gt is not None and gt[1] <= SMALL_MIB
        if repo in LONG:
            tw, tm = LONG_WALL, LONG_RSS
        tlabel = f"{tw}x / <{SMALL_MIB:.0f}MiB" if small else f"{tw}x / {tm}x"
        if rc is None or gt is None:
            result = "FAIL"
        else:
            w = rc[0] / gt[0] if gt[0] > 0 else (1.0 if rc[0] == 0 else float("inf"))
            mem_ok = rc[1] < SMALL_MIB if small else rc[1] / gt[1] <= tm
            result = "PASS" if w <= tw and mem_ok else "MISS"
        print(f"{repo:<11} {mode:<10} | {cell(rc)} | {cell(gg, (repo, mode, 'go-git') in data)} | {cell(gt)} | {ratio(rc, gt)} | {ratio(gg, gt)} | "
              f"{tlabel:<13} {result:<6} {chk.get((repo, mode), '-')}")
if ("gomods", "concurrent", "repoconnect") in data:
    runs = data[("gomods", "concurrent", "repoconnect")]
    m = med(runs)
    result = "FAIL" if m is None else ("PASS" if m[1] < 1024 else "MISS")
    c = "FAIL" if m is None else f"max wall {m[0]:.2f}s, sum of peak RSS {m[1]:.1f} MiB"
    print(f"{'gomods':<11} {f'{conc}x d1':<10} | {conc} concurrent depth-1 repoconnect clones: {c} | target sum < 1024 MiB  {result}")
PY
if [ -s "$W/profiles.txt" ]; then echo; cat "$W/profiles.txt"; fi
if [ -s "$W/mismatches" ]; then echo; echo "CORRECTNESS PROBLEMS:"; cat "$W/mismatches"; fi
[ "$FAILED" = 0 ] || { echo; echo "some clones failed or did not match git's; logs: $W/logs (KEEP=1 keeps them)"; }
exit "$FAILED"
