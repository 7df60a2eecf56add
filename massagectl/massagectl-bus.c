// SPDX-License-Identifier: MIT
/*
 * massagectl-bus.c - the connection to massaged, what its errors mean
 * for the exit status, and its properties read into one struct
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "massagectl.h"

int context_bus(struct context *c, sd_bus **ret)
{
	const char *address = arg.bus_address;
	int r;

	if (c->bus) {
		*ret = c->bus;
		return 0;
	}
	if (!address)
		address = getenv("MASSAGECTL_BUS_ADDRESS");
	if (address && *address) {
		r = sd_bus_new(&c->bus);
		if (r < 0)
			return log_error_errno(r, "Failed to allocate a bus: %m");
		r = sd_bus_set_address(c->bus, address);
		if (r >= 0)
			r = sd_bus_set_bus_client(c->bus, true);
		if (r >= 0)
			r = sd_bus_start(c->bus);
		if (r < 0) {
			log_error_errno(r, "Failed to connect to the bus at %s: %m",
					address);
			return -EHOSTDOWN;
		}
	} else {
		r = sd_bus_open_system(&c->bus);
		if (r < 0) {
			log_error_errno(r, "Failed to connect to the system bus: %m");
			return -EHOSTDOWN;
		}
	}
	*ret = c->bus;
	return 0;
}

void context_done(struct context *c)
{
	c->bus = sd_bus_flush_close_unref(c->bus);
}

int bus_log_call_error(const char *what, const sd_bus_error *error, int r)
{
	if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
				   SD_BUS_ERROR_NAME_HAS_NO_OWNER,
				   SD_BUS_ERROR_NO_SERVER,
				   SD_BUS_ERROR_DISCONNECTED)) {
		log_error("Failed to %s: massaged is not running (no %s on the bus).",
			  what, MASSAGER_BUS_NAME);
		return -EHOSTDOWN;
	}
	if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY)) {
		log_error("Failed to %s: massaged did not answer in time.",
			  what);
		return -EHOSTDOWN;
	}
	if (sd_bus_error_has_names(error, SD_BUS_ERROR_ACCESS_DENIED,
				   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
				   MASSAGER_ERROR "NotAuthorized")) {
		log_error("Failed to %s: %s", what,
			  error->message ? error->message : "access denied");
		/* The daemon's own refusal says what to do; the bus's not. */
		if (!sd_bus_error_has_name(error, MASSAGER_ERROR "NotAuthorized"))
			log_error("Controlling the massager and reading patient data need the \"massage\" group, or root.");
		return -EACCES;
	}
	/*
	 * sd-bus names local failures "System.Error.E…": those are no
	 * answer of the daemon's but our connection failing.
	 */
	if (sd_bus_error_is_set(error) &&
	    strncmp(error->name, "System.Error.", strlen("System.Error."))) {
		log_error("Failed to %s: %s", what,
			  error->message ? error->message : error->name);
		return -EREMOTEIO;
	}
	if (r == -ECONNRESET || r == -ENOTCONN || r == -ETIMEDOUT ||
	    r == -ECONNREFUSED || r == -ENOENT || r == -EHOSTDOWN ||
	    r == -EPIPE) {
		log_error_errno(r, "Failed to %s: %m (the bus connection failed or was refused).",
				what);
		return -EHOSTDOWN;
	}
	log_error_errno(r, "Failed to %s: %m", what);
	if (r == -EACCES || r == -EPERM)
		return -EACCES;
	return r == -EINVAL ? -EIO : r;
}

int bus_log_parse_error(int r)
{
	log_error_errno(r, "Failed to read massaged's answer: %m");
	return r == -EINVAL ? -EBADMSG : r;
}

int massager_call_simple(struct context *c, const char *method,
			 const char *what)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus;
	int r;

	r = context_bus(c, &bus);
	if (r < 0)
		return r;
	r = sd_bus_call_method(bus, MASSAGER_BUS_NAME, MASSAGER_PATH,
			       MASSAGER_INTERFACE, method, &error, NULL, "");
	if (r < 0)
		r = bus_log_call_error(what, &error, r);
	sd_bus_error_free(&error);
	return r < 0 ? r : 0;
}

bool state_has_session(const char *state)
{
	static const char *const active[] = { "running", "paused", "waiting",
					      "stopping" };

	for (size_t i = 0; state && i < ARRAY_SIZE(active); i++)
		if (!strcmp(state, active[i]))
			return true;
	return false;
}

void massager_status_done(struct massager_status *s)
{
	char **strings[] = { &s->state,	       &s->status_text, &s->device,
			     &s->fault_reason, &s->fault_text,	&s->program,
			     &s->patient,      &s->site,	&s->held_reason };

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}

static const struct property_map {
	const char *name;
	const char *signature;
	size_t offset;
} properties[] = {
#define P(n, sig, field) { n, sig, offsetof(struct massager_status, field) }
	P("State", "s", state),
	P("StatusText", "s", status_text),
	P("Device", "s", device),
	P("Realtime", "b", realtime),
	P("Calibrated", "b", calibrated),
	P("FrequencyMin", "d", frequency_min),
	P("FrequencyMax", "d", frequency_max),
	P("IntensityMax", "u", intensity_max),
	P("TargetFrequency", "d", target_frequency),
	P("Intensity", "u", intensity),
	P("Frequency", "d", frequency),
	P("Amplitude", "d", amplitude),
	P("Contact", "b", contact),
	P("ThermalHeadroom", "u", thermal_headroom),
	P("FaultReason", "s", fault_reason),
	P("FaultText", "s", fault_text),
	P("SessionId", "t", session_id),
	P("Program", "s", program),
	P("Patient", "s", patient),
	P("Site", "s", site),
	P("HeldFrequency", "d", held_frequency),
	P("HeldReason", "s", held_reason),
	P("Progress", "(uuuuttb)", progress),
	P("ControlLoopStatistics", "(ttttttt)", loop),
#undef P
};

static int property_read(sd_bus_message *m, const struct property_map *p,
			 struct massager_status *s)
{
	void *field = (char *)s + p->offset;
	const char *str;
	int r, b;

	switch (p->signature[0]) {
	case 's': {
		char *copy;

		r = sd_bus_message_read_basic(m, 's', &str);
		if (r < 0)
			return r;
		copy = strdup(str);
		if (!copy)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case 'b':
		r = sd_bus_message_read_basic(m, 'b', &b);
		if (r >= 0)
			*(bool *)field = b;
		return r;
	case 'd':
	case 'u':
	case 't':
		return sd_bus_message_read_basic(m, p->signature[0], field);
	}
	if (!strcmp(p->name, "Progress")) {
		struct massager_progress *g = field;

		r = sd_bus_message_read(m, "(uuuuttb)", &g->step, &g->steps,
					&g->repetition, &g->repetitions,
					&g->step_left_usec,
					&g->session_left_usec, &b);
		if (r >= 0)
			g->waiting = b;
		return r;
	}
	if (!strcmp(p->name, "ControlLoopStatistics")) {
		struct massager_loop_stats *l = field;

		r = sd_bus_message_read(m, "(ttttttt)", &l->overruns,
					&l->wakeup_p50_usec, &l->wakeup_p99_usec,
					&l->wakeup_max_usec, &l->loop_p50_usec,
					&l->loop_p99_usec, &l->loop_max_usec);
		if (r >= 0)
			s->have_loop = true;
		return r;
	}
	return -EBADMSG;
}

int massager_status_read(sd_bus_message *m, struct massager_status *s)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const struct property_map *p = NULL;
		const char *name, *contents;
		char type;

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ARRAY_SIZE(properties); i++)
			if (!strcmp(properties[i].name, name))
				p = &properties[i];
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		/* Skip what we do not know, or know under another type. */
		if (!p || strcmp(contents, p->signature)) {
			r = sd_bus_message_skip(m, "v");
		} else {
			r = sd_bus_message_enter_container(m, 'v', contents);
			if (r < 0)
				return r;
			r = property_read(m, p, s);
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(m);
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int massager_status_get(struct context *c, struct massager_status *s)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus;
	int r;

	r = context_bus(c, &bus);
	if (r < 0)
		return r;
	r = sd_bus_call_method(bus, MASSAGER_BUS_NAME, MASSAGER_PATH,
			       "org.freedesktop.DBus.Properties", "GetAll",
			       &error, &reply, "s", MASSAGER_INTERFACE);
	if (r < 0) {
		r = bus_log_call_error("read the station's state", &error, r);
		sd_bus_error_free(&error);
		return r;
	}
	r = massager_status_read(reply, s);
	if (r < 0)
		return bus_log_parse_error(r);
	return 0;
}
