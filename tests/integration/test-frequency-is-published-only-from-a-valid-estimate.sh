# The measured frequency is a reading only when the estimator stands
# behind it: while it warms up (calibration's first steps, every start)
# or the vibration is too weak or noisy, the bus's Frequency and the
# control socket's freq_hz are 0, never the number the estimator happens
# to hold (254 Hz from a rotor at 14 Hz).
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
max=$(sed -n 's/.*Loaded the calibration .*(up to \([0-9.]*\) Hz).*/\1/p' "$LOG")
[ -n "$max" ] || fail "no calibrated maximum in the log"
dbus-monitor --system "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
	>"$T/monitor" 2>&1 &
MON=$!
sleep 0.5
# snap: one status a line, from the same telemetry record
snap() {
	ctl status | awk -F= '/^(state|freq_hz|duty_permille|est_flags)=/ {
		printf "%s=%s ", $1, $2 } END { print "" }'
}
ctl calibrate >/dev/null || fail "calibrate"
i=0
: >"$T/status"
while [ $i -lt $((2000 * SLOW)) ]; do
	s=$(snap)
	echo "$s" >>"$T/status"
	i=$((i + 1))
	case $s in *state=idle*) [ $i -gt 5 ] && break ;; esac
done
wait_for state idle 15
ctl contact 1 3000 >/dev/null
for f in 47.5 30 47.5; do
	ctl start $f 1000 >/dev/null || fail "start $f"
	i=0
	while [ $i -lt 60 ]; do snap; i=$((i + 1)); done >>"$T/status"
	ctl stop >/dev/null
	wait_for state idle 5
done
kill "$MON"
# The control socket: a nonzero freq_hz only with est_flags 0.
bad=$(grep -v 'est_flags=0x0 ' "$T/status" | grep -v 'freq_hz=0.000 ' | head -3)
[ -z "$bad" ] || fail "freq_hz published from an invalid estimate: $bad"
invalid=$(grep 'duty_permille=[1-9]' "$T/status" | grep -vc 'est_flags=0x0 ')
valid=$(grep 'est_flags=0x0 ' "$T/status" | grep -vc 'freq_hz=0.000 ')
# The bus: never a frequency the motor cannot make.
awk '/string "Frequency"/ { getline; print $3 }' "$T/monitor" >"$T/freqs"
n=$(wc -l <"$T/freqs")
hi=$(sort -g "$T/freqs" | tail -n 1)
echo "  driving with an invalid estimate in $invalid snapshots, valid in $valid; Frequency signalled $n times, highest $hi Hz (motor's maximum $max Hz)"
[ "$invalid" -ge 5 ] || fail "only $invalid snapshots with the drive on and no valid estimate: the test saw too little"
[ "$valid" -ge 20 ] || fail "only $valid valid readings"
[ "$n" -ge 10 ] || fail "only $n Frequency signals"
awk -v h="$hi" -v m="$max" 'BEGIN { exit !(h <= m * 1.05) }' ||
	fail "Frequency $hi Hz signalled, above the motor's $max Hz"
stop_daemon
