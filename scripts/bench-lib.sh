#!/usr/bin/env bash
# Shared by the bench scripts (bench-compare.sh, bench-kv.sh): builds the binaries, starts
# weir-server and nats-server side by side on 127.0.0.1 and stops them on exit, and the
# helpers that read a bench's JSON and format numbers. Source it; it is not a script.
# Environment: REPEAT PORT_A PORT_B WEIR_BIN WEIR_SERVER_BIN NATS_SERVER_BIN SKIP_BUILD
# (see bench-compare.sh).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

REPEAT=${REPEAT:-3}
SIZE=128
PORT_A=${PORT_A:-14222}
PORT_B=${PORT_B:-14223}
WEIR=${WEIR_BIN:-$ROOT/target/release/weir}
NATS_SERVER_BIN=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}

log() { echo "${BENCH_NAME:-bench}: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v jq >/dev/null || die "jq is required (apt-get install jq)"
[[ -x $NATS_SERVER_BIN ]] || die "nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    if [[ -n ${WEIR_SERVER_BIN:-} ]]; then
        log "building weir (WEIR_SERVER_BIN=$WEIR_SERVER_BIN given, not building weir-server)"
        cargo build --release -p weir-cli >&2
    else
        log "building weir-server and weir"
        cargo build --release -p weir-server -p weir-cli >&2
    fi
fi
WEIR_SERVER_BIN=${WEIR_SERVER_BIN:-$ROOT/target/release/weir-server}
[[ -x $WEIR_SERVER_BIN ]] || die "weir-server binary not found at $WEIR_SERVER_BIN"
[[ -x $WEIR ]] || die "weir binary not found at $WEIR"

# Both servers and the bench client need many descriptors for the connection bench.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

declare -A PID=()
declare -A URL=([weir]="nats://127.0.0.1:$PORT_A" [nats]="nats://127.0.0.1:$PORT_B")
declare -A BIN=([weir]="$WEIR_SERVER_BIN" [nats]="$NATS_SERVER_BIN")
declare -A PORT=([weir]="$PORT_A" [nats]="$PORT_B")
LOGDIR=$(mktemp -d)

stop_server() {
    local name=$1
    if [[ -n ${PID[$name]:-} ]]; then
        kill "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
        PID[$name]=""
    fi
}
cleanup() {
    stop_server weir
    stop_server nats
    rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME [EXTRA SERVER ARGS...]
start_server() {
    local name=$1
    shift
    stop_server "$name"
    "${BIN[$name]}" -a 127.0.0.1 -p "${PORT[$name]}" "$@" >"$LOGDIR/$name.log" 2>&1 &
    PID[$name]=$!
    for _ in $(seq 100); do
        if "$WEIR" -s "${URL[$name]}" --timeout 1s server info --json >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$LOGDIR/$name.log" >&2
    die "$name server (${BIN[$name]}) did not start on port ${PORT[$name]}"
}

# weir_json NAME ARGS... : run a bench with --json against server NAME and print its JSON.
# A bench that reports loss exits non-zero but still prints its summary; keep it.
weir_json() {
    local name=$1 out
    shift
    out=$("$WEIR" -s "${URL[$name]}" --json "$@" 2>"$LOGDIR/client.err") || true
    if [[ -z $out ]]; then
        log "warning: no result from weir $* against $name: $(tail -n 1 "$LOGDIR/client.err")"
    fi
    echo "$out"
}

# field JSON FILTER: a number from a bench's JSON, 0 when the bench printed none.
field() {
    local value
    value=$(jq -r "($2) // 0" <<<"$1" 2>/dev/null | head -n 1) || true
    echo "${value:-0}"
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
fmt_int() {
    awk -v n="$1" 'BEGIN {
        s = sprintf("%.0f", n < 0 ? -n : n); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print (n < 0 ? "-" : "") s out
    }'
}
us() { awk -v v="$1" 'BEGIN {printf "%.1f", v}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b}'; }
