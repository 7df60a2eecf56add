# A whole program at shortened durations over the bus: two repetitions
# with a rest, a wait for confirmation at the move to the next site, an
# automatic move after a pause; then the history has it completed with
# each step and its dose, and the course counts it. The pad stays pressed
# on the body (6 N) throughout, so every repetition and step starts from
# rest under load, as at a real station: none of those starts is a stall.
. "$(dirname "$0")/lib.sh"
program two-sites '[Program]' 'Name=Two sites' 'Source=test' \
	'[Step]' 'Technique=vibration' 'Site=upper trapezius, left' 'Frequency=45' 'Intensity=80%' \
	'Duration=1s' 'Repetitions=2' 'Rest=1s' 'Advance=confirm' \
	'[Step]' 'Technique=vibration' 'Site=levator scapulae, left' 'Frequency=40' \
	'Intensity=80%' 'Duration=1s' 'Advance=pause' 'AdvancePause=1s' \
	'[Step]' 'Technique=vibration' 'Site=infraspinatus, left' 'Frequency=50' 'Amplitude=15' \
	'Duration=1s'
start_bus
start_bus_daemon ${DAEMON_ARGS:-}
ctl contact 1 6000 >/dev/null
course=$(bcall CreateCourse ssuut "Ann Example" two-sites 10 1 0 | cut -d' ' -f2)
id=$(bcall StartProgram sa{sv} two-sites 3 course t "$course" \
	pain_before u 6 outlive_client b true | cut -d' ' -f2)
[ -n "$id" ] && [ "$id" -gt 0 ] || fail "no session id"
wait_prop State running 1
assert_eq "$(bget Program)" two-sites "program"
assert_eq "$(bget Patient)" "Ann Example" "patient (from the course)"
assert_eq "$(bget Site)" "upper trapezius, left" "site"
wait_prop State waiting 8
wait_for duty_permille 0 1
sleep 0.5
assert_eq "$(bget State)" waiting "still waiting without a confirmation"
bcall Continue >/dev/null || fail "continue"
wait_prop Site "levator scapulae, left" 2
wait_for state running 2
wait_prop Site "infraspinatus, left" 8
wait_prop State idle 8
assert_motor_off "after the program"
assert_eq "$(history_outcome "$id")" completed "outcome"
steps=$(bcall GetSession t "$id")
echo "  $steps"
echo "$steps" | grep -q '^a(usdtds) 3 ' || fail "three steps expected: $steps"
echo "$steps" | grep -q '"done" 1 "levator' || fail "step 1 done: $steps"
bcall SetPainScore tsu "$id" after 3 || fail "pain after"
row=$(bcall ListSessions tu 0 1)
echo "  $row"
echo "$row" | grep -q ' 6 3$' || fail "pain scores 6 and 3: $row"
# dose accrued in contact while vibrating: 4 s of vibration in all
set -- ${row#*'"completed" '}
awk -v c="$1" -v d="$2" 'BEGIN { c /= 1e6;
	exit !(c > 2.5 && c <= 4.05 && d > 5 * c) }' ||
	fail "contact $1 us, dose $2 for 4 s of vibration on the body"
courses=$(bcall ListCourses)
echo "  $courses"
echo "$courses" | grep -q "$course \"Ann Example\" \"two-sites\" 10 1 " ||
	fail "the course counts the session: $courses"
dose=$(bcall GetCourseDose t "$course")
echo "$dose" | grep -q '^a(sutd) 3 ' || fail "dose per site: $dose"
csv=$(gdbus call --system --dest "$DEST" --object-path "$OBJ" \
	--method "$IFACE.ExportHistory" csv 0)
echo "$csv" | grep -q 'two-sites' || fail "CSV export: $csv"
stop_daemon
