# The lockout an unclean exit leaves ends when the motor has cooled, even
# though nothing runs meanwhile: with a 2 s thermal time constant a start
# is refused at once and taken 4 s later (it was refused for good before,
# since nothing brought the idle thermal model up to date).
. "$(dirname "$0")/lib.sh"
conf "[Safety]" "ThermalTauSec=2"
start_daemon
start_at 45
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
start_daemon
grep -q "did not end cleanly" "$LOG" || fail "unclean exit not noticed"
out=$(ctl start 45 1000) && fail "started a hot motor"
echo "$out" | grep -q EAGAIN || fail "refusal: $out"
sleep 4
ctl contact 1 3000 >/dev/null
out=$(ctl start 45 1000) || fail "still locked out after cooling: $out"
wait_for state running 2
echo "  refused at restart, started 4 s later (tau 2 s)"
stop_daemon
