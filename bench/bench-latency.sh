#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/bench-latency.sh MASSAGED MASSAGED_CTL [SECONDS]
#
# The daemon's control loop (simulation backend, SCHED_FIFO 40, 1 kHz on
# clock_nanosleep(TIMER_ABSTIME), holding 45 Hz in contact) and cyclictest
# (one thread, the same priority and period) run side by side for SECONDS
# (default 20) under the same background load: hackbench (rt-tests) in a
# loop at normal priority. Both measure the same thing: how late the
# thread woke after its absolute deadline. The last line is
#   latency: loop_p99_us=.. loop_max_us=.. cyclictest_p99_us=..
#            cyclictest_max_us=.. ratio_p99=.. cpu_pct=..
#            cpu_ratio=.. instr_per_period=..
# cpu_pct is the whole daemon's CPU time (utime + stime of every thread,
# from /proc/PID/stat) over the run, in % of one core. cpu_ratio is the
# daemon's run time over cyclictest's (every thread of each, from
# /proc/PID/task/*/schedstat) over the same stretch of the same run: what
# the daemon costs beyond a bare 1 kHz wake-up, which alone costs this VM
# several % of a core.
#
# Then the daemon runs again, alone, under callgrind for CG_SECONDS
# (default 5) at the same 45 Hz in contact: instr_per_period is every
# instruction of the whole process (both threads, libc, libsystemd) in
# that stretch, less the simulated plant (plant_* and what they call,
# called from the simulation backend: it stands in for the hardware and is
# absent with the kernel backend), over the periods run (calls of the
# backend's read_samples). callgrind slows the loop down, but it keeps its
# 1 kHz here (the line before the last gives the accelerometer samples a
# period, 3.2 at 3200 Hz when it does); the supervision limits are relaxed
# as under valgrind in the tests, so that the slower main thread does not
# latch a fault.
set -eu
MASSAGED=$1
CTL=$2
DUR=${3:-20}
CG_SECONDS=${CG_SECONDS:-5}
PRIO=40
PERIOD_US=1000
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/massaged-bench.XXXXXX)
PID=
LOAD=
cleanup() {
	[ -z "$LOAD" ] || kill "$LOAD" 2>/dev/null || true
	pkill -P $$ hackbench 2>/dev/null || true
	[ -z "$PID" ] || kill -TERM "$PID" 2>/dev/null || true
	[ -z "$PID" ] || wait "$PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

for tool in cyclictest hackbench valgrind callgrind_control; do
	command -v $tool >/dev/null || {
		echo "bench-latency: $tool missing (apt-get install rt-tests valgrind)" >&2
		exit 1
	}
done

cp "$here/../tests/integration/sim-calibration" "$T/calibration"
STATE_DIRECTORY=$T "$MASSAGED" --simulate --config /dev/null \
	--priority $PRIO --period-us $PERIOD_US --control-socket "$T/ctl" \
	>"$T/log" 2>&1 &
PID=$!
i=0
until "$CTL" "$T/ctl" status 2>/dev/null | grep -q '^state=idle'; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/log" >&2; exit 1; }
	sleep 0.05
done
"$CTL" "$T/ctl" contact 1 3000 >/dev/null
"$CTL" "$T/ctl" start 45 1000 >/dev/null
sleep 1

# Background load: hackbench, over and over, at normal priority.
( while :; do hackbench -s 512 -l 200 -g 2 -f 5 >/dev/null 2>&1 || true; done ) &
LOAD=$!
sleep 1

"$CTL" "$T/ctl" latency-reset >/dev/null
# per thread: comm utime stime (clock ticks) run time (ns, schedstat)
# run time (ns) of every thread of a process
runtime_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}
threads() {
	for t in /proc/$PID/task/*; do
		echo "$(cat "$t/comm") $(awk '{ print $14, $15 }' "$t/stat") $(awk '{ print $1 }' "$t/schedstat" 2>/dev/null || echo 0)"
	done
}
ticks0=$(awk '{ print $14 + $15 }' /proc/$PID/stat)
threads >"$T/threads0"
t0=$(date +%s.%N)
cyclictest -q -m -t1 -p $PRIO -i $PERIOD_US -D "${DUR}s" -h 2000 \
	>"$T/cyclictest" 2>&1 &
CYC=$!
sleep 1
cyc0=$(awk '{ print $14 + $15 }' /proc/$CYC/stat 2>/dev/null || echo 0)
cycrun0=$(runtime_ns $CYC)
drun0=$(runtime_ns $PID)
w0=$(date +%s.%N)
# the same, second by second, to show how much the load moves it; done
# well before cyclictest ends (DUR s after it started, a second before w0)
wend=$(awk -v a="$w0" -v d="$DUR" 'BEGIN { printf "%.3f", a + d - 3 }')
while awk -v e="$wend" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do
	sleep 1
	echo "$(runtime_ns $PID) $(runtime_ns $CYC)"
done >"$T/seconds"
cyc1=$(awk '{ print $14 + $15 }' /proc/$CYC/stat 2>/dev/null || echo 0)
cycrun1=$(runtime_ns $CYC)
drun1=$(runtime_ns $PID)
w1=$(date +%s.%N)
win=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f", b - a }')
case $(awk '{ print $3 }' /proc/$CYC/stat 2>/dev/null) in
R | S | D) ;;
*)	echo "bench-latency: cyclictest ended before the CPU window closed" >&2
	exit 1 ;;
esac
wait $CYC
t1=$(date +%s.%N)
ticks1=$(awk '{ print $14 + $15 }' /proc/$PID/stat)
threads >"$T/threads1"
"$CTL" "$T/ctl" latency >"$T/loop"
state=$(sed -n 's/^state=//p' "$T/loop")
"$CTL" "$T/ctl" status >"$T/status"

kill "$LOAD" 2>/dev/null || true
LOAD=
kill -TERM "$PID"
wait "$PID" || true
PID=

# Instructions a period, under callgrind (see the top).
mkdir "$T/cg"
cp "$T/calibration" "$T/cg/calibration"
printf '[Safety]\nSensorLossMSec=1000\nWarmupMSec=3000\n' >"$T/cg/conf"
STATE_DIRECTORY=$T/cg valgrind --tool=callgrind --compress-strings=no \
	--compress-pos=no --callgrind-out-file="$T/cg/out" "$MASSAGED" \
	--simulate --config "$T/cg/conf" --priority $PRIO \
	--period-us $PERIOD_US --control-socket "$T/cg/ctl" \
	>"$T/cg/log" 2>&1 &
PID=$!
i=0
until "$CTL" "$T/cg/ctl" status 2>/dev/null | grep -q '^state=idle'; do
	i=$((i + 1))
	[ $i -lt 300 ] || { cat "$T/cg/log" >&2; exit 1; }
	sleep 0.1
done
"$CTL" "$T/cg/ctl" contact 1 3000 >/dev/null
"$CTL" "$T/cg/ctl" start 45 1000 >/dev/null
sleep 3
callgrind_control -z $PID >/dev/null 2>&1
sleep "$CG_SECONDS"
callgrind_control -d $PID >/dev/null 2>&1
"$CTL" "$T/cg/ctl" status >"$T/cg/status"
kill -TERM "$PID"
wait "$PID" || true
PID=
grep -q '^state=running' "$T/cg/status" || {
	echo "bench-latency: under callgrind the daemon was not running at the end:" >&2
	cat "$T/cg/status" "$T/cg/log" >&2
	exit 1
}
# The dump: "fn=" a function, "cfn=" + "calls=N" + "line Ir" a call from
# it with its inclusive cost; "summary:" the total.
awk '
/^fn=/ { fn = substr($0, 4); next }
/^cfn=/ { cfn = substr($0, 5); next }
/^calls=/ { split(substr($0, 7), c, " "); incall = 1; next }
incall {
	incall = 0
	if (fn !~ /^plant_/ && cfn ~ /^plant_/) plant += $2
	if (cfn == "sim_read_samples") periods += c[1]
	if (cfn == "estimator_feed") samples += c[1]
	next
}
/^summary:/ { total = $2 }
END {
	if (!periods) exit 1
	printf "%.0f %.0f %.0f %.0f %.0f\n", total, plant, periods, samples,
		(total - plant) / periods
}' "$T/cg/out.1" >"$T/cg/figures" || {
	echo "bench-latency: no control periods in the callgrind dump" >&2
	exit 1
}
read -r cg_total cg_plant cg_periods cg_samples instr <"$T/cg/figures"

hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
	'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) * 100 }')
loop_p99=$(sed -n 's/^wake_p99_us=//p' "$T/loop")
loop_max=$(sed -n 's/^wake_max_us=//p' "$T/loop")
loop_n=$(sed -n 's/^wake_count=//p' "$T/loop")
# cyclictest -h: "NNNNNN CCCCCC" per microsecond, then "# ..." summaries.
cyc_p99=$(awk '/^[0-9]/ { n[$1 + 0] = $2; tot += $2 }
	END { acc = 0; for (i = 0; i < 2000; i++) { acc += n[i];
		if (acc >= 0.99 * tot) { print i + 1; exit } } }' "$T/cyclictest")
cyc_max=$(sed -n 's/^# Max Latencies: *//p' "$T/cyclictest" | awk '{ print $1 + 0 }')
ratio=$(awk -v a="$loop_p99" -v b="$cyc_p99" 'BEGIN { printf "%.2f", a / b }')

echo "daemon loop: $loop_n periods, overruns $(sed -n 's/^overruns=//p' "$T/loop"), loop time p99 $(sed -n 's/^loop_p99_us=//p' "$T/loop") us, held $(sed -n 's/^freq_hz=//p' "$T/status") Hz ($(sed -n 's/^state=//p' "$T/status"))"
echo "cyclictest: $(sed -n "s/^# Total: *//p" "$T/cyclictest" | awk "{ print \$1 + 0 }") samples"
hz=$(getconf CLK_TCK)
# The user/system split comes from sampling at the tick, which a 1 kHz
# loop can stay in or out of phase with; the run time is the scheduler's.
echo "daemon CPU by thread (user/system % of one core, run time %): $(join "$T/threads0" "$T/threads1" |
	awk -v hz="$hz" -v d="$DUR" '{ printf "%s %.2f/%.2f %.2f  ", $1, ($5 - $2) / hz / d * 100, ($6 - $3) / hz / d * 100, ($7 - $4) / 1e7 / d }')"
echo "cyclictest CPU over $win s: $(awk -v a="$cyc0" -v b="$cyc1" -v hz="$hz" -v d="$win" 'BEGIN { printf "%.2f", (b - a) / hz / d * 100 }') % of one core"
cpu_ratio=$(awk -v a="$((drun1 - drun0))" -v b="$((cycrun1 - cycrun0))" \
	'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "cpu_ratio second by second: $(awk -v d="$drun0" -v c="$cycrun0" '
	{ if ($2 > c) r[n++] = ($1 - d) / ($2 - c); d = $1; c = $2 }
	END { for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
		if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
	      if (n) printf "median %.2f, range %.2f-%.2f over %d s", r[int(n / 2)], r[0], r[n - 1], n }' "$T/seconds")"
echo "run time over the same $win s: daemon $(awk -v a="$((drun1 - drun0))" -v d="$win" 'BEGIN { printf "%.2f", a / 1e7 / d }') %, cyclictest $(awk -v a="$((cycrun1 - cycrun0))" -v d="$win" 'BEGIN { printf "%.2f", a / 1e7 / d }') % of one core"
echo "load: hackbench loop; $DUR s; priority $PRIO; period $PERIOD_US us; $(nproc) CPUs; kernel $(uname -r)"
echo "callgrind over $CG_SECONDS s: $cg_periods periods, $(awk -v s="$cg_samples" -v p="$cg_periods" 'BEGIN { printf "%.2f", s / p }') samples a period; $(awk -v t="$cg_total" -v p="$cg_periods" 'BEGIN { printf "%.0f", t / p }') instructions a period in all, $(awk -v t="$cg_plant" -v p="$cg_periods" 'BEGIN { printf "%.0f", t / p }') of them the simulated plant"
echo "latency: loop_p99_us=$loop_p99 loop_max_us=$loop_max cyclictest_p99_us=$cyc_p99 cyclictest_max_us=$cyc_max ratio_p99=$ratio cpu_pct=$cpu cpu_ratio=$cpu_ratio instr_per_period=$instr"
