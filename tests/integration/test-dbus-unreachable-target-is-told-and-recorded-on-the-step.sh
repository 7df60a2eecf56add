# 60 Hz under a firm 6 N press is beyond the simulated motor (full drive
# gives ~51 Hz there): within a second the session says so on the bus
# (HeldFrequency, HeldReason), goes on at the frequency held, and the
# history has the 'unreachable' event and the step's held frequency;
# massagectl status shows it.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 6000 >/dev/null
id=$(bcall StartManual duta{sv} 60 1000 6000000 1 outlive_client b true |
	cut -d' ' -f2)
wait_for state running 2
i=0
while :; do
	held=$(bget HeldFrequency)
	awk -v h="$held" 'BEGIN { exit !(h > 0) }' && break
	[ $i -lt $((60 * SLOW)) ] || fail "HeldFrequency still $held after 3 s"
	sleep 0.05
	i=$((i + 1))
done
echo "  held $held Hz: $(bget HeldReason)"
awk -v h="$held" 'BEGIN { exit !(h > 40 && h < 58) }' ||
	fail "HeldFrequency $held: expected the ~51 Hz the motor reaches"
[ -n "$(bget HeldReason)" ] || fail "HeldReason is empty"
assert_eq "$(bget State)" running "an in-band held frequency goes on"
status=$("$MASSAGECTL" status) || fail "massagectl status failed"
echo "$status" | grep -q 'Held.*not the target' ||
	fail "massagectl status does not show the held frequency: $status"
wait_prop State idle 8
json=$(bcall ExportHistory st json 0)
echo "$json" | grep -q 'unreachable' ||
	fail "no 'unreachable' event in the history: $json"
echo "$json" | grep -q 'held_frequency_hz' ||
	fail "no held frequency on the step: $json"
stop_daemon
