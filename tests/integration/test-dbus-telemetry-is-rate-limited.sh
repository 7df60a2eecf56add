# Live telemetry reaches clients as PropertiesChanged at most ~10 times a
# second, whatever the loop's rate, and state changes are signalled.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
dbus-monitor --system "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
	>"$T/monitor" 2>&1 &
MON=$!
sleep 0.5
bcall StartManual duta{sv} 45 800 3000000 1 outlive_client b true >/dev/null ||
	fail "start"
sleep 3
kill "$MON"
n=$(grep -c '"Frequency"' "$T/monitor")
s=$(grep -A1 '"State"' "$T/monitor" | grep -c 'string "running"')
echo "  Frequency updates in 3 s: $n; State=running signalled: $s"
[ "$n" -ge 10 ] && [ "$n" -le 33 ] || fail "$n Frequency updates in 3 s"
[ "$s" -ge 1 ] || fail "State running was not signalled"
stop_daemon
