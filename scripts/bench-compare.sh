#!/usr/bin/env bash
# Compare weir-server with nats-server on this machine, in one run, with the same client.
#
# Builds the release binaries, starts both servers side by side on 127.0.0.1, runs the same
# benchmarks against each (throughput runs repeated and reported as the median), and prints
# a markdown report: machine info, a table with both servers' numbers and the Weir/nats-server
# ratio, and the exact commands used.
#
# Environment overrides:
#   WEIR_SERVER_BIN   weir-server binary (default target/release/weir-server). When set,
#                     only weir-cli is built, so the script can run before weir-server does,
#                     e.g. WEIR_SERVER_BIN=/usr/sbin/nats-server to check the script itself.
#   NATS_SERVER_BIN   reference server (default: nats-server from PATH, else /usr/sbin/nats-server)
#   WEIR_BIN          weir CLI binary (default target/release/weir)
#   PORT_A PORT_B     ports for weir-server and nats-server (default 14222, 14223)
#   MSGS REQS CONNS SUBS REPEAT   sizes (default 2000000, 50000, 10000, 100000, 3)
#   JS_SMALL_MSGS JS_LARGE_MSGS JS_SYNC_MSGS JS_RSS_MSGS JS_RSS_SUBJECTS
#                     JetStream sizes (default 200000, 20000, 5000, 1000000, 100000)
#   JS_PUBS           publisher counts for async JetStream publish (default "1 4")
#   JS_CONSUME_MSGS   messages each fetch/push/ordered consumer run pre-fills and drains (default 200000)
#   JS_FILTER_MSGS JS_FILTER_SUBJECTS
#                     filtered consumer: messages on the filtered subject, and the distinct
#                     other subjects (one message each) among them (default 100000, 1000000)
#   JS_FILTER_REPEAT  runs of the filtered bench per server (default REPEAT; each refills the stream)
#   JS_CONSUME_STORAGES  storages for the consumer section (default "memory file")
#   SKIP_CORE=1       no core NATS section;  SKIP_JS=1  no JetStream publish section;
#   SKIP_CONSUMERS=1  no JetStream consumer section (SKIP_CORE=1 SKIP_JS=1: consumers only)
#   CLIENTS           bench clients for pub/sub: "raw nats" (default), "raw" or "nats"
#   SKIP_BUILD=1      use the binaries as they are
set -euo pipefail

BENCH_NAME=bench-compare
MSGS=${MSGS:-2000000}
REQS=${REQS:-50000}
CONNS=${CONNS:-10000}
SUBS=${SUBS:-100000}
CLIENTS=${CLIENTS:-raw nats}
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

ROWS=()
COMMANDS=()
add_row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

start_server weir
start_server nats
WEIR_VERSION=$("$WEIR" -s "${URL[weir]}" --json server info | jq -r '(.version // "?") + (if .weir_version then " (weir " + .weir_version + ")" else "" end)')
NATS_VERSION=$("$WEIR" -s "${URL[nats]}" --json server info | jq -r '.version // "?"')

if [[ ${SKIP_CORE:-0} != 1 ]]; then
    # --- pub/sub throughput: 1 pub -> 1 sub and 1 pub -> 4 subs, median of REPEAT runs ---------
    for client in $CLIENTS; do
        for subs in 1 4; do
            args=(bench pubsub bench.compare --pub 1 --sub "$subs" --msgs "$MSGS" --size "$SIZE" --client "$client" --no-progress)
            COMMANDS+=("weir -s URL --json ${args[*]}")
            declare -A SUB_RATES=() PUB_RATES=() LOST=()
            for run in $(seq "$REPEAT"); do
                for name in weir nats; do
                    log "pubsub client=$client subs=$subs run $run/$REPEAT on $name"
                    out=$(weir_json "$name" "${args[@]}")
                    SUB_RATES[$name]+="$(field "$out" '.subscribers.msgs_per_sec') "
                    PUB_RATES[$name]+="$(field "$out" '.publishers.msgs_per_sec') "
                    LOST[$name]=$(( ${LOST[$name]:-0} + $(field "$out" '.lost_msgs') ))
                done
            done
            plural=""
            if [[ $subs -gt 1 ]]; then plural=s; fi
            label="1 pub → $subs sub$plural, ${SIZE} B, $client client"
            w_sub=$(tr ' ' '\n' <<<"${SUB_RATES[weir]}" | awk NF | median)
            n_sub=$(tr ' ' '\n' <<<"${SUB_RATES[nats]}" | awk NF | median)
            w_pub=$(tr ' ' '\n' <<<"${PUB_RATES[weir]}" | awk NF | median)
            n_pub=$(tr ' ' '\n' <<<"${PUB_RATES[nats]}" | awk NF | median)
            note_w="" note_n=""
            [[ ${LOST[weir]} -gt 0 ]] && note_w=" (lost ${LOST[weir]} msgs)"
            [[ ${LOST[nats]} -gt 0 ]] && note_n=" (lost ${LOST[nats]} msgs)"
            add_row "$label: delivered msgs/s (all subs)" "$(fmt_int "$w_sub")$note_w" "$(fmt_int "$n_sub")$note_n" "$(ratio "$w_sub" "$n_sub")"
            add_row "$label: published msgs/s" "$(fmt_int "$w_pub")" "$(fmt_int "$n_pub")" "$(ratio "$w_pub" "$n_pub")"
            unset SUB_RATES PUB_RATES LOST
        done
    done

    # --- request/reply latency: 1 client, median of REPEAT runs --------------------------------
    args=(bench request bench.compare.req --clients 1 --msgs "$REQS" --size "$SIZE" --no-progress)
    COMMANDS+=("weir -s URL --json ${args[*]}")
    declare -A RPS=() P50=() P99=() P999=()
    for run in $(seq "$REPEAT"); do
        for name in weir nats; do
            log "request run $run/$REPEAT on $name"
            out=$(weir_json "$name" "${args[@]}")
            RPS[$name]+="$(field "$out" '.requests_per_sec') "
            P50[$name]+="$(field "$out" '.latency.p50_us') "
            P99[$name]+="$(field "$out" '.latency.p99_us') "
            P999[$name]+="$(field "$out" '.latency.p999_us') "
        done
    done
    for metric in RPS P50 P99 P999; do
        declare -n values=$metric
        w=$(tr ' ' '\n' <<<"${values[weir]}" | awk NF | median)
        n=$(tr ' ' '\n' <<<"${values[nats]}" | awk NF | median)
        case $metric in
            RPS) add_row "request/reply, 1 client: requests/s" "$(fmt_int "$w")" "$(fmt_int "$n")" "$(ratio "$w" "$n")" ;;
            P50) add_row "request/reply, 1 client: p50 latency (µs, lower is better)" "$(us "$w")" "$(us "$n")" "$(ratio "$w" "$n")" ;;
            P99) add_row "request/reply, 1 client: p99 latency (µs, lower is better)" "$(us "$w")" "$(us "$n")" "$(ratio "$w" "$n")" ;;
            P999) add_row "request/reply, 1 client: p99.9 latency (µs, lower is better)" "$(us "$w")" "$(us "$n")" "$(ratio "$w" "$n")" ;;
        esac
        unset -n values
    done

    # --- memory: fresh servers for each, RSS after the load -----------------------------------
    memory_bench() {
        local what=$1 item=$2
        shift 2
        COMMANDS+=("weir -s URL --json $* --pid SERVER_PID")
        declare -A AFTER=() PER=() BEFORE=() OK=()
        for name in weir nats; do
            start_server "$name"
            log "$what on $name"
            out=$(weir_json "$name" "$@" --pid "${PID[$name]}")
            BEFORE[$name]=$(field "$out" '.server_memory.rss_before_bytes')
            AFTER[$name]=$(field "$out" '.server_memory.rss_after_bytes')
            PER[$name]=$(field "$out" '.server_memory.rss_delta_per_item_bytes')
            OK[$name]=$(field "$out" '.connected // .subscriptions')
        done
        add_row "$what: server RSS after (MiB, lower is better)" "$(mib "${AFTER[weir]}")" "$(mib "${AFTER[nats]}")" "$(ratio "${AFTER[weir]}" "${AFTER[nats]}")"
        add_row "$what: RSS growth per $item (bytes, lower is better)" "$(fmt_int "${PER[weir]}")" "$(fmt_int "${PER[nats]}")" "$(ratio "${PER[weir]}" "${PER[nats]}")"
        if [[ ${OK[weir]} != "${OK[nats]}" ]]; then
            log "warning: $what: weir reached ${OK[weir]}, nats-server ${OK[nats]}"
        fi
        add_row "idle server RSS before $what (MiB)" "$(mib "${BEFORE[weir]}")" "$(mib "${BEFORE[nats]}")" "$(ratio "${BEFORE[weir]}" "${BEFORE[nats]}")"
    }
    memory_bench "$(fmt_int "$CONNS") idle connections" connection bench conns --count "$CONNS" --no-progress
    memory_bench "$(fmt_int "$SUBS") subscriptions" subscription bench subs --count "$SUBS" --no-progress
fi

# --- JetStream: both servers restarted with -js on fresh store dirs -------------------------
JS_SMALL_MSGS=${JS_SMALL_MSGS:-200000}
JS_LARGE_MSGS=${JS_LARGE_MSGS:-20000}
JS_SYNC_MSGS=${JS_SYNC_MSGS:-5000}
JS_RSS_MSGS=${JS_RSS_MSGS:-1000000}
JS_RSS_SUBJECTS=${JS_RSS_SUBJECTS:-100000}
JS_PUBS=${JS_PUBS:-1 4}
JS_WINDOW=256
JS_ROWS=()
JS_COMMANDS=()
JS_FAILURES=()
add_js_row() { JS_ROWS+=("| $1 | $2 | $3 | $4 |"); }
FSYNC_NOTE="weir: fsync before every ack (group commit); nats-server 2.9.10: ack before fsync (sync_interval 2 min)"

# start_js NAME: restart server NAME with JetStream on a fresh, empty store directory.
start_js() {
    local name=$1
    stop_server "$name"
    rm -rf "$LOGDIR/js-$name"
    mkdir -p "$LOGDIR/js-$name"
    start_server "$name" -js -sd "$LOGDIR/js-$name"
}

# js_field_check NAME JSON: remember a run that did not ack and store every message.
js_check() {
    local name=$1 out=$2 what=$3
    if [[ $(field "$out" '.complete') != true ]]; then
        JS_FAILURES+=("$what on $name: acked $(field "$out" '.acked_msgs'), stored $(field "$out" '.stored_msgs'), errors $(field "$out" '.ack_errors') $(jq -r '.first_error // ""' <<<"$out" 2>/dev/null)")
    fi
}

storage_label() {
    if [[ $1 == file ]]; then echo "file storage (weir: fsync before ack; nats-server: ack before fsync)"; else echo "memory storage"; fi
}

# js_async STORAGE SIZE MSGS PUBS CLIENT: windowed publish, median msgs/s and MB/s of REPEAT runs.
js_async() {
    local storage=$1 size=$2 msgs=$3 pubs=$4 client=$5
    local args=(bench js pub js.bench --stream BENCH --recreate --storage "$storage" --msgs "$msgs" --size "$size"
        --mode async --window "$JS_WINDOW" --pubs "$pubs" --client "$client" --no-progress)
    JS_COMMANDS+=("weir -s URL --json ${args[*]}")
    declare -A RATE=() MB=()
    for run in $(seq "$REPEAT"); do
        for name in weir nats; do
            log "js async storage=$storage size=$size pubs=$pubs client=$client run $run/$REPEAT on $name"
            out=$(weir_json "$name" "${args[@]}")
            js_check "$name" "$out" "${args[*]}"
            RATE[$name]+="$(field "$out" '.publishers.msgs_per_sec') "
            MB[$name]+="$(field "$out" '.publishers.mb_per_sec') "
        done
    done
    local w n wm nm plural=""
    [[ $pubs -gt 1 ]] && plural=s
    w=$(tr ' ' '\n' <<<"${RATE[weir]}" | awk NF | median)
    n=$(tr ' ' '\n' <<<"${RATE[nats]}" | awk NF | median)
    wm=$(tr ' ' '\n' <<<"${MB[weir]}" | awk NF | median)
    nm=$(tr ' ' '\n' <<<"${MB[nats]}" | awk NF | median)
    add_js_row "JS async publish (window $JS_WINDOW), $(storage_label "$storage"), $size B, $pubs pub$plural, $client client: acked msgs/s (MB/s)" \
        "$(fmt_int "$w") ($(us "$wm"))" "$(fmt_int "$n") ($(us "$nm"))" "$(ratio "$w" "$n")"
}

# js_sync STORAGE: 1 publisher awaiting every ack; median msgs/s and ack latency p50/p99.
js_sync() {
    local storage=$1
    local args=(bench js pub js.bench --stream BENCH --recreate --storage "$storage" --msgs "$JS_SYNC_MSGS" --size "$SIZE"
        --mode sync --pubs 1 --client raw --no-progress)
    JS_COMMANDS+=("weir -s URL --json ${args[*]}")
    declare -A RATE=() P50=() P99=()
    for run in $(seq "$REPEAT"); do
        for name in weir nats; do
            log "js sync storage=$storage run $run/$REPEAT on $name"
            out=$(weir_json "$name" "${args[@]}")
            js_check "$name" "$out" "${args[*]}"
            RATE[$name]+="$(field "$out" '.publishers.msgs_per_sec') "
            P50[$name]+="$(field "$out" '.ack_latency.p50_us') "
            P99[$name]+="$(field "$out" '.ack_latency.p99_us') "
        done
    done
    local label metric w n
    label="JS sync publish (await each ack), $(storage_label "$storage"), $SIZE B, 1 pub, raw client"
    for metric in RATE P50 P99; do
        declare -n values=$metric
        w=$(tr ' ' '\n' <<<"${values[weir]}" | awk NF | median)
        n=$(tr ' ' '\n' <<<"${values[nats]}" | awk NF | median)
        case $metric in
            RATE) add_js_row "$label: acked msgs/s" "$(fmt_int "$w")" "$(fmt_int "$n")" "$(ratio "$w" "$n")" ;;
            P50) add_js_row "$label: ack latency p50 (µs, lower is better)" "$(us "$w")" "$(us "$n")" "$(ratio "$w" "$n")" ;;
            P99) add_js_row "$label: ack latency p99 (µs, lower is better)" "$(us "$w")" "$(us "$n")" "$(ratio "$w" "$n")" ;;
        esac
        unset -n values
    done
}

# js_rss STORAGE: fresh servers, JS_RSS_MSGS messages on JS_RSS_SUBJECTS subjects, RSS growth.
js_rss() {
    local storage=$1
    local args=(bench js pub js.rss --stream RSS --recreate --storage "$storage" --msgs "$JS_RSS_MSGS" --size "$SIZE"
        --subjects "$JS_RSS_SUBJECTS" --mode async --window "$JS_WINDOW" --pubs 1 --client raw --no-progress)
    JS_COMMANDS+=("weir -s URL --json ${args[*]} --pid SERVER_PID   # each server fresh")
    declare -A PER=() AFTER=() BEFORE=()
    for name in weir nats; do
        start_js "$name"
        log "js rss storage=$storage on $name"
        out=$(weir_json "$name" "${args[@]}" --pid "${PID[$name]}")
        js_check "$name" "$out" "${args[*]}"
        PER[$name]=$(field "$out" '.server_memory.rss_delta_per_item_bytes')
        AFTER[$name]=$(field "$out" '.server_memory.rss_after_bytes')
        BEFORE[$name]=$(field "$out" '.server_memory.rss_before_bytes')
    done
    local what
    what="$(fmt_int "$JS_RSS_MSGS") × $SIZE B msgs on $(fmt_int "$JS_RSS_SUBJECTS") subjects, $storage storage"
    add_js_row "$what: server RSS growth per stored msg (bytes, lower is better)" "$(fmt_int "${PER[weir]}")" "$(fmt_int "${PER[nats]}")" "$(ratio "${PER[weir]}" "${PER[nats]}")"
    add_js_row "$what: server RSS after (MiB; before: $(mib "${BEFORE[weir]}") / $(mib "${BEFORE[nats]}"))" "$(mib "${AFTER[weir]}")" "$(mib "${AFTER[nats]}")" "$(ratio "${AFTER[weir]}" "${AFTER[nats]}")"
}

if [[ ${SKIP_JS:-0} != 1 ]]; then
    start_js weir
    start_js nats
    for storage in memory file; do
        for pubs in $JS_PUBS; do
            js_async "$storage" "$SIZE" "$JS_SMALL_MSGS" "$pubs" raw
            js_async "$storage" 16384 "$JS_LARGE_MSGS" "$pubs" raw
        done
    done
    js_async file "$SIZE" "$JS_SMALL_MSGS" 1 nats
    js_sync file
    js_sync memory
    js_rss memory
    js_rss file
fi

# --- JetStream consumers: both servers restarted with -js on fresh store dirs --------------
JS_CONSUME_MSGS=${JS_CONSUME_MSGS:-200000}
JS_FILTER_MSGS=${JS_FILTER_MSGS:-100000}
JS_FILTER_SUBJECTS=${JS_FILTER_SUBJECTS:-1000000}
JS_FILTER_REPEAT=${JS_FILTER_REPEAT:-$REPEAT}
JS_CONSUME_STORAGES=${JS_CONSUME_STORAGES:-memory file}
CONS_ROWS=()
CONS_COMMANDS=()
CONS_FAILURES=()
CONS_OUT=""
add_cons_row() { CONS_ROWS+=("| $1 | $2 | $3 | $4 |"); }

# cons_run NAME WHAT ARGS...: run a consumer bench against server NAME; its JSON lands in
# CONS_OUT (empty when the bench printed none, e.g. a server without consumers). Failed and
# incomplete runs are remembered for the report.
cons_run() {
    local name=$1 what=$2
    shift 2
    CONS_OUT=$(weir_json "$name" "$@")
    if [[ -z $CONS_OUT ]]; then
        CONS_FAILURES+=("$what on $name: $(tail -n 1 "$LOGDIR/client.err")")
    elif [[ $(field "$CONS_OUT" '.complete') != true ]]; then
        CONS_FAILURES+=("$what on $name: incomplete ($(jq -r '.first_error // .unfiltered.first_error // .filtered.first_error // "see its JSON"' <<<"$CONS_OUT"))")
    fi
}

cons_median() { tr ' ' '\n' <<<"$1" | awk NF | median; }

# cons_bench LABEL ARGS...: REPEAT runs per server, alternating; a row with the consumer's
# median msgs/s (MB/s), n/a for a server where a run printed no result.
cons_bench() {
    local label=$1
    shift
    CONS_COMMANDS+=("weir -s URL --json $*")
    local run name ratio_cell="n/a"
    declare -A RATE=() MB=() FAILED=() CELL=() MEDIAN=()
    for run in $(seq "$REPEAT"); do
        for name in weir nats; do
            log "consumers: $label, run $run/$REPEAT on $name"
            cons_run "$name" "$label" "$@"
            if [[ -z $CONS_OUT ]]; then
                FAILED[$name]=1
                continue
            fi
            RATE[$name]+="$(field "$CONS_OUT" '.consumer.msgs_per_sec') "
            MB[$name]+="$(field "$CONS_OUT" '.consumer.mb_per_sec') "
        done
    done
    for name in weir nats; do
        if [[ -n ${FAILED[$name]:-} ]]; then
            CELL[$name]="n/a"
        else
            MEDIAN[$name]=$(cons_median "${RATE[$name]}")
            CELL[$name]="$(fmt_int "${MEDIAN[$name]}") ($(us "$(cons_median "${MB[$name]}")"))"
        fi
    done
    if [[ -z ${FAILED[weir]:-} && -z ${FAILED[nats]:-} ]]; then
        ratio_cell=$(ratio "${MEDIAN[weir]}" "${MEDIAN[nats]}")
    fi
    add_cons_row "$label: msgs/s (MB/s)" "${CELL[weir]}" "${CELL[nats]}" "$ratio_cell"
}

# cons_filtered STORAGE: a pull consumer filtered to one subject among many, and an
# unfiltered one, on the same stream; three rows (both rates and their ratio).
cons_filtered() {
    local storage=$1
    local args=(bench js filtered --storage "$storage" --msgs "$JS_FILTER_MSGS" --subjects "$JS_FILTER_SUBJECTS"
        --size "$SIZE" --no-progress)
    local what run name metric w
    what="JS filtered pull consumer, $storage storage, $(fmt_int "$JS_FILTER_MSGS") msgs on 1 subject among $(fmt_int "$JS_FILTER_SUBJECTS") others (1 msg each), batch 1000, ack none, raw client"
    CONS_COMMANDS+=("weir -s URL --json ${args[*]}")
    declare -A F=() U=() R=() FAILED=()
    for run in $(seq "$JS_FILTER_REPEAT"); do
        for name in weir nats; do
            log "consumers: filtered, $storage storage, run $run/$JS_FILTER_REPEAT on $name"
            cons_run "$name" "filtered consumer ($storage storage)" "${args[@]}"
            if [[ -z $CONS_OUT ]]; then
                FAILED[$name]=1
                continue
            fi
            F[$name]+="$(field "$CONS_OUT" '.filtered.consumer.msgs_per_sec') "
            U[$name]+="$(field "$CONS_OUT" '.unfiltered.consumer.msgs_per_sec') "
            R[$name]+="$(field "$CONS_OUT" '.ratio') "
        done
    done
    declare -A CELL=() MEDIAN=()
    for metric in F U R; do
        declare -n values=$metric
        CELL=() MEDIAN=()
        for name in weir nats; do
            if [[ -n ${FAILED[$name]:-} ]]; then
                CELL[$name]="n/a"
                continue
            fi
            MEDIAN[$name]=$(cons_median "${values[$name]}")
            if [[ $metric == R ]]; then
                CELL[$name]=$(awk -v v="${MEDIAN[$name]}" 'BEGIN {printf "%.2f", v}')
            else
                CELL[$name]=$(fmt_int "${MEDIAN[$name]}")
            fi
        done
        w="n/a"
        if [[ -z ${FAILED[weir]:-} && -z ${FAILED[nats]:-} ]]; then
            w=$(ratio "${MEDIAN[weir]}" "${MEDIAN[nats]}")
        fi
        case $metric in
            F) add_cons_row "$what: filtered consumer msgs/s" "${CELL[weir]}" "${CELL[nats]}" "$w" ;;
            U) add_cons_row "$what: unfiltered consumer, same stream, first $(fmt_int "$JS_FILTER_MSGS") msgs: msgs/s" "${CELL[weir]}" "${CELL[nats]}" "$w" ;;
            R) add_cons_row "$what: filtered / unfiltered rate (target ≥ 0.50)" "${CELL[weir]}" "${CELL[nats]}" "$w" ;;
        esac
        unset -n values
    done
}

if [[ ${SKIP_CONSUMERS:-0} != 1 ]]; then
    start_js weir
    start_js nats
    for storage in $JS_CONSUME_STORAGES; do
        common=(--storage "$storage" --msgs "$JS_CONSUME_MSGS" --size "$SIZE" --no-progress)
        for ack in explicit none; do
            for batch in 100 1000; do
                cons_bench "JS fetch (durable pull), $storage storage, batch $batch, ack $ack, raw client" \
                    bench js fetch "${common[@]}" --batch "$batch" --ack "$ack" --client raw
            done
        done
        cons_bench "JS fetch (durable pull), $storage storage, batch 100, ack explicit, nats client" \
            bench js fetch "${common[@]}" --batch 100 --ack explicit --client nats
        cons_bench "JS consume (durable pull, continuous), $storage storage, batch 100, ack explicit, nats client" \
            bench js consume "${common[@]}" --batch 100 --ack explicit
        cons_bench "JS push (durable), $storage storage, ack explicit, raw client" \
            bench js push "${common[@]}" --ack explicit --client raw
        cons_bench "JS push (durable), $storage storage, ack explicit, nats client" \
            bench js push "${common[@]}" --ack explicit --client nats
        cons_bench "JS ordered consumer (async-nats, pull), $storage storage" \
            bench js ordered "${common[@]}" --kind pull
        cons_filtered "$storage"
    done
fi

# --- report -------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
cat <<EOF
## Weir vs nats-server

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)
- weir-server: \`$WEIR_SERVER_BIN\` (INFO version $WEIR_VERSION)
- nats-server: \`$NATS_SERVER_BIN\` (version $NATS_VERSION)
- Client: \`weir\` $("$WEIR" --version | awk '{print $2}') on the same machine; throughput and latency are the median of $REPEAT runs, servers alternating run by run.
- Ratio is Weir / nats-server: above 1 is better for rates, below 1 is better for latency and memory.

EOF
if [[ ${#ROWS[@]} -gt 0 ]]; then
    cat <<EOF
| Benchmark | weir-server | nats-server | Weir / nats-server |
| --- | ---: | ---: | ---: |
EOF
    printf '%s\n' "${ROWS[@]}"
    cat <<EOF

Notes: the \`raw\` client speaks the protocol directly over TCP (batched writes, zero-copy
counting), so the server is the bottleneck; the \`nats\` client is the official async-nats
client, which on a small machine caps throughput well below what the server can do.
Memory rows start each server fresh and read VmRSS from /proc/PID/status 0.5 s after the load.

Commands (URL is ${URL[weir]} for weir-server and ${URL[nats]} for nats-server):

\`\`\`
${BIN[weir]} -a 127.0.0.1 -p $PORT_A
${BIN[nats]} -a 127.0.0.1 -p $PORT_B
EOF
    printf '%s\n' "${COMMANDS[@]}"
    echo '```'
fi
if [[ ${#JS_ROWS[@]} -gt 0 ]]; then
    fs=$(df -T "$LOGDIR" 2>/dev/null | awk 'NR == 2 {print $2 " on " $1}')
    cat <<EOF

### JetStream publish

- Both servers started with \`-js -sd <fresh temp dir>\` (${fs:-unknown filesystem}); every run
  recreates the stream (\`--recreate\`) and checks with \`\$JS.API.STREAM.INFO\` that it holds exactly the published messages.
- File storage durability differs: $FSYNC_NOTE. Weir's file-storage numbers include an fsync per group commit.
- Throughput and latency are the median of $REPEAT runs, servers alternating run by run; RSS rows start each server fresh.

| Benchmark | weir-server | nats-server | Weir / nats-server |
| --- | ---: | ---: | ---: |
EOF
    printf '%s\n' "${JS_ROWS[@]}"
    cat <<EOF

Notes: rows marked \`raw client\` use \`weir bench js pub --client raw\`, which pipelines
\`PUB subject reply size\` frames on one TCP connection per publisher (each with its own reply
subject \`_INBOX.<id>.<n>\` on one wildcard inbox subscription) and counts the PubAcks
(\`"seq"\` and no \`"error"\`), never more than the window unanswered; sync mode is the same with a
window of 1. The \`nats client\` row uses async-nats \`jetstream::Context::publish\` with a bounded
set of ack futures, and shows how far the official client is from the server's limit.
Ack latency is from the write of a publish to the arrival of its ack. RSS rows publish
$(fmt_int "$JS_RSS_MSGS") messages to \`js.rss.<i % $JS_RSS_SUBJECTS>\` (stream subject \`js.rss.*\`) and divide the
VmRSS growth (read 0.5 s after the last ack) by the number of stored messages.
EOF
    if [[ ${#JS_FAILURES[@]} -gt 0 ]]; then
        echo
        echo "**Incomplete runs** (not every message acked and stored):"
        printf -- '- %s\n' "${JS_FAILURES[@]}"
    fi
    cat <<EOF

Commands (URL as above; SERVER_PID the server's process id):

\`\`\`
${BIN[weir]} -a 127.0.0.1 -p $PORT_A -js -sd DIR
${BIN[nats]} -a 127.0.0.1 -p $PORT_B -js -sd DIR
EOF
    printf '%s\n' "${JS_COMMANDS[@]}"
    echo '```'
fi
if [[ ${#CONS_ROWS[@]} -gt 0 ]]; then
    cat <<EOF

### JetStream consumers

- Both servers started with \`-js -sd <fresh temp dir>\`. Every run deletes and creates the stream
  \`CONSUMER_BENCH\`, pre-fills it with one raw windowed publisher (not timed), drains it with one
  consumer, checks the consumer's state on the server (\`\$JS.API.CONSUMER.INFO\`: every message
  delivered once, the expected number pending, no ack outstanding) and deletes the stream.
- Timed from the first fetch request (fetch) or the consumer's creation (push, ordered) to the
  last message received and its ack written, after a 1 s pause following the fill (\`--settle\`).
  $(fmt_int "$JS_CONSUME_MSGS") × $SIZE B messages per run; median of $REPEAT runs (filtered: $JS_FILTER_REPEAT), servers
  alternating run by run.

| Benchmark | weir-server | nats-server | Weir / nats-server |
| --- | ---: | ---: | ---: |
EOF
    printf '%s\n' "${CONS_ROWS[@]}"
    cat <<EOF

Notes: \`fetch\` is a durable pull consumer (max_ack_pending 10,000) asked for one batch at a
time, the next request sent once the batch is complete; with \`ack explicit\` every message is
acked on its own (an empty publish to its reply subject, what async-nats \`Message::ack\` sends).
The \`raw client\` parses deliveries straight off the socket and writes each read's acks in one
write; the \`nats client\` uses async-nats \`PullConsumer::fetch\` and \`Message::ack\` (push: a
subscription on the deliver subject). \`push\` subscribes to the deliver subject, then creates the
durable push consumer. \`ordered\` is async-nats' \`consumer::pull::OrderedConfig\` replaying the
whole stream. The filtered stream holds $(fmt_int "$JS_FILTER_SUBJECTS") subjects \`js.consume.s.<i>\` (one message
each) and $(fmt_int "$JS_FILTER_MSGS") messages on \`js.consume.hot\` spread evenly through it; the \`filtered\`
consumer (filter \`js.consume.hot\`) and the \`unfiltered\` one (from the first message) each
drain $(fmt_int "$JS_FILTER_MSGS") messages, one after the other.
EOF
    if [[ ${#CONS_FAILURES[@]} -gt 0 ]]; then
        echo
        echo "**Failed or incomplete runs** (n/a: no result):"
        printf '%s\n' "${CONS_FAILURES[@]}" | sort -u | sed 's/^/- /'
    fi
    cat <<EOF

Commands (URL is ${URL[weir]} for weir-server and ${URL[nats]} for nats-server):

\`\`\`
${BIN[weir]} -a 127.0.0.1 -p $PORT_A -js -sd DIR
${BIN[nats]} -a 127.0.0.1 -p $PORT_B -js -sd DIR
EOF
    printf '%s\n' "${CONS_COMMANDS[@]}"
    echo '```'
fi
