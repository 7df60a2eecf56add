# The queue: with a session queued the station is "ready" and the motor
# stays off until a person confirms (Continue); a planned session joins
# the queue at its time and also waits. Queue and plans survive a restart.
. "$(dirname "$0")/lib.sh"
program short '[Program]' 'Name=Short' 'Source=test' '[Step]' 'Technique=vibration' \
	'Site=upper trapezius, left' 'Frequency=45' 'Intensity=90%' \
	'Duration=1s'
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
e1=$(bcall Enqueue sa{sv} short 1 patient s "Bo" | cut -d' ' -f2)
e2=$(bcall Enqueue sa{sv} short 1 patient s "Cy" | cut -d' ' -f2)
assert_eq "$(bcall ListQueue)" "a(tsstt) 2 $e1 \"short\" \"Bo\" 0 0 $e2 \"short\" \"Cy\" 0 0" "queue"
wait_prop State ready 1
sleep 1
assert_motor_off "ready is not running"
bcall Dequeue t "$e1" || fail "dequeue"
# a restart keeps the queue
stop_daemon
start_bus_daemon
wait_prop State ready 2
bcall Continue || fail "continue starts the queued session"
wait_prop State running 2
assert_eq "$(bget Patient)" Cy "the queued patient"
wait_prop State idle 5
assert_eq "$(bcall ListQueue)" "a(tsstt) 0" "queue after the run"
# a plan two seconds from now
at=$(( $(date +%s%N) / 1000 + 2000000 ))
p=$(bcall Plan ssba{sv} short "$at" false 1 patient s "Di" | cut -d' ' -f2)
bcall ListPlans | grep -q "$p \"short\" \"Di\" \"$at\" $at false" ||
	fail "plan listed: $(bcall ListPlans)"
assert_eq "$(bget State)" idle "before the plan's time"
wait_prop State ready 4
assert_motor_off "a due plan does not vibrate"
bcall ListQueue | grep -q "\"Di\" 0 $at" || fail "queued with its time: $(bcall ListQueue)"
assert_eq "$(bcall ListPlans)" "a(tssstb) 0" "a one-off plan is used up"
sleep 1
assert_motor_off "still waiting for a person"
# a daily plan at a time of day is kept, with its next time
p=$(bcall Plan ssba{sv} short 07:30 true 0 | cut -d' ' -f2)
bcall ListPlans | grep -q "$p \"short\" \"\" \"07:30\" [0-9]* true" ||
	fail "daily plan: $(bcall ListPlans)"
bcall CancelPlan t "$p" || fail "cancel"
stop_daemon
