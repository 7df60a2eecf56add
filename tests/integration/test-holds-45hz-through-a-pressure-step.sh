# The point of the product: 45 Hz held while the pad is pressed harder.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
ctl contact 1 6000 >/dev/null
sleep 1.5
worst=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	f=$(get true_freq_hz)
	worst=$(awk -v w="$worst" -v f="$f" 'BEGIN { d = f - 45; if (d < 0) d = -d; print (d > w ? d : w) }')
	sleep 0.1
done
echo "  45 Hz through a 3 N -> 6 N pressure step: worst error $worst Hz over 1 s (after 1.5 s)"
awk -v w="$worst" 'BEGIN { exit !(w <= 1.0) }' || fail "frequency not held: worst error $worst Hz"
assert_eq "$(get state)" running "state"
stop_daemon
