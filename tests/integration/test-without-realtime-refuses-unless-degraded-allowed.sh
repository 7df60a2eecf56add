# Without permission for SCHED_FIFO and mlock the daemon refuses to run,
# unless AllowDegraded=yes, and then says so in STATUS=.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "  skipped: needs root to drop privileges"; exit 0; }
# No function: "$!" must be the daemon's pid, not a subshell's.
as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all"
# nobody runs a copy: the checkout may be closed to other users.
MASSAGED=$(for_nobody "$MASSAGED") || exit 1

cp "$(dirname "$0")/sim-calibration" "$T/calibration"
chown -R nobody "$T"
if STATE_DIRECTORY=$T $as_nobody sh -c 'ulimit -l 64; ulimit -r 0; exec "$0" "$@"' \
	"$MASSAGED" --simulate --config /dev/null >"$LOG" 2>&1; then
	fail "ran without real-time permissions"
fi
grep -q "AllowDegraded=yes" "$LOG" || fail "no hint at AllowDegraded (mlock)"
# Memory may be locked, SCHED_FIFO is refused: still no. (Raising the
# memlock limit needs CAP_SYS_RESOURCE, which some containers drop.)
if sh -c 'ulimit -l unlimited' 2>/dev/null; then
	if STATE_DIRECTORY=$T sh -c 'ulimit -l unlimited; ulimit -r 0; exec "$@"' - \
		$as_nobody "$MASSAGED" --simulate --config /dev/null >"$LOG" 2>&1; then
		fail "ran without SCHED_FIFO"
	fi
	grep -q "SCHED_FIFO priority 40: Operation not permitted" "$LOG" ||
		fail "no SCHED_FIFO message: $(cat "$LOG")"
else
	echo "  (no CAP_SYS_RESOURCE here: the SCHED_FIFO-only case is not run)"
fi
STATE_DIRECTORY=$T $as_nobody sh -c 'ulimit -l 64; ulimit -r 0; exec "$0" "$@"' \
	"$MASSAGED" --simulate --config /dev/null --allow-degraded \
	--control-socket "$SOCK" >"$LOG" 2>&1 &
PID=$!
wait_for state idle 5
case "$(get status)" in *DEGRADED*) ;; *) fail "status does not say degraded: $(get status)" ;; esac
assert_eq "$(get realtime)" no "realtime"
stop_daemon
echo "  refused without SCHED_FIFO/mlock; degraded run says so"
