# kill -9 of the daemon mid-session: at the next start the session is in
# the history as interrupted, nothing vibrates, and nothing restarts.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
id=$(bcall StartManual duta{sv} 45 800 30000000 1 outlive_client b true |
	cut -d' ' -f2)
wait_prop State running 1
sleep 1.5
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
start_bus_daemon
assert_eq "$(history_outcome "$id")" interrupted "outcome"
assert_eq "$(bget State)" idle "state after restart"
sleep 1
assert_motor_off "after restart"
assert_eq "$(bget State)" idle "state 1 s after restart"
grep -q "recorded as interrupted" "$LOG" || fail "no log line"
stop_daemon
