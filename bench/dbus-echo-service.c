// SPDX-License-Identifier: MIT
/*
 * dbus-echo-service - the baseline of make bench-dbus: the smallest sd-bus
 * service that answers the calls bench-dbus makes of massaged, with the
 * same signatures, at the same object path and interface, under another
 * bus name (org.massaged.BenchEcho1 unless given). Nothing happens behind
 * a call: a getter copies a field, SetIntensity stores its argument. What
 * massaged takes beyond this service is what massaged itself adds to a
 * round trip; the rest is the bus and the machine.
 *
 * Connects with sd_bus_open_system(), so DBUS_SYSTEM_BUS_ADDRESS picks
 * the bus. Prints "ready" on stdout once the name is owned; exits on
 * SIGTERM or SIGINT.
 *
 *	dbus-echo-service [BUS_NAME]
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define ECHO_NAME	"org.massaged.BenchEcho1"
#define OBJECT_PATH	"/org/massaged/Massager1"
#define INTERFACE	"org.massaged.Massager1"

struct echo {
	const char *state;
	double frequency_hz;
	uint32_t intensity_permille;
	uint64_t session_id;
	uint64_t calls;
};

static int property_get_stats(sd_bus *bus _unused_, const char *path _unused_,
			      const char *interface _unused_,
			      const char *property _unused_,
			      sd_bus_message *reply, void *userdata,
			      sd_bus_error *error _unused_)
{
	struct echo *e = userdata;

	e->calls++;
	return sd_bus_message_append(reply, "(ttttttt)", (uint64_t)0,
				     (uint64_t)0, (uint64_t)0, (uint64_t)0,
				     (uint64_t)0, (uint64_t)0, (uint64_t)0);
}

static int property_get_state(sd_bus *bus _unused_, const char *path _unused_,
			      const char *interface _unused_,
			      const char *property _unused_,
			      sd_bus_message *reply, void *userdata,
			      sd_bus_error *error _unused_)
{
	struct echo *e = userdata;

	e->calls++;
	return sd_bus_message_append(reply, "s", e->state);
}

static int property_get_frequency(sd_bus *bus _unused_,
				  const char *path _unused_,
				  const char *interface _unused_,
				  const char *property _unused_,
				  sd_bus_message *reply, void *userdata,
				  sd_bus_error *error _unused_)
{
	struct echo *e = userdata;

	e->calls++;
	return sd_bus_message_append(reply, "d", e->frequency_hz);
}

static int method_set_intensity(sd_bus_message *m, void *userdata,
				sd_bus_error *error _unused_)
{
	struct echo *e = userdata;
	uint32_t v;
	int r;

	e->calls++;
	r = sd_bus_message_read(m, "u", &v);
	if (r < 0)
		return r;
	e->intensity_permille = v;
	return sd_bus_reply_method_return(m, NULL);
}

/* Takes the arguments and answers; nothing vibrates. */
static int method_start_manual(sd_bus_message *m, void *userdata,
			       sd_bus_error *error _unused_)
{
	struct echo *e = userdata;
	uint64_t duration_usec;
	double hz;
	uint32_t v;
	int r;

	e->calls++;
	r = sd_bus_message_read(m, "dut", &hz, &v, &duration_usec);
	if (r < 0)
		return r;
	r = sd_bus_message_skip(m, "a{sv}");
	if (r < 0)
		return r;
	e->frequency_hz = hz;
	e->intensity_permille = v;
	e->state = "running";
	return sd_bus_reply_method_return(m, "t", ++e->session_id);
}

static int method_stop(sd_bus_message *m, void *userdata,
		       sd_bus_error *error _unused_)
{
	struct echo *e = userdata;

	e->calls++;
	e->state = "idle";
	e->frequency_hz = 0;
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable echo_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("State", "s", property_get_state, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Frequency", "d", property_get_frequency, 0, 0),
	SD_BUS_PROPERTY("ControlLoopStatistics", "(ttttttt)",
			property_get_stats, 0, 0),
	SD_BUS_METHOD_WITH_ARGS("SetIntensity", SD_BUS_ARGS("u", intensity),
				SD_BUS_NO_RESULT, method_set_intensity, 0),
	SD_BUS_METHOD_WITH_ARGS("StartManual",
				SD_BUS_ARGS("d", frequency, "u", intensity,
					    "t", duration_usec, "a{sv}",
					    options),
				SD_BUS_RESULT("t", session_id),
				method_start_manual, 0),
	SD_BUS_METHOD("Stop", NULL, NULL, method_stop, 0),
	SD_BUS_VTABLE_END
};

int main(int argc, char *argv[])
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	struct echo e = { .state = "idle" };
	const char *name = argc > 1 ? argv[1] : ECHO_NAME;
	sigset_t ss;
	int r;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);

	r = sd_event_default(&event);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "dbus-echo-service: event loop: %s\n",
			strerror(-r));
		return 1;
	}
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr,
			"dbus-echo-service: cannot connect to the bus (DBUS_SYSTEM_BUS_ADDRESS=%s): %s\n",
			getenv("DBUS_SYSTEM_BUS_ADDRESS") ?: "unset",
			strerror(-r));
		return 1;
	}
	r = sd_bus_add_object_vtable(bus, NULL, OBJECT_PATH, INTERFACE,
				     echo_vtable, &e);
	if (r >= 0)
		r = sd_bus_request_name(bus, name, 0);
	if (r >= 0)
		r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0) {
		fprintf(stderr, "dbus-echo-service: cannot serve %s: %s\n",
			name, strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	r = sd_event_loop(event);
	if (r < 0) {
		fprintf(stderr, "dbus-echo-service: event loop: %s\n",
			strerror(-r));
		return 1;
	}
	fprintf(stderr, "dbus-echo-service: %llu calls answered\n",
		(unsigned long long)e.calls);
	return 0;
}
