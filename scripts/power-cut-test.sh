#!/usr/bin/env bash
# Power-cut test on lossyfs: does every acknowledged JetStream publish survive a power failure?
#
#   scripts/power-cut-test.sh [ROUNDS]          (default 3; needs root and /dev/fuse)
#
# Each round: mount lossyfs (a FUSE filesystem that keeps un-fsynced writes in memory) over an
# empty BACKING dir at MOUNT; start the server with its store inside MOUNT; publish with acks
# (crates/server/examples/js_publisher.rs records every acknowledged (publisher, n, seq));
# then SIGSTOP the server (no ack leaves after the cut), SIGUSR1 lossyfs (power cut: every
# unsynced write and uncommitted create/rename/unlink is dropped), SIGKILL the server, unmount,
# mount again over the same BACKING (it now holds exactly what was durable), restart the server
# on the same port and check that every acknowledged message is there at its sequence.
#
# Round 1 cuts right after the store must have started a new segment file (Weir's segments and
# nats-server's blocks are 8 MiB and not configurable from outside, so it publishes 4 KiB bodies
# and cuts just after 8.5 MiB were acknowledged); the other rounds cut at a random moment,
# 200-700 ms after the first ack.
#
# Prints `power-cut: K rounds, N acknowledged, L lost` and exits 1 if L > 0.
#
# Environment:
#   SERVER_BIN     server binary (default target/release/weir-server, built by cargo first);
#                  e.g. SERVER_BIN=/usr/sbin/nats-server for the reference, which is expected
#                  to LOSE acknowledged messages here (it acknowledges before fsync).
#   LOSSYFS_DIR    lossyfs sources (default ../shared/tools/lossyfs beside the repo)
#   LOSSYFS_BIN    prebuilt lossyfs binary (default: built from LOSSYFS_DIR into target/lossyfs)
#   PUBLISHER_BIN  prebuilt js_publisher (default: built with cargo, dev profile)
#   LOSSYFS_META   lossyfs --meta mode: strict (default), journal or passthrough
#   LOSSYFS_ARGS   extra lossyfs flags; the harness control run is
#                  `LOSSYFS_META=passthrough LOSSYFS_ARGS=--sync-writes`, under which even
#                  nats-server must show 0 lost (every write is durable when it returns)
#   KEEP_WORK=1    keep the work dir (logs, acks, backing dirs) for inspection
set -euo pipefail

ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOSSYFS_DIR=${LOSSYFS_DIR:-$ROOT/../shared/tools/lossyfs}
LOSSYFS_META=${LOSSYFS_META:-strict}
STREAM=PC

log() { echo "power-cut: $*" >&2; }
die() { log "error: $*"; exit 2; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ $(id -u) == 0 ]] || die "needs root (FUSE mounts)"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
if ! command -v fusermount3 >/dev/null; then
    log "installing fuse3 (fusermount3)"
    apt-get install -y fuse3 >/dev/null || { apt-get update >/dev/null && apt-get install -y fuse3 >/dev/null; } \
        || die "cannot install fuse3"
fi

# --- binaries ----------------------------------------------------------------------------------
if [[ -z ${LOSSYFS_BIN:-} ]]; then
    [[ -f $LOSSYFS_DIR/Cargo.toml ]] || die "lossyfs sources not found at $LOSSYFS_DIR"
    log "building lossyfs"
    cargo build --release --quiet --manifest-path "$LOSSYFS_DIR/Cargo.toml" \
        --target-dir "$ROOT/target/lossyfs" || die "lossyfs build failed"
    LOSSYFS_BIN=$ROOT/target/lossyfs/release/lossyfs
fi
if [[ -z ${PUBLISHER_BIN:-} ]]; then
    log "building js_publisher"
    (cd "$ROOT" && cargo build --quiet -p weir-server --example js_publisher) || die "js_publisher build failed"
    PUBLISHER_BIN=$ROOT/target/debug/examples/js_publisher
fi
if [[ -z ${SERVER_BIN:-} ]]; then
    SERVER_BIN=$ROOT/target/release/weir-server
    log "building weir-server (release; a no-op when up to date)"
    (cd "$ROOT" && cargo build --quiet --release -p weir-server --bin weir-server) || die "weir-server build failed"
fi
for b in "$LOSSYFS_BIN" "$PUBLISHER_BIN" "$SERVER_BIN"; do [[ -x $b ]] || die "not executable: $b"; done
log "server: $SERVER_BIN ($("$SERVER_BIN" --version 2>&1 | head -1))"

# --- process bookkeeping (only processes this script started, by pid) ----------------------------
WORK=$(mktemp -d /tmp/power-cut.XXXXXX)
LPID="" SPID="" PPID_="" MOUNT=""
cleanup() {
    set +e
    [[ -n $PPID_ ]] && kill -KILL "$PPID_" 2>/dev/null
    if [[ -n $SPID ]]; then kill -CONT "$SPID" 2>/dev/null; kill -KILL "$SPID" 2>/dev/null; fi
    [[ -n $MOUNT ]] && mountpoint -q "$MOUNT" && fusermount3 -u "$MOUNT" 2>/dev/null
    [[ -n $LPID ]] && kill -TERM "$LPID" 2>/dev/null
    wait 2>/dev/null
    if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wait_for DESCRIPTION TIMEOUT_S COMMAND...: polls COMMAND every 20 ms until it succeeds.
wait_for() {
    local what=$1 secs=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
        sleep 0.02
    done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
in_log() { grep -q "$2" "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# file_or_exited FILE PID: FILE exists, or PID is gone (checked by the caller afterwards).
file_or_exited() { [[ -e $1 ]] || gone "$2"; }
# publisher_running ROUND FILE: after file_or_exited, fails the run if the publisher died early.
publisher_running() {
    [[ -e $2 ]] && return 0
    sed 's/^/    /' "$WORK/round$1/publisher.log" >&2
    die "the publisher exited before publishing (round $1); does the server serve JetStream?"
}
# wait_gone PID SECS: waits (bounded) for PID to exit; returns 1 on timeout.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        port_open "$p" || { echo "$p"; return; }
    done
    die "no free port"
}

mount_lossyfs() { # BACKING MOUNT LOG
    # shellcheck disable=SC2086 # LOSSYFS_ARGS is a list of flags
    "$LOSSYFS_BIN" --meta "$LOSSYFS_META" ${LOSSYFS_ARGS:-} "$1" "$2" >>"$3" 2>&1 &
    LPID=$!
    MOUNT=$2
    wait_for "lossyfs to mount $2" 10 mounted_ok "$3" "$2"
}
mounted_ok() { in_log "$1" '"event":"mounted"' && mountpoint -q "$2"; }

unmount_lossyfs() { # MOUNT
    fusermount3 -u "$1" 2>/dev/null || kill -TERM "$LPID" 2>/dev/null || true
    wait_for "lossyfs (pid $LPID) to exit" 20 gone "$LPID"
    wait "$LPID" 2>/dev/null || true
    LPID="" MOUNT=""
}

start_server() { # STORE PORT LOG
    "$SERVER_BIN" -js -sd "$1" -p "$2" -a 127.0.0.1 >>"$3" 2>&1 &
    SPID=$!
    wait_for "the server on port $2" 30 port_open "$2"
}

TOTAL_ACKED=0 TOTAL_LOST=0
for round in $(seq 1 "$ROUNDS"); do
    R=$WORK/round$round
    BACKING=$R/backing MNT=$R/mnt ACKS=$R/acks.txt
    mkdir -p "$BACKING" "$MNT"
    mount_lossyfs "$BACKING" "$MNT" "$R/lossyfs.log"
    PORT=$(free_port)
    start_server "$MNT/store" "$PORT" "$R/server.log"

    if ((round == 1)); then
        SIZE=4096 MARK=$((8 * 1024 * 1024 + 512 * 1024))
        "$PUBLISHER_BIN" publish --url "nats://127.0.0.1:$PORT" --stream "$STREAM" --acks "$ACKS" \
            --size "$SIZE" --mark-bytes "$MARK" >"$R/publisher.log" 2>&1 &
        PPID_=$!
        wait_for "8.5 MiB of acknowledged publishes (round $round)" 120 file_or_exited "$ACKS.mark" "$PPID_"
        publisher_running "$round" "$ACKS.mark"
        how="right after a new segment (8.5 MiB acknowledged)"
    else
        SIZE=128
        "$PUBLISHER_BIN" publish --url "nats://127.0.0.1:$PORT" --stream "$STREAM" --acks "$ACKS" \
            --size "$SIZE" >"$R/publisher.log" 2>&1 &
        PPID_=$!
        wait_for "the first acknowledged publish (round $round)" 30 file_or_exited "$ACKS.started" "$PPID_"
        publisher_running "$round" "$ACKS.started"
        ms=$((200 + RANDOM % 501))
        sleep "$(printf '0.%03d' "$ms")"
        how="${ms} ms after the first ack"
    fi

    # The power cut.
    kill -STOP "$SPID"
    kill -USR1 "$LPID"
    wait_for "lossyfs to report the crash" 10 in_log "$R/lossyfs.log" '"event":"crash"'
    kill -KILL "$SPID"
    wait "$SPID" 2>/dev/null || true
    SPID=""
    # The publisher sees the connection drop, records the acks it got and exits.
    if ! wait_gone "$PPID_" 30; then
        log "publisher did not exit; stopping it"
        kill -TERM "$PPID_" 2>/dev/null || true
    fi
    wait "$PPID_" 2>/dev/null || true
    PPID_=""
    unmount_lossyfs "$MNT"

    # Power back on.
    mount_lossyfs "$BACKING" "$MNT" "$R/lossyfs.log"
    start_server "$MNT/store" "$PORT" "$R/server.log"
    set +e
    "$PUBLISHER_BIN" verify --url "nats://127.0.0.1:$PORT" --stream "$STREAM" --acks "$ACKS" \
        --size "$SIZE" --wait-secs 20 >"$R/verify.log" 2>&1
    set -e
    result=$(grep '^verify-result:' "$R/verify.log" | tail -1)
    [[ -n $result ]] || { cat "$R/verify.log" >&2; die "verify printed no result (round $round)"; }
    acked=$(sed -E 's/.*acked=([0-9]+).*/\1/' <<<"$result")
    lost=$(sed -E 's/.*lost=([0-9]+).*/\1/' <<<"$result")
    TOTAL_ACKED=$((TOTAL_ACKED + acked)) TOTAL_LOST=$((TOTAL_LOST + lost))
    log "round $round: cut $how: $acked acknowledged, $lost lost"
    grep -E '^verify: (stream|publisher)' "$R/verify.log" | sed 's/^/    /' >&2 || true

    kill -TERM "$SPID" 2>/dev/null || true
    wait_for "the server to exit" 20 gone "$SPID"
    wait "$SPID" 2>/dev/null || true
    SPID=""
    unmount_lossyfs "$MNT"
done

echo "power-cut: $ROUNDS rounds, $TOTAL_ACKED acknowledged, $TOTAL_LOST lost"
((TOTAL_LOST == 0))
