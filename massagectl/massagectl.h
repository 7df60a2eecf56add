/* SPDX-License-Identifier: MIT */
/*
 * massagectl.h - what massagectl's files share: the options, the bus
 * connection, the daemon's properties and the error conventions.
 *
 * Every function returns 0 or a negative errno, and the errno says which
 * exit status massagectl(1) promises:
 *	-EINVAL		2, bad arguments, found before any call
 *	-EHOSTDOWN	3, massaged (or the bus) is not reachable
 *	-EACCES		4, the daemon or the bus refused us as not authorized
 *	anything else	1, the daemon refused, or another failure
 * so code that is not parsing arguments must not return -EINVAL.
 */
#ifndef MASSAGECTL_H
#define MASSAGECTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <systemd/sd-bus.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MASSAGER_BUS_NAME  "org.massaged.Massager1"
#define MASSAGER_PATH	   "/org/massaged/Massager1"
#define MASSAGER_INTERFACE "org.massaged.Massager1"
#define MASSAGER_ERROR	   "org.massaged.Massager1.Error."

enum {
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_NOT_AUTHORIZED = 4,
};

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* "massagectl: " and the message on stderr; %m is strerror(-@error). */
int log_error_errno(int error, const char *fmt, ...) _printf_(2, 3);
#define log_error(...) log_error_errno(0, __VA_ARGS__)
/* For a bad argument: logs, returns -EINVAL (exit status 2). */
#define log_usage(...) (log_error(__VA_ARGS__), -EINVAL)

struct context {
	sd_bus *bus;
};

/* The options every verb may read, set once by parse_argv(). */
struct options {
	const char *bus_address;
	const char *patient;
	uint64_t course;
	bool have_course;
	uint32_t pain_before;
	bool have_pain_before;
	bool keep;
	bool wait;
	uint32_t intensity;
	bool have_intensity;
	uint64_t duration_usec;
	bool daily;
	uint32_t sessions;
	uint32_t every_days;
	uint64_t start_usec;
	uint64_t since_usec;
	uint32_t limit;
	const char *output;
	unsigned int count; /* monitor: updates to print, 0: until SIGINT */
	bool legend;
	bool yes;	/* erase-patient: no question asked */
	bool dry_run;	/* erase-patient: count only */
};

extern struct options arg;

/* Connect on first use: --bus, $MASSAGECTL_BUS_ADDRESS or the system bus. */
int context_bus(struct context *c, sd_bus **ret);
void context_done(struct context *c);

/*
 * Log the failure of @what ("Failed to @what: <the daemon's message>")
 * and return the errno of its exit status (see above).
 */
int bus_log_call_error(const char *what, const sd_bus_error *error, int r);
int bus_log_parse_error(int r);

/* Call @method with no arguments and no reply. */
int massager_call_simple(struct context *c, const char *method,
			 const char *what);

struct massager_progress {
	uint32_t step, steps, repetition, repetitions;
	uint64_t step_left_usec, session_left_usec;
	bool waiting;
};

struct massager_loop_stats {
	uint64_t overruns;
	uint64_t wakeup_p50_usec, wakeup_p99_usec, wakeup_max_usec;
	uint64_t loop_p50_usec, loop_p99_usec, loop_max_usec;
};

struct massager_status {
	char *state, *status_text, *device, *fault_reason, *fault_text;
	char *program, *patient, *site, *held_reason;
	bool realtime, calibrated, contact;
	double frequency_min, frequency_max, target_frequency, held_frequency;
	double frequency, amplitude;
	uint32_t intensity_max, intensity, thermal_headroom;
	uint64_t session_id;
	struct massager_progress progress;
	struct massager_loop_stats loop;
	bool have_loop;
};

/* The State values in which a session is under way. */
bool state_has_session(const char *state);
void massager_status_done(struct massager_status *s);
/* Read an a{sv} (GetAll, PropertiesChanged) into @s; unknown keys skipped. */
int massager_status_read(sd_bus_message *m, struct massager_status *s);
int massager_status_get(struct context *c, struct massager_status *s);

/* massagectl-monitor.c */
int verb_monitor(int argc, char **argv, void *userdata);
/*
 * Wait until session @id ends (SessionFinished); the match must have been
 * added by session_wait_prepare() before the session was started, so that
 * a session that ends at once is not missed. SIGINT stops the session,
 * unless --keep.
 */
struct session_wait;
int session_wait_prepare(struct context *c, struct session_wait **ret);
int session_wait_run(struct context *c, struct session_wait *w, uint64_t id);
struct session_wait *session_wait_free(struct session_wait *w);
static inline void session_wait_freep(struct session_wait **w)
{
	*w = session_wait_free(*w);
}

#endif
