# Head lifted off the body: pause; back on the body: still paused until
# a person resumes.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
ctl contact 1 6000 >/dev/null
wait_for in_contact 1 2
ctl contact 0 >/dev/null
wait_for state paused 2
sleep 0.5
assert_motor_off "paused"
ctl contact 1 6000 >/dev/null
sleep 0.5
assert_eq "$(get state)" paused "after contact returned"
assert_motor_off "after contact returned"
ctl resume >/dev/null || fail "resume: $(ctl resume)"
wait_for state running 1
stop_daemon
