#!/usr/bin/env bash
# Key-Value benchmarks of weir-server beside nats-server, in one run, with the same client
# (`weir bench kv`, async-nats' KV API): put and get ops/s with one client and with
# KV_CLIENTS concurrent clients, memory and file buckets, median of REPEAT runs (servers
# alternating); then a bucket of KV_SCALE_KEYS keys on freshly started servers (fill, single
# put/get, key listing, watcher replay, server memory per key). Prints markdown.
#
# Environment (besides bench-lib.sh's): KV_OPS (default 20000), KV_CLIENTS (16),
# KV_KEYS (10000), KV_SCALE_KEYS (1000000), KV_STORAGES ("memory file"), SKIP_LAZY=1 (no
# file-put rows with weir in nats-server's lazy fsync mode), SKIP_SCALE=1.
set -euo pipefail

BENCH_NAME=bench-kv
KV_OPS=${KV_OPS:-20000}
KV_CLIENTS=${KV_CLIENTS:-16}
KV_KEYS=${KV_KEYS:-10000}
KV_SCALE_KEYS=${KV_SCALE_KEYS:-1000000}
KV_STORAGES=${KV_STORAGES:-memory file}
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

ROWS=()
add_row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

start_js() {
    local name=$1
    stop_server "$name"
    rm -rf "$LOGDIR/js-$name"
    mkdir -p "$LOGDIR/js-$name"
    start_server "$name" -js -sd "$LOGDIR/js-$name"
}

# kv_row OP STORAGE CLIENTS: median ops/s and p50 latency over REPEAT runs per server.
kv_row() {
    local op=$1 storage=$2 clients=$3 note=${4:-} run name out
    declare -A OPS=() P50=() CPU=() CELL=() MED=() CPU_MED=()
    for run in $(seq "$REPEAT"); do
        for name in weir nats; do
            log "kv $op, $storage, $clients client(s), run $run/$REPEAT on $name"
            out=$(weir_json "$name" bench kv "$op" --storage "$storage" --clients "$clients" \
                --ops "$KV_OPS" --keys "$KV_KEYS" --size "$SIZE" --pid "${PID[$name]}" --no-progress)
            if [[ $(field "$out" '.complete') != true ]]; then
                log "warning: incomplete run on $name: $(jq -r '.first_error // "no result"' <<<"$out" 2>/dev/null)"
            fi
            OPS[$name]+="$(field "$out" '.ops_per_sec') "
            P50[$name]+="$(field "$out" '.latency.p50_us') "
            CPU[$name]+="$(field "$out" '.server_cpu_us_per_op') "
        done
    done
    for name in weir nats; do
        MED[$name]=$(tr ' ' '\n' <<<"${OPS[$name]}" | awk NF | median)
        CELL[$name]="$(fmt_int "${MED[$name]}") (p50 $(us "$(tr ' ' '\n' <<<"${P50[$name]}" | awk NF | median)") µs)"
        CPU_MED[$name]=$(tr ' ' '\n' <<<"${CPU[$name]}" | awk NF | median)
    done
    add_row "KV $op, $storage$note, $clients client(s), $SIZE B values: ops/s (p50 latency)" \
        "${CELL[weir]}" "${CELL[nats]}" "$(ratio "${MED[weir]}" "${MED[nats]}")"
    add_row "KV $op, $storage$note, $clients client(s): server CPU µs per operation (lower is better)" \
        "$(us "${CPU_MED[weir]}")" "$(us "${CPU_MED[nats]}")" "$(ratio "${CPU_MED[weir]}" "${CPU_MED[nats]}")"
}

start_js weir
start_js nats
for storage in $KV_STORAGES; do
    for op in put get; do
        for clients in 1 "$KV_CLIENTS"; do
            kv_row "$op" "$storage" "$clients"
        done
    done
done

# nats-server's durability for weir too: acknowledged once written to the OS, fsynced every 2
# minutes (`jetstream { sync_interval: 2m }`), so file puts compare like with like.
if [[ ${SKIP_LAZY:-0} != 1 ]]; then
    stop_server weir
    rm -rf "$LOGDIR/js-weir-lazy"
    mkdir -p "$LOGDIR/js-weir-lazy"
    printf 'jetstream { store_dir: "%s", sync_interval: "2m" }\n' "$LOGDIR/js-weir-lazy" >"$LOGDIR/lazy.conf"
    start_server weir -c "$LOGDIR/lazy.conf"
    for clients in 1 "$KV_CLIENTS"; do
        kv_row put file "$clients" " (weir: sync_interval 2m, nats-server's durability)"
    done
fi

if [[ ${SKIP_SCALE:-0} != 1 ]]; then
    declare -A SCALE=()
    for name in weir nats; do
        start_js "$name"
        log "kv scale ($(fmt_int "$KV_SCALE_KEYS") keys) on $name"
        SCALE[$name]=$(weir_json "$name" bench kv scale --keys "$KV_SCALE_KEYS" --pid "${PID[$name]}" --no-progress)
        stop_server "$name"
    done
    for phase in fill put get keys_listing watch_replay; do
        w=$(field "${SCALE[weir]}" ".$phase.per_sec")
        n=$(field "${SCALE[nats]}" ".$phase.per_sec")
        add_row "KV scale, $(fmt_int "$KV_SCALE_KEYS") keys (file): $phase per second" \
            "$(fmt_int "$w")" "$(fmt_int "$n")" "$(ratio "$w" "$n")"
    done
    w=$(field "${SCALE[weir]}" '.server_memory.rss_delta_per_item_bytes')
    n=$(field "${SCALE[nats]}" '.server_memory.rss_delta_per_item_bytes')
    add_row "KV scale, $(fmt_int "$KV_SCALE_KEYS") keys (file): server RSS growth per key, bytes (lower is better)" \
        "$(fmt_int "$w")" "$(fmt_int "$n")" "$(ratio "$n" "$w") (inverse)"
fi

cat <<EOF
## Key-Value (issue 5), run of $(date -u '+%Y-%m-%d %H:%M UTC')

- Both servers started with \`-js -sd <fresh temp dir>\`; every run recreates the bucket.
- File storage durability differs: weir fsyncs before every ack (group commit); nats-server
  2.9.10 acks before fsync. Single-client file puts are bound by that fsync. The rows marked
  \`sync_interval 2m\` run weir with nats-server's durability (\`jetstream { sync_interval: 2m }\`).
- Median of $REPEAT runs, servers alternating; the scale rows are one run each on freshly
  started servers.

| Benchmark | weir-server | nats-server | Weir / nats-server |
| --- | ---: | ---: | ---: |
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

Commands (URL: ${URL[weir]} for weir-server, ${URL[nats]} for nats-server):

\`\`\`
weir -s URL --json bench kv put|get --storage memory|file --clients 1|$KV_CLIENTS --ops $KV_OPS --keys $KV_KEYS --size $SIZE
weir -s URL --json bench kv scale --keys $KV_SCALE_KEYS --pid SERVER_PID
\`\`\`
EOF
