# A light press (1.5 N) at 45 Hz moves the head's amplitude by a few per
# cent only; it is contact all the same (from the load on the rotor): the
# session records its contact time and dose, and lifting the pad off
# pauses it.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 0 >/dev/null
id=$(bcall StartManual duta{sv} 45 1000 20000000 1 outlive_client b true |
	cut -d' ' -f2)
wait_for state running 2
sleep 1.5
assert_eq "$(bget Contact)" false "in free air"
ctl contact 1 1500 >/dev/null
wait_prop Contact true 1
sleep 3
assert_eq "$(bget Contact)" true "still pressed"
ctl contact 0 >/dev/null
wait_prop State paused 1
# The pause says why, on the bus as well as in the Fault signal.
assert_eq "$(bget FaultReason)" "head lifted off the body" "FaultReason"
assert_eq "$(bget FaultText)" "head lifted off the body" "FaultText"
sleep 0.5
assert_motor_off "lifted off"
bcall Stop >/dev/null || fail "Stop"
wait_prop State idle 3
row=$(bcall ListSessions tu 0 1)
echo "  $row"
set -- $row
# a(tssttstdii) 1 ID "manual" "" start end outcome contact dose -1 -1
assert_eq "$3" "$id" "session id"
awk -v c="$9" -v d="${10}" 'BEGIN { c /= 1e6;
	exit !(c > 2.5 && c < 4 && d > 5 * c && d < 40 * c) }' ||
	fail "contact ${9} us, dose ${10}: expected ~3 s and 5-40 m/s^2 x s per s"
stop_daemon
