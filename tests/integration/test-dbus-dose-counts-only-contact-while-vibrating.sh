# Dose is counted only while the head is on a body and vibrating: 5 s of
# vibration after a 1 s ramp, pressed from about 2 s on, records about
# 3.8 s of contact (not the ramp, not the free-air second), and m/s^2 x s
# that matches the measured amplitude (~15 m/s^2 pressed at 45 Hz).
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 0 >/dev/null
id=$(bcall StartManual duta{sv} 45 1000 5000000 1 outlive_client b true |
	cut -d' ' -f2)
wait_for state running 2
sleep 2
ctl contact 1 6000 >/dev/null
wait_for in_contact 1 2
wait_prop State idle 6
row=$(bcall ListSessions tu 0 1)
echo "  $row"
set -- $row
# a(tssttstdii) 1 ID "manual" "" start end "completed" contact dose -1 -1
assert_eq "$8" '"completed"' "outcome"
awk -v c="$9" -v d="${10}" 'BEGIN { c /= 1e6;
	exit !(c > 2.8 && c < 4.5 && d > 5 * c && d < 40 * c) }' ||
	fail "contact ${9} us, dose ${10}: expected ~3.8 s and 5-40 m/s^2 x s per s"
stop_daemon
