# SIGTERM while driving: soft stop, motor off, exit status 0. The ramp is
# checked on the simulated motor itself (its applied duty over time, kept
# by the simulation backend apart from what the daemon reports): it falls
# gradually from the running duty to 0, no faster than the soft stop
# allows, and stays off until the daemon has gone.
. "$(dirname "$0")/lib.sh"
export MASSAGED_SIM_DRIVE_TRACE=$T/drive
start_daemon
start_at 45
sleep 0.3
t_term=$(get now_ns)
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ $rc -eq 0 ] || fail "exit status $rc"
grep -q "Received Terminated" "$LOG" || fail "no SIGTERM log"
grep -q "Motor off; exiting" "$LOG" || fail "did not stop the motor"
grep -q "cutting the drive" "$LOG" && fail "soft stop timed out"
[ -s "$T/drive" ] || fail "the simulation wrote no drive trace"
# lib/controller: soft_stop_s = 0.3, full drive (1000 per mille) to 0 in
# that time; the daemon cuts the drive if the ramp takes over 2 s.
out=$(awk -v t0="$t_term" -v full_ms=300 '
	$1 < t0 { d0 = $2; next }
	off { if ($2 > 0) { print "driven again at " ($1 - t0) / 1e6 " ms: " $2; bad = 1 } next }
	$2 == 0 { off = $1; next }
	{
		n++
		# once it is falling (under 90 % of the running duty) it only falls
		if (falling && $2 > last) { print "rose from " last " to " $2 " per mille while ramping down"; bad = 1 }
		if ($2 < d0 * 0.9) falling = 1
		last = $2
	}
	END {
		if (bad) exit 1
		if (!off) { print "the motor was never switched off"; exit 1 }
		ms = (off - t0) / 1e6
		want = d0 / 1000 * full_ms * 0.5
		printf "from %d per mille to 0 in %.1f ms through %d steps, last %d per mille\n", d0, ms, n, last
		if (d0 < 100) { print "running duty too low to see a ramp"; exit 1 }
		if (ms < want) { printf "off after %.1f ms, want >= %.1f ms: not a ramp\n", ms, want; exit 1 }
		if (ms > 2000) { printf "off after %.1f ms, over the 2 s ramp limit\n", ms; exit 1 }
		if (n < 5) { printf "%d intermediate duties: a cut, not a ramp\n", n; exit 1 }
		if (last > d0 / 4) { printf "cut from %d per mille\n", last; exit 1 }
	}' "$T/drive") || fail "drive after SIGTERM: $out"
echo "  SIGTERM at 45 Hz: $out; exit 0"
