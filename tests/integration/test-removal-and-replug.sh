# Unplugged while driving: no device, motor off; replugged: found again,
# idle, and the motor does not restart by itself.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
ctl remove >/dev/null
wait_for state no-device 2
case "$(get status)" in "No massager found"*) ;; *) fail "status: $(get status)" ;; esac
ctl start 45 >/dev/null && fail "started without a device"
ctl replug >/dev/null
wait_for state idle 2
sleep 0.3
assert_motor_off "after replug"
assert_eq "$(get true_freq_hz)" 0.000 "rotor after replug"
start_at 45
stop_daemon
