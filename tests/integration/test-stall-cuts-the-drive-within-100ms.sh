# A blocked rotor: the drive is off within 100 ms, and stays off.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
t0=$(ctl_t stall 1)
wait_for state fault 2
off=$(get drive_off_ns)
[ "$off" -gt 0 ] || fail "no drive-off time"
ms=$(ms_between "$t0" "$off")
echo "  stall -> drive off after $ms ms ($(get fault_reason))"
awk -v m="$ms" 'BEGIN { exit !(m <= 100) }' || fail "drive off after $ms ms (> 100 ms)"
assert_motor_off "after stall"
ctl stall 0 >/dev/null
sleep 0.3
assert_eq "$(get state)" fault "latched after the stall cleared"
assert_motor_off "after the stall cleared"
ctl start 45 >/dev/null && fail "started while latched"
stop_daemon
