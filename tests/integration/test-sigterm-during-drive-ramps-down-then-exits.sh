# SIGTERM while driving: soft stop, motor off, exit status 0.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ $rc -eq 0 ] || fail "exit status $rc"
grep -q "Received Terminated" "$LOG" || fail "no SIGTERM log"
grep -q "Motor off; exiting" "$LOG" || fail "did not stop the motor"
grep -q "cutting the drive" "$LOG" && fail "soft stop timed out"
echo "  SIGTERM at 45 Hz: soft stop, motor off, exit 0"
