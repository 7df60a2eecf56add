# massagectl monitor writing into a pipe (a log, not a terminal) prints a
# line when the state changes and otherwise one a second, not one per
# update (about ten a second while the motor runs), and shows the end at
# once; on a terminal it still redraws at every update.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
mkfifo "$T/pipe"
cat "$T/pipe" >"$T/lines" &
CAT=$!
"$MASSAGECTL" monitor >"$T/pipe" &
MON=$!
dbus-monitor --system "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
	>"$T/signals" 2>&1 &
DMON=$!
sleep 0.5
t0=$(date +%s%N)
bcall StartManual duta{sv} 45 800 5000000 1 outlive_client b true >/dev/null ||
	fail "start"
wait_prop State running 2
# a terminal (script(1) gives it one): 15 updates come within 1.5-2 s
tty_t0=$(date +%s%N)
timeout 10 script -qec "$MASSAGECTL monitor -n 15" /dev/null >/dev/null ||
	fail "monitor on a terminal did not see 15 updates within 10 s"
tty_ms=$(( ($(date +%s%N) - tty_t0) / 1000000 ))
wait_prop State idle 10
sleep 1.5
t1=$(date +%s%N)
kill -INT "$MON"
wait "$MON"
assert_eq "$?" 0 "monitor's exit status after SIGINT"
wait "$CAT"
kill "$DMON"
secs=$(( (t1 - t0 + 999999999) / 1000000000 ))
lines=$(grep -c ' Hz ' "$T/lines")
updates=$(grep -c '"Frequency"' "$T/signals")
# the lines whose state differs from the line before
changes=$(grep ' Hz ' "$T/lines" | awk '$1 != last { n++ } { last = $1 } END { print n - 1 }')
last=$(grep ' Hz ' "$T/lines" | tail -1 | awk '{ print $1 }')
echo "  pipe: $lines lines in ${secs} s ($changes state changes) for $updates updates; terminal: 15 updates in $tty_ms ms"
# one line a second, one for the state when it started, one per change
[ "$lines" -le $((secs + 1 + changes)) ] ||
	fail "$lines lines in $secs s with $changes state changes: $(cat "$T/lines")"
# ... and a line each second while running (5 s): not only the changes
[ "$lines" -ge $((4 + changes)) ] ||
	fail "only $lines lines while it ran for 5 s: $(cat "$T/lines")"
[ "$updates" -ge $((2 * lines)) ] ||
	fail "the daemon sent only $updates updates for $lines lines: nothing was held back"
assert_eq "$last" idle "the state on the last line"
[ "$tty_ms" -lt 4000 ] || fail "15 updates on a terminal took $tty_ms ms"
stop_daemon
