# An e-stop latched when the massager is unplugged is still latched when
# it (or another) comes back: a person must reset before it runs again.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
ctl estop 1 >/dev/null
wait_for state estop 2
ctl remove >/dev/null
wait_for state no-device 2
ctl replug >/dev/null
wait_for state estop 2
assert_motor_off "after replug"
ctl start 45 1000 >/dev/null && fail "started without a reset"
ctl reset >/dev/null || fail "reset: $(ctl reset)"
assert_eq "$(get state)" idle "after reset"
start_at 45
stop_daemon
