# SetIntensity during a session reaches the motor at once: pressed hard
# on the body the loop drives near full; a lower ceiling brings the duty
# down to it within a few periods, without restarting the soft start.
# Below what the frequency needs it is refused and nothing changes.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
bcall StartManual duta{sv} 45 1000 20000000 1 outlive_client b true >/dev/null ||
	fail "start"
wait_for state running 2
sleep 1
ctl contact 1 6000 >/dev/null
sleep 1
d=$(get duty_permille)
[ "$d" -gt 800 ] || fail "pressed at 6 N the drive is only $d per mille"
bcall SetIntensity u 800 || fail "SetIntensity 800"
sleep 0.3
d2=$(get duty_permille)
echo "  duty pressed: $d per mille; 300 ms after SetIntensity(800): $d2"
[ "$d2" -le 800 ] || fail "the drive is at $d2 per mille after SetIntensity(800)"
assert_eq "$(bget Intensity)" 800 "Intensity"
berr OutOfBand SetIntensity 300
assert_eq "$(bget Intensity)" 800 "Intensity after a refused call"
bcall Stop || fail "stop"
stop_daemon
