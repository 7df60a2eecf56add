# Reading state is open to everyone; control and history are for root and
# the "massage" group. A caller outside it is refused by the daemon itself
# (on a bus that lets everything through) and by our bus policy file.
. "$(dirname "$0")/lib.sh"
id -u nobody >/dev/null 2>&1 || { echo "  SKIP: no user nobody"; exit 0; }
getent group massage | grep -qw nobody && fail "nobody is in the massage group here"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}
start_bus
start_bus_daemon
assert_eq "$(as_nobody busctl get-property "$DEST" "$OBJ" "$IFACE" State)" \
	's "idle"' "nobody reads the state"
for call in "StartManual 45.0 800 3000000 {}" "Stop" "ResetEstop" \
	"ListSessions 0 0" "ExportHistory json 0" "Enqueue x {}"; do
	# shellcheck disable=SC2086
	got=$(as_nobody gdbus call --system --dest "$DEST" --object-path "$OBJ" \
		--method "$IFACE.${call%% *}" $(echo "$call" | cut -s -d' ' -f2-) 2>&1)
	echo "$got" | grep -q "$IFACE.Error.NotAuthorized" ||
		fail "daemon let nobody call $call: $got"
done
assert_motor_off "after the refused calls"
# the patient's name is patient data: the group sees it, nobody does not
bcall StartManual duta{sv} 45 1000 2000000 2 outlive_client b true \
	patient s "Ann Example" >/dev/null || fail "root's session"
assert_eq "$(bget Patient)" "Ann Example" "root reads Patient"
assert_eq "$(as_nobody busctl get-property "$DEST" "$OBJ" "$IFACE" Patient)" \
	's ""' "nobody reads Patient"
bcall Stop
stop_daemon
kill "$BUS_PID"
BUS_PID=
rm -f "$T/bus"

start_bus policy
start_bus_daemon
assert_eq "$(as_nobody busctl get-property "$DEST" "$OBJ" "$IFACE" State)" \
	's "idle"' "nobody reads the state through the policy"
got=$(as_nobody gdbus call --system --dest "$DEST" --object-path "$OBJ" \
	--method "$IFACE.StartManual" 45.0 800 3000000 '{}' 2>&1)
echo "$got" | grep -q "org.freedesktop.DBus.Error.AccessDenied" ||
	fail "the bus policy let nobody call StartManual: $got"
got=$(as_nobody gdbus call --system --dest "$DEST" --object-path "$OBJ" \
	--method "$IFACE.ListPrograms" 2>&1) || fail "ListPrograms refused: $got"
# root is allowed by both
bcall StartManual duta{sv} 45 800 1000000 1 outlive_client b true >/dev/null ||
	fail "root refused"
stop_daemon
