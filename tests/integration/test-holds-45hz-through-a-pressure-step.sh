# The point of the product: 45 Hz held while the pad is pressed harder.
# The true rotor frequency (from the simulation) is sampled every 50 ms
# for 2.5 s after a 3 N -> 6 N step.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
sleep 1
ctl contact 1 6000 >/dev/null
t0=$(get now_ns)
: >"$T/trace"
i=0
while [ $i -lt 50 ]; do
	ctl status | awk -F= '/^now_ns=/ { t = $2 } /^true_freq_hz=/ { f = $2 }
		END { print t, f }' >>"$T/trace"
	sleep 0.05
	i=$((i + 1))
done
# worst |f - 45| in the first second and after it
read -r early late <<EOT
$(awk -v t0="$t0" '{ d = $2 - 45; if (d < 0) d = -d
	if ($1 - t0 < 1e9) { if (d > e) e = d } else { if (d > l) l = d } }
	END { printf "%.3f %.3f\n", e, l }' "$T/trace")
EOT
echo "  45 Hz through a 3 N -> 6 N pressure step: worst error $early Hz in the first second, $late Hz after it"
awk -v w="$late" 'BEGIN { exit !(w <= 0.5) }' || fail "not held after 1 s: worst error $late Hz"
awk -v w="$early" 'BEGIN { exit !(w <= 5) }' || fail "step transient too large: $early Hz"
assert_eq "$(get state)" running "state"
assert_eq "$(get in_contact)" 1 "contact"
stop_daemon
