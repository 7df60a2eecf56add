# A blocked rotor: the drive is off within 100 ms, and stays off.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
t0=$(ctl_t stall 1)
wait_for state fault 2
# when the simulated motor's drive went off, not when the daemon says so
off=$(get sim_drive_off_ns)
[ "$off" -gt "$t0" ] || fail "the simulated motor was not switched off after the stall"
ms=$(ms_between "$t0" "$off")
echo "  stall -> drive off after $ms ms ($(get fault_reason); the daemon says $(ms_between "$t0" "$(get drive_off_ns)") ms)"
awk -v m="$ms" 'BEGIN { exit !(m <= 100) }' || fail "drive off after $ms ms (> 100 ms)"
assert_motor_off "after stall"
ctl stall 0 >/dev/null
sleep 0.3
assert_eq "$(get state)" fault "latched after the stall cleared"
assert_motor_off "after the stall cleared"
ctl start 45 >/dev/null && fail "started while latched"
stop_daemon
