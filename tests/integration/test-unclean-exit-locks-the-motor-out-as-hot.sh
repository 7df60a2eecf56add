# Killed while driving: the next start treats the motor as hot (thermal
# lockout) and refuses to start it; a clean exit leaves no such mark.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
start_daemon
grep -q "did not end cleanly" "$LOG" || fail "unclean exit not noticed"
out=$(ctl start 45 1000) && fail "started a hot motor"
echo "$out" | grep -q EAGAIN || fail "refusal: $out"
assert_motor_off "after the refused start"
stop_daemon
[ -e "$T/running" ] && fail "clean exit left the mark"
start_daemon
grep -q "did not end cleanly" "$LOG" && fail "clean exit taken for unclean"
echo "  killed while driving -> next start refused: $(echo "$out" | head -1)"
stop_daemon
