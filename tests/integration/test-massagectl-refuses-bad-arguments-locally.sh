#!/bin/sh
# SPDX-License-Identifier: MIT
# massagectl parses its whole command line before it touches the bus: a
# bad argument exits 2 with a message naming it, even where no bus
# exists, so nothing half-parsed ever reaches the daemon. With a bus but
# no massaged on it, or no bus at all, it exits 3 and says so.
. "$(dirname "$0")/lib.sh"

[ -x "$MASSAGECTL" ] || fail "no massagectl at $MASSAGECTL (make first)"

# expect STATUS MESSAGE-PATTERN ARGS...: exit status and a line on stderr
expect() {
	want=$1 pattern=$2
	shift 2
	"$MASSAGECTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" = "$want" ] ||
		fail "massagectl $*: exit $rc, expected $want; stderr: $(cat "$T/err")"
	grep -q -- "$pattern" "$T/err" ||
		fail "massagectl $*: stderr lacks '$pattern': $(cat "$T/err")"
}

# No bus at this address: arguments are still judged first.
export MASSAGECTL_BUS_ADDRESS="unix:path=$T/no-bus"

expect 2 'Unknown command "frob"' frob
expect 2 'Unknown option --bogus' --bogus status
expect 2 'Too many arguments for "status"' status extra
expect 2 'Too few arguments for "start"' start
expect 2 'Invalid frequency "fast"' vibrate fast --intensity=500
expect 2 'vibrate needs an intensity above 0' vibrate 45 --intensity=0
expect 2 'Out of range --intensity "1200"' vibrate 45 --intensity=1200
expect 2 'Invalid --duration "5 parsecs"' vibrate 45 --intensity=50% \
	'--duration=5 parsecs'
expect 2 'Out of range intensity "150%"' set-intensity 150%
expect 2 'Out of range --pain-before "11"' start neck-set --pain-before=11
expect 2 '--keep only makes sense with --wait' start neck-set --keep
expect 2 'Invalid --course "x"' start neck-set --course=x
expect 2 'Out of range session "0"' pain 0 before 3
expect 2 'Invalid moment "during"' pain 12 during 3
expect 2 'Too few arguments for "erase-patient"' erase-patient
expect 2 'erase-patient needs the patient' erase-patient ''
expect 2 '--yes and --dry-run contradict' erase-patient P --yes --dry-run
# destroying records needs a person at a terminal, or --yes
expect 2 'or pass --yes' erase-patient "Ann Example" </dev/null
expect 2 'Out of range pain score "11"' pain 12 after 11
expect 2 'Out of range time "25:00"' plan add neck-set 25:00
expect 2 'Invalid time "soon"' plan add neck-set soon
expect 2 'Invalid queue entry "first"' queue remove first
expect 2 'Unknown command "queue flush"' queue flush
expect 2 'course create needs --sessions' course create P neck-set --every=2
expect 2 'course create needs --every' course create P neck-set --sessions=10
expect 2 'Invalid course "x"' course dose x
expect 2 'Invalid format "xml"' export xml
expect 2 'Invalid --since "someday"' history --since=someday
expect 2 'Too few arguments for "history show"' history show
expect 2 'Out of range --count "0"' monitor -n 0

# No bus at all: not reachable.
expect 3 'Failed to connect to the bus' status
expect 3 'Failed to connect to the bus' vibrate 45 --intensity=50%

# A bus without massaged on it: not reachable either, and it says why.
start_bus
export MASSAGECTL_BUS_ADDRESS="unix:path=$T/bus"

expect 3 'massaged is not running' status
expect 3 'massaged is not running' stop
expect 3 'massaged is not running' start neck-set --patient=P
expect 3 'massaged is not running' monitor --once
# --bus= wins over the environment.
expect 3 'Failed to connect to the bus' --bus="unix:path=$T/no-bus" status

# And a good command line with --help needs no bus.
"$MASSAGECTL" --help >/dev/null || fail "--help failed"
exit 0
