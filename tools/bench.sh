#!/bin/sh
# make bench — Lifeline's benchmarks.  Figures, not tests: they print what
# was measured and write $BUILD/bench.json; nothing here passes or fails on
# speed.  Each figure's exact command is printed with it.
#
#   BUILD            build folder (argument 1, default build)
#   BENCH_BYTES      bytes of the clean linktest run (default 20000: > 60 s at 2400 bit/s)
#   BENCH_BYTES_IMPAIRED  bytes of the impaired run (default 60000: about 5 min,
#                    since a 60 s window holds only ~11 loss bursts and single
#                    windows scatter by several points)
#   CORPUS           benchmark corpus folder (default ../shared/corpus)
#   BENCH_INGEST_MESSAGES  messages of each shore ingest run (default 100000)
#   TMPDIR           where the ingest runs make their database (default /tmp)
set -eu
BUILD=${1:-build}
BYTES=${BENCH_BYTES:-20000}
BYTES_IMPAIRED=${BENCH_BYTES_IMPAIRED:-60000}
INGEST_MESSAGES=${BENCH_INGEST_MESSAGES:-100000}
CORPUS=${CORPUS:-../shared/corpus}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM

json="$BUILD/bench.json"
echo "{" > "$json.tmp"
first=1
emit() { # name value
    if [ $first -eq 0 ]; then echo "," >> "$json.tmp"; fi
    first=0
    printf '  "%s": %s' "$1" "$2" >> "$json.tmp"
    printf '%-32s %s\n' "$1" "$2"
}

# Waits (bounded) until a file contains a string.
wait_for() { # file needle seconds
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(($3 * 10)) ] && { echo "bench: timed out waiting for '$2' in $1" >&2; return 1; }
        sleep 0.1
    done
}

# linktest over satsim ptys at 2400 bit/s, 750 ms each way (1.5 s RTT).
goodput() { # name bytes satsim-impairment-args...
    name=$1; bytes=$2; shift 2
    "$BUILD/satsim" --a "pty:$tmp/a" --b "pty:$tmp/b" --rate 2400 --latency 750 --seed 1 "$@" \
        > "$tmp/sat.log" 2>&1 &
    sat=$!
    wait_for "$tmp/sat.log" "satsim: ready" 10
    "$BUILD/linktest" recv "serial:$tmp/b" --out "$tmp/out.bin" --rate 2400 --rtt 1500 \
        > "$tmp/recv.log" 2>&1 &
    rcv=$!
    echo "  \$ satsim --a pty:A --b pty:B --rate 2400 --latency 750 --seed 1 $*"
    echo "  \$ linktest send serial:A --bytes $bytes --rate 2400 --rtt 1500   (recv on B)"
    "$BUILD/linktest" send "serial:$tmp/a" --bytes "$bytes" --rate 2400 --rtt 1500 \
        --save "$tmp/in.bin" > "$tmp/send.log" 2>&1
    wait $rcv
    kill -TERM $sat; wait $sat || true
    cmp -s "$tmp/in.bin" "$tmp/out.bin" || { echo "bench: $name transfer not byte-exact" >&2; exit 1; }
    line=$(grep goodput_bps= "$tmp/recv.log")
    echo "  recv: $line"
    echo "  send: $(grep goodput_bps= "$tmp/send.log")"
    ratio=$(echo "$line" | sed 's/.*ratio=\([0-9.]*\).*/\1/')
    emit "$name" "$ratio"
}

[ -z "${BENCH_SKIP_LINK:-}" ] && echo "== link goodput (linktest over satsim)"
[ -z "${BENCH_SKIP_LINK:-}" ] && goodput goodput_ratio_clean "$BYTES"
[ -z "${BENCH_SKIP_LINK:-}" ] && goodput goodput_ratio_impaired "$BYTES_IMPAIRED" --ber 1e-5 --loss 0.02

# Bytes on air through the real encoder (lifeline-bench bytes), then the
# text-only compression ratios (lifeline-bench text).
field() { echo " $1" | sed "s/.* $2=\([0-9.]*\).*/\1/"; }
# "a=1 b=2 dict=0x16(en.2)" -> {"a": 1, "b": 2, "dict": "0x16(en.2)"}
as_json() {
    echo "$1" | sed -e 's/ /, /g' -e 's/\([a-z_]*\)=\([^,]*\)/"\1": \2/g' \
        -e 's/"dict": \([^,]*\)$/"dict": "\1"/' -e 's/^/{/' -e 's/$/}/'
}
if [ -f "$CORPUS/sms_en_dev.jsonl" ]; then
    echo "== bytes on air (lifeline-bench bytes, corpus $CORPUS)"
    run() { echo "  \$ lifeline-bench bytes $*" >&2; "$BUILD/lifeline-bench" bytes "$@"; }
    exec 3>&2 2>&1
    l=$(run --corpus "$CORPUS/sms_en_dev.jsonl" --lone 100); echo "  $l"
    emit onair_lone_100B_bytes "$(field "$l" onair_bytes)"
    l=$(run --corpus "$CORPUS/sms_en_dev.jsonl" --batch 10); echo "  $l"
    emit onair_ratio_sms_batch10 "$(field "$l" ratio)"
    emit deflate_ratio_sms_batch10 "$(field "$l" deflate_ratio)"
    sum=0
    for lang in mya khm lao tha; do
        l=$(run --corpus "$CORPUS/udhr/$lang.jsonl" --batch 1); echo "  $lang: $l"
        sum=$(echo "$sum $(field "$l" ratio)" | awk '{print $1 + $2}')
    done
    emit onair_ratio_udhr_sea "$(echo "$sum" | awk '{printf "%.3f", $1 / 4}')"

    # Text-only ratios (PROTOCOL.md 7.4), each line kept whole as an object.
    echo "== text only (lifeline-bench text, corpus $CORPUS)"
    text_row() { # name args...
        name=$1; shift
        echo "  \$ lifeline-bench text $*" >&2
        l=$("$BUILD/lifeline-bench" text "$@"); echo "  $l"
        emit "$name" "$(as_json "$l")"
    }
    text_row text_sms_lone_100B --corpus "$CORPUS/sms_en_dev.jsonl" --lone 100
    text_row text_sms_lone_all --corpus "$CORPUS/sms_en_dev.jsonl" --batch 1
    text_row text_sms_batch10 --corpus "$CORPUS/sms_en_dev.jsonl" --batch 10
    for lang in mya khm lao tha eng; do
        text_row "text_udhr_$lang" --corpus "$CORPUS/udhr/$lang.jsonl" --batch 1
    done
    text_row text_udhr_shn_mya_dict --corpus "$CORPUS/udhr/shn.jsonl" --batch 1 --dict mya
    text_row text_udhr_mnw_mya_dict --corpus "$CORPUS/udhr/mnw.jsonl" --batch 1 --dict mya
    text_row text_udhr_vie_mixed_dict --corpus "$CORPUS/udhr/vie.jsonl" --batch 1 --dict mixed
else
    echo "bench: no corpus at $CORPUS; set CORPUS=DIR to measure bytes on air" >&2
fi

# Shore ingest (lifeline-bench ingest): authenticate, decrypt, inflate, dedup
# and commit pre-sealed bundles of 10 texts from 100 vessels into a new
# SQLite file, one transaction (one fsync) per bundle.  Built-in texts, no
# corpus needed.  The median of three runs: fsync latency makes single runs
# scatter with whatever else writes to the disk.
echo "== shore ingest (lifeline-bench ingest)"
echo "  \$ lifeline-bench ingest --vessels 100 --messages $INGEST_MESSAGES   (3 runs, median)"
rates=""
for i in 1 2 3; do
    l=$("$BUILD/lifeline-bench" ingest --vessels 100 --messages "$INGEST_MESSAGES"); echo "  $l"
    rates="$rates $(field "$l" msgs_per_s)"
done
emit shore_ingest_msgs_per_s "$(printf '%s\n' $rates | sort -n | sed -n 2p)"

# vesseld's peak resident memory (VmHWM) in the issue's scenario: the fleet
# end-to-end suite (3 crew members, 300 texts through satsim, vesseld killed
# with SIGKILL 5 times; then two vessels and 1,000 texts).  The highest
# figure of any vesseld in the run.
echo "== vesseld memory (the fleet end-to-end suite)"
echo "  \$ lifeline-tests fleet   (prints each vesseld's VmHWM before it stops)"
rss=$(LIFELINE_BUILD=$(cd "$BUILD" && pwd) LIFELINE_SRC=$(pwd) "$BUILD/lifeline-tests" fleet 2>&1 |
      sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' | sort -n | tail -1)
[ -n "$rss" ] || { echo "bench: the fleet suite printed no peak RSS" >&2; exit 1; }
emit vesseld_peak_rss_kb "$rss"

printf '\n}\n' >> "$json.tmp"
mv "$json.tmp" "$json"
echo
echo "== summary ($json)"
printf '%-32s %s\n' figure value
for k in onair_lone_100B_bytes onair_ratio_sms_batch10 onair_ratio_udhr_sea \
         deflate_ratio_sms_batch10 goodput_ratio_clean goodput_ratio_impaired \
         shore_ingest_msgs_per_s vesseld_peak_rss_kb; do
    v=$(sed -n "s/^  \"$k\": \([^,]*\),*$/\1/p" "$json")
    printf '%-32s %s\n' "$k" "${v:-(not measured)}"
done
