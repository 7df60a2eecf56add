# Every program we ship starts on the simulated massager (its frequencies
# in the band, its intensities enough to reach them) and stops cleanly.
. "$(dirname "$0")/lib.sh"
export MASSAGED_PROGRAMS_PATH="$TOP/programs"
start_bus
start_bus_daemon
n=0
for f in "$TOP"/programs/*.program; do
	p=$(basename "$f" .program)
	bcall StartProgram sa{sv} "$p" 1 outlive_client b true >/dev/null ||
		fail "$p: $(bcall StartProgram sa{sv} "$p" 1 outlive_client b true 2>&1)"
	bcall Stop >/dev/null || fail "stop $p"
	wait_prop State idle 3
	n=$((n + 1))
done
echo "  $n shipped programs started and stopped"
stop_daemon
