#!/bin/sh
# demo.sh — Lifeline in about two minutes, narrated (make demo).
#
# Starts, in a temporary folder: shored (the shore), satsim (a satellite
# link: 2400 bit/s, 750 ms each way, light loss) and vesseld (the vessel);
# registers three crew members who write Burmese, Khmer and Thai, lets them
# text their families, lets one of them reach the monthly limit, files a
# complaint and an SOS, shows the family spool, the inspector opening and
# updating the case, a family reply and the case updates reaching the crew
# member, a signed compliance statement, and stops everything.
#
# Usage: sh tools/demo.sh [BUILD_DIR]     (make demo builds first)
# Exit status: 0 when every step worked; otherwise the step that failed is
# named, the logs are kept and their folder printed.
# Nothing here sleeps for a fixed time: each wait polls a condition with a
# deadline.
set -eu

B=$(cd "${1:-build}" && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/lifeline-demo.XXXXXX")
PIDS=""
OK=0

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    if [ "$OK" = 1 ]; then rm -rf "$D"; else echo "demo: logs kept in $D" >&2; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
    limit=$1; what=$2; shift 2
    tries=$((limit * 5))
    while ! "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "timed out waiting for $what"
        sleep 0.2
    done
}

vctl() { "$B/vesselctl" --socket "$D/vesseld.sock" "$@"; }
sctl() { "$B/shorectl" --socket "$D/shored.sock" "$@"; }
crew() { id=$1; shift; vctl --pin-file "$D/pin$id" "$@"; }

cd "$D"

say "1. Keys: one pair for the shore, one for the vessel, one for the labour inspectorate"
"$B/lifeline-keygen" --role shore --id shore --out . >/dev/null
"$B/lifeline-keygen" --role vessel --id 1042 --out . >/dev/null
"$B/lifeline-keygen" --role inspector --id inspectorate --out . >/dev/null
note "$(ls ./*.public | tr '\n' ' ')(the .secret files never leave their owner)"

say "2. A satellite link in a box: 2400 bit/s, 750 ms each way, light loss"
"$B/satsim" --a pty:"$D/vessel.tty" --b pty:"$D/shore.tty" --rate 2400 --latency 750 \
    --loss 0.002 --seed 1 > satsim.log 2>&1 &
PIDS="$PIDS $!"
wait_for 10 "satsim" grep -q "satsim: ready" satsim.log

say "3. The shore: shored, and the vessel registered with its public key"
cat > shored.conf <<EOF
secret_key = shore.secret
database = shore.db
listen = serial:$D/shore.tty
link_rate = 2400
link_rtt = 1500ms
control_socket = shored.sock
spool_dir = spool
delivery_retry_min = 1s
price_per_mb = 4.50 USD
log_level = warn
EOF
"$B/shored" --config shored.conf --foreground > shored.log 2>&1 &
PIDS="$PIDS $!"
wait_for 15 "shored" sctl status
sctl vessel add 1042 --name "Sea Star" --key 1042.public | sed 's/^/   /'

say "4. The vessel: vesseld, with a small allowance so that the demo can show the limit"
cat > vesseld.conf <<EOF
vessel_id = 1042
vessel_name = Sea Star
secret_key = 1042.secret
shore_key = shore.public
inspector_key = inspectorate.public
database = vessel.db
link = serial:$D/vessel.tty
link_rate = 2400
link_rtt = 1500ms
control_socket = vesseld.sock
quota_allowance = 1k
log_level = warn
EOF
note "(the law's allowance is 1 MB a month: quota_allowance = 1M; here 1 KiB)"
"$B/vesseld" --config vesseld.conf --foreground > vesseld.log 2>&1 &
PIDS="$PIDS $!"
wait_for 15 "vesseld" vctl status

say "5. The captain registers three crew members; each chooses a PIN"
i=1
for who in "Aung Ko:mya" "Sokha:khm" "Somchai:tha"; do
    name=${who%%:*}; lang=${who##*:}
    printf '48%02d\n' "$i" > "pin$i"
    vctl crew add "$name" --lang "$lang" --pin "$(cat "pin$i")" | sed 's/^/   /'
    i=$((i + 1))
done

say "6. Each crew member adds a family contact (e-mail, SMS, chat)"
crew 1 contact add --crew 1 mailto:mother@example.org --name "Mother" | sed 's/^/   /'
crew 2 contact add --crew 2 tel:+85512345678 --name "Wife" | sed 's/^/   /'
crew 3 contact add --crew 3 webhook:line --name "Brother" | sed 's/^/   /'

say "7. They write home, in their own languages"
crew 1 send --crew 1 --to 1 "မေမေ နေကောင်းလား။ ကျွန်တော် နေကောင်းပါတယ်။ ငါးများများ ရတယ်။" | sed 's/^/   /'
crew 2 send --crew 2 --to 1 "ម៉ាក់ ខ្ញុំសុខសប្បាយទេ។ ខែក្រោយខ្ញុំនឹងផ្ញើលុយទៅ។" | sed 's/^/   /'
crew 3 send --crew 3 --to 1 "พี่ครับ ผมสบายดี อีกสองเดือนจะกลับบ้าน" | sed 's/^/   /'

say "8. Somchai writes a lot and reaches the monthly limit"
long="ผมคิดถึงทุกคนมาก งานหนักแต่ผมยังไหว ฝากบอกแม่ว่าอย่าห่วง"
n=0
while crew 3 send --crew 3 --to 1 "$long" > last.txt 2>&1; do n=$((n + 1)); done
note "$n more texts were queued; then vesselctl said:"
fold -s -w 74 last.txt | sed 's/^/   > /'

say "9. Aung Ko files a complaint: only the labour inspectorate can read it"
crew 1 complain --crew 1 --category documents "The captain keeps our passports and we have not been paid for four months." | sed 's/^/   /'
note "It is sealed on board to the inspectorate's key: the captain cannot read it,"
note "it does not count against the allowance, and it goes before all texts."

say "10. Sokha sends an SOS"
crew 2 sos --crew 2 "Man overboard near the port side" | sed 's/^/   /'

say "11. Over the satellite: waiting until every text is delivered"
delivered() {
    for c in 1 2 3; do
        if crew "$c" --json status --crew "$c" |
            grep -q '"kind":"text","to":"[^"]*","state":"\(queued\|sent\|accepted\)"'; then
            return 1
        fi
    done
}
wait_for 90 "delivery over the satellite link" delivered
crew 1 status --crew 1 | sed 's/^/   /'

say "12. The families' side: the spool holds one file per delivered text"
ls spool/1042/ | sed 's/^/   spool\/1042\//'
note "e.g. spool/1042/4.json: $(grep -o '"to":"[^"]*"' spool/1042/4.json) $(grep -o '"text":"[^"]*"' spool/1042/4.json)"

say "13. Ashore, the operator sees what arrived; the complaint stays sealed"
sctl messages list --vessel 1042 | sed 's/^/   /'

say "14. The labour inspector opens the complaint on their own computer"
has_case() { sctl cases list | grep -q "msg"; }
wait_for 60 "the case ashore" has_case
sctl cases list | sed 's/^/   /'
"$B/lifeline-inspect" --socket "$D/shored.sock" open 1042/$(sctl --json cases list |
    sed -n 's/.*"msg_id":\([0-9]*\).*/\1/p' | head -1) --key inspectorate.secret | sed 's/^/   /'
note "(only the inspectorate's secret key opens it; shored never sees that key)"

say "15. The inspector updates the case twice; a family member replies"
CASE=1042/$(sctl --json cases list | sed -n 's/.*"msg_id":\([0-9]*\).*/\1/p' | head -1)
"$B/lifeline-inspect" --socket "$D/shored.sock" update "$CASE" --status assigned | sed 's/^/   /'
"$B/lifeline-inspect" --socket "$D/shored.sock" update "$CASE" --status investigating \
    --note "An inspector will meet the vessel at Songkhla." --note-for-crew | sed 's/^/   /'
sctl reply --vessel 1042 --crew 1 --contact 1 "ငါတို့ နေကောင်းပါတယ်။ ဂရုစိုက်ပါ။" | sed 's/^/   /'

say "16. On board, Aung Ko reads the reply and both case updates"
inbox_full() {
    crew 1 --json inbox --crew 1 > inbox.json &&
    grep -q '"kind":"reply"' inbox.json && grep -q 'investigating' inbox.json &&
    grep -q 'assigned' inbox.json
}
wait_for 60 "the reply and the case updates to reach the vessel" inbox_full
crew 1 inbox --crew 1 | sed 's/^/   /'

say "17. The captain's view: every crew member's allowance this month"
vctl quota --all | sed 's/^/   /'

say "18. The owner's proof: a compliance statement signed by the shore"
MONTH=$(TZ=Asia/Bangkok date +%Y-%m)
sctl statement --vessel 1042 --month "$MONTH" --out statement.lldoc | tail -1 | sed 's/^/   /'
note "Anyone can check it offline, with no database, against the shore's public key:"
"$B/lifeline-verify" statement.lldoc --shore-key shore.public | sed 's/^/   /'

OK=1
say "Done: everything stopped, nothing left behind."
