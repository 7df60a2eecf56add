# A session belongs to the client that started it: when that client's
# connection goes, the drive ramps down and the session is recorded as
# stopped. One started with outlive_client=true keeps going.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
# busctl's connection ends right after the reply
id=$(bcall StartManual duta{sv} 45 800 30000000 0 | cut -d' ' -f2)
wait_prop State idle 2
assert_eq "$(history_outcome "$id")" stopped "outcome after disconnect"
grep -q "its client disconnected" "$LOG" || fail "no log line"
id=$(bcall StartManual duta{sv} 45 800 30000000 1 outlive_client b true |
	cut -d' ' -f2)
sleep 1
assert_eq "$(bget State)" running "an outliving session"
bcall Stop || fail "stop"
wait_prop State idle 2
assert_eq "$(history_outcome "$id")" stopped "outcome after Stop"
stop_daemon
