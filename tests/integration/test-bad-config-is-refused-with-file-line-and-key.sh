# A bad configuration stops the daemon before it touches the device, and
# the message names the file, the line and the key.
. "$(dirname "$0")/lib.sh"
check() {
	printf '%s\n' "$1" >"$T/bad.conf"
	if "$MASSAGED" --simulate --config "$T/bad.conf" >"$LOG" 2>&1; then
		fail "accepted: $1"
	fi
	grep -q "$2" "$LOG" || fail "message for '$1' lacks '$2': $(cat "$LOG")"
}
check "[Safety]
MaxFrequency=120" "bad.conf:2: MaxFrequency=120"
check "[Safety]
MaxFrequency=55
MinFrequency=58" "MinFrequency"
check "[Control]
Priority=abc" "bad.conf:2: Priority=abc"
check "[Control]
Bogus=1" "bad.conf:2: unknown key Bogus"
check "Priority=1" "bad.conf:1: Priority= appears before"
check "[Nope]" "bad.conf:1: unknown section"
check "[Safety]
LostContact=maybe" "bad.conf:2: LostContact=maybe"
check "[History]
KeepDays=30d" "bad.conf:2: KeepDays=30d is not a whole number"
check "[History]
KeepDays=36501" "bad.conf:2: KeepDays=36501 is outside 0..36500"
check "[History]
KeepDays=-1" "bad.conf:2: KeepDays=-1"
# At or above the kernel threads that finish a motor stop (SCHED_FIFO 50).
check "[Control]
Priority=50" "bad.conf:2: Priority=50 is at or above 50, the priority of the kernel threads"
check "[Control]
Priority=99" "Use 1..49"
"$MASSAGED" --priority 0 --simulate >"$LOG" 2>&1 && fail "accepted --priority 0"
grep -q "priority" "$LOG" || fail "no message for --priority 0"
"$MASSAGED" --priority 60 --simulate >"$LOG" 2>&1 && fail "accepted --priority 60"
grep -q "at or above 50" "$LOG" || fail "no message for --priority 60: $(cat "$LOG")"
echo "  12 bad files and 2 bad options refused with file:line: key"
