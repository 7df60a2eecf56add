# massagectl against the real daemon on a private bus: status, programs,
# a program run with --wait to its end, history and export, the queue,
# a refusal shown as the daemon's text with exit 1, and exit 4 for a
# caller outside the group.
. "$(dirname "$0")/lib.sh"
program short '[Program]' 'Name=Short' 'Source=test' \
	'[Step]' 'Technique=vibration' 'Site=upper trapezius, left' \
	'Frequency=45' 'Intensity=90%' 'Duration=1s' 'Advance=pause' \
	'AdvancePause=500ms' \
	'[Step]' 'Technique=vibration' 'Site=upper trapezius, right' \
	'Frequency=45' 'Intensity=90%' 'Duration=1s'
mc() { "$MASSAGECTL" "$@"; }
start_bus
start_bus_daemon
ctl contact 1 6000 >/dev/null
mc status | grep -q "State: idle" || fail "status: $(mc status)"
mc programs | grep -q "^short " || fail "programs: $(mc programs)"
mc show-program short | grep -q "upper trapezius, right" || fail "show-program"
out=$(mc start short --patient="Ann Example" --pain-before=5 --wait 2>&1) ||
	fail "start --wait: $out"
echo "$out" | grep -q "completed" || fail "start --wait did not report completion: $out"
wait_prop State idle 2
wait_for duty_permille 0 1
mc history --no-legend | grep -q "short .*Ann Example .*completed" ||
	fail "history: $(mc history)"
mc history show 1 | grep -q "upper trapezius, right" || fail "history show"
mc export json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["sessions"][0]["outcome"] == "completed"' ||
	fail "export json"
mc pain 1 after 2 || fail "pain"
# a refusal: the daemon's text, exit 1, nothing moves
out=$(mc vibrate 120 2>&1)
rc=$?
assert_eq "$rc" 1 "exit code of a refused call"
echo "$out" | grep -q "contraction band" || fail "refusal text: $out"
assert_motor_off "after the refusal"
# the queue waits for a person
mc queue add short --patient="Bo" >/dev/null || fail "queue add"
assert_eq "$(bget State)" ready "after queue add"
mc continue || fail "continue"
wait_prop State running 2
mc stop || fail "stop"
wait_prop State idle 2
# outside the group: exit 4; reading still works (a copy nobody can reach)
nobody_mc=$(for_nobody "$MASSAGECTL") || exit 1
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env MASSAGECTL_BUS_ADDRESS="$MASSAGECTL_BUS_ADDRESS" "$nobody_mc" stop 2>&1)
assert_eq "$?" 4 "exit code outside the group ($out)"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env MASSAGECTL_BUS_ADDRESS="$MASSAGECTL_BUS_ADDRESS" "$nobody_mc" status >/dev/null ||
	fail "nobody cannot read the status"
stop_daemon
