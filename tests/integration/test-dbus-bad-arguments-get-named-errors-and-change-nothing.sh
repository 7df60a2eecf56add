# Every method with bad arguments: each gets its named error with a text
# that says what was wrong, and afterwards nothing has changed: idle,
# motor off, no session recorded, nothing queued, planned or coursed.
. "$(dirname "$0")/lib.sh"
program short '[Program]' 'Name=Short' 'Source=test' '[Step]' 'Technique=vibration' \
	'Site=upper trapezius, left' 'Frequency=45' 'Intensity=90%' \
	'Duration=2s'
program weak '[Program]' 'Name=Weak' 'Source=test' '[Step]' 'Technique=vibration' \
	'Site=a' 'Frequency=45' 'Intensity=90%' 'Duration=2s' \
	'[Step]' 'Technique=vibration' 'Site=b' 'Frequency=40' 'Intensity=20%' 'Duration=2s'
program broken '[Program]' 'Name=Broken' '[Step]' 'Technique=vibration' 'Frequency=120'
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null

berr OutOfBand StartManual 120.0 800 3000000 '{}'
berr OutOfBand StartManual 85.0 800 3000000 '{}'
berr OutOfBand StartManual 10.0 800 3000000 '{}'
berr OutOfBand StartManual 0.0 800 3000000 '{}'
berr InvalidArgument StartManual 45.0 0 3000000 '{}'
berr InvalidArgument StartManual 45.0 1001 3000000 '{}'
berr OutOfBand StartManual 45.0 800 3600000000 '{}'
berr InvalidArgument StartManual 45.0 800 3000000 "{'colour': <'red'>}"
berr InvalidArgument StartManual 45.0 800 3000000 "{'patient': <42>}"
berr InvalidArgument StartManual 45.0 800 3000000 "{'pain_before': <uint32 11>}"
# an intensity too low to turn the motor at the frequency: refused before
# the first step, not half-way through
berr OutOfBand StartManual 45.0 200 3000000 '{}'
berr OutOfBand StartProgram weak '{}'
berr UnknownProgram StartProgram nope '{}'
berr InvalidArgument StartProgram '../../etc/passwd' '{}'
berr InvalidArgument StartProgram 'Short' '{}'
berr InvalidProgram StartProgram broken '{}'
berr UnknownEntry StartProgram short "{'course': <uint64 99>}"
berr NotRunning Pause
berr NotRunning Resume
berr NotRunning Continue
berr NotRunning Skip
berr NotRunning SetIntensity 500
berr InvalidArgument SetIntensity 0
berr InvalidArgument SetIntensity 5000
berr UnknownProgram GetProgram nope
berr InvalidArgument GetProgram 'a/b'
berr InvalidProgram GetProgram broken
berr UnknownProgram Enqueue nope '{}'
berr InvalidArgument Enqueue short "{'outlive_client': <true>}"
berr UnknownEntry Dequeue 12345
berr UnknownProgram Plan nope 07:30 false '{}'
berr InvalidArgument Plan short 25:00 false '{}'
berr InvalidArgument Plan short 'tomorrow' false '{}'
berr InvalidArgument Plan short 1000 false '{}'
berr UnknownEntry CancelPlan 12345
berr InvalidArgument CreateCourse '' short 10 1 0
berr InvalidArgument CreateCourse Ann short 0 1 0
berr InvalidArgument CreateCourse Ann short 10 0 0
berr UnknownProgram CreateCourse Ann nope 10 1 0
berr UnknownEntry GetCourseDose 12345
berr UnknownSession SetPainScore 12345 before 3
berr InvalidArgument SetPainScore 1 during 3
berr InvalidArgument SetPainScore 1 before 11
berr UnknownSession GetSession 12345
berr InvalidArgument ExportHistory xml 0
# Numbers beyond what SQLite's signed 64-bit integers or the daemon's
# calendar hold: the argument's own error, never a database failure.
big="9223372036854775808 18446744073709551615 253402300800000000"
for v in $big 9223372036854775807; do
	out=$(gdbus call --system --dest "$DEST" --object-path "$OBJ" \
		--method "$IFACE.CreateCourse" Ann short 10 1 "$v" 2>&1) &&
		fail "CreateCourse start_usec=$v accepted: $out"
	case $out in
	*Error.InvalidArgument:\ start_usec:\ $v\ is\ outside\ 0..253402300799999999*) ;;
	*) fail "CreateCourse start_usec=$v: $out" ;;
	esac
	berr InvalidArgument Plan short "$v" false '{}'
	berr InvalidArgument Plan short "$v" true '{}'
	berr InvalidArgument ListSessions "$v" 0
	berr InvalidArgument ExportHistory csv "$v"
	berr InvalidArgument StartManual 45.0 800 "$v" '{}'
	berr UnknownEntry StartProgram short "{'course': <uint64 $v>}"
	berr UnknownEntry Enqueue short "{'course': <uint64 $v>}"
	berr UnknownEntry Dequeue "$v"
	berr UnknownEntry CancelPlan "$v"
	berr UnknownEntry GetCourseDose "$v"
	berr UnknownSession SetPainScore "$v" before 3
	berr UnknownSession GetSession "$v"
done
echo "  CreateCourse start_usec=2^63: $(gdbus call --system --dest "$DEST" \
	--object-path "$OBJ" --method "$IFACE.CreateCourse" Ann short 10 1 \
	9223372036854775808 2>&1 | sed 's/.*Error\.//')"
berr org.freedesktop.DBus.Error.UnknownMethod Explode
# a wrong signature never reaches the handler
out=$(bcall StartManual sut 45 800 3000000 2>&1) && fail "wrong signature accepted"
echo "  wrong signature: $out"

# the motor never moved, nothing was recorded or scheduled
assert_eq "$(bget State)" idle "state"
assert_motor_off "after the bad calls"
assert_eq "$(bcall ListSessions tu 0 0)" "a(tssttstdii) 0" "history"
assert_eq "$(bcall ListQueue)" "a(tsstt) 0" "queue"
assert_eq "$(bcall ListPlans)" "a(tssstb) 0" "plans"
assert_eq "$(bcall ListCourses)" "a(tssuuuut) 0" "courses"
# and it still works
bcall StartManual duta{sv} 45 800 1000000 1 outlive_client b true >/dev/null ||
	fail "a good call after the bad ones"
wait_prop State running 2
stop_daemon
