# The daemon's vtable is exactly daemon/org.massaged.Massager1.xml: every
# method, argument, property and signal, with types and directions.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
busctl introspect --xml-interface "$DEST" "$OBJ" >"$T/live.xml" ||
	fail "introspection failed"
out=$(python3 "$TOP/tests/integration/check-dbus-interface.py" \
	"$TOP/daemon/org.massaged.Massager1.xml" "$T/live.xml") || fail "$out"
echo "  $out"
stop_daemon
