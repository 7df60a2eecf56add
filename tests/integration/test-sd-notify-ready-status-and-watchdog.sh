# systemd: READY=1 once, STATUS= in words, WATCHDOG=1 while idle and while
# running, none while the control loop hangs, STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
"$MASSAGED_CTL" --listen "$T/notify" $((8 * SLOW)) >"$T/notes" &
LISTENER=$!
sleep 0.2
export NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=400000
start_daemon
sleep 1				# idle: the thread blocks, yet pings go on
start_at 45
sleep 0.5
ctl freeze 1 >/dev/null
t0=$(awk '{ print int($1) }' /proc/uptime)
sleep 1
wait_for state fault 1
ctl freeze 0 >/dev/null
sleep 0.5
assert_motor_off "after the hang"
stop_daemon
wait "$LISTENER"
unset NOTIFY_SOCKET WATCHDOG_USEC

[ "$(grep -c ' READY=1$' "$T/notes")" = 1 ] || fail "READY=1 not exactly once"
grep -q ' STATUS=Ready: simulation:0, motor off' "$T/notes" || fail "no ready STATUS"
grep -q ' STATUS=Running at 45.0 Hz' "$T/notes" || fail "no running STATUS"
grep -q ' STATUS=Stopped: the control loop stopped reporting' "$T/notes" ||
	fail "no hang STATUS: $(grep STATUS "$T/notes")"
grep -q ' STOPPING=1$' "$T/notes" || fail "no STOPPING=1"
# The longest gap between pings: ~100 ms normally, > 400 ms during the hang.
gaps=$(awk '/ WATCHDOG=1$/ { if (p) { g = $1 - p; if (g > max) max = g } p = $1; n++ }
	END { print n, max }' "$T/notes")
n=${gaps% *}
max=${gaps#* }
[ "$n" -ge 20 ] || fail "only $n WATCHDOG=1"
[ "$max" -ge 400 ] || fail "WATCHDOG=1 went on during the hang (longest gap $max ms)"
echo "  READY=1 once, $n WATCHDOG=1 pings, longest gap $max ms (the 1 s hang)"
