# A start while the rotor still coasts down from the calibration's full
# drive, with the pad already pressed onto the body (make demo starts so,
# right after the first calibration): the press brakes the rotor before
# the drive takes hold. That is a loaded start, not a stall.
. "$(dirname "$0")/lib.sh"
start_daemon
# Calibration ends at full drive and cuts it: the rotor coasts down from
# ~68 Hz, above the target.
ctl contact 0 >/dev/null || fail "contact"
ctl calibrate >/dev/null || fail "calibrate: $(ctl calibrate)"
wait_for state calibrating 2
wait_for state idle 30
coast=$(get true_freq_hz)
ctl contact 1 6000 >/dev/null || fail "press"
ctl start 45 1000 >/dev/null || fail "start again: $(ctl start 45 1000)"
echo "  started again at 6 N with the rotor coasting at $coast Hz"
i=0
until awk -v f="$(get true_freq_hz)" 'BEGIN { exit !(f > 44.5 && f < 45.5) }'; do
	i=$((i + 1))
	[ $i -lt $((60 * SLOW)) ] ||
		fail "not at 45 Hz 3 s after the start: state $(get state), $(get fault) rotor $(get true_freq_hz) Hz"
	sleep 0.05
done
assert_eq "$(get state)" running "state"
stop_daemon
