// SPDX-License-Identifier: MIT
/*
 * massagectl-monitor.c - "monitor", one live line from PropertiesChanged,
 * and "start --wait", which stays until the session's SessionFinished.
 *
 * Both subscribe before they read or start anything, so that no change
 * and no end of session falls between the subscription and the call.
 *
 * On a terminal the live line is redrawn at every update (about ten a
 * second while the motor runs). Anywhere else (a log, a pipe) it is a new
 * line each time, so there it is printed when the state, the contact, the
 * session or its step changes, and otherwise at most once a second: the
 * last update of a second that got no line is printed when it ends.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "massagectl.h"
#include "massagectl-util.h"

#define STOP_TIMEOUT_USEC (10 * USEC_PER_SEC_)

struct session_wait {
	struct context *c;
	sd_event *event;
	sd_bus_slot *slots[5];
	struct massager_status s;
	bool have_status;
	bool tty;	   /* redraw one line, rather than a line per update */
	bool line_open;	   /* a line without its newline is on the tty */
	bool live;	   /* print the live line at all */
	unsigned int printed;
	/* not a tty: what the last line showed, and its second */
	sd_event_source *pending;	/* prints a held update at the next second */
	uint64_t line_sec;
	char *line_state;
	bool line_contact, line_waiting;
	uint64_t line_session;
	uint32_t line_step, line_repetition;
	/* the step the bar measures against: its length as first seen */
	uint64_t bar_session;
	uint32_t bar_step;
	uint64_t bar_step_total_usec;
	/* start --wait */
	bool waiting;
	uint64_t id;
	char *outcome;
	bool stop_sent;
	int result;
};

struct session_wait *session_wait_free(struct session_wait *w)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(w->slots); i++)
		sd_bus_slot_unref(w->slots[i]);
	sd_event_source_disable_unref(w->pending);
	if (w->c && w->c->bus && w->event)
		sd_bus_detach_event(w->c->bus);
	sd_event_unref(w->event);
	massager_status_done(&w->s);
	free(w->line_state);
	free(w->outcome);
	free(w);
	return NULL;
}

static void line_end(struct session_wait *w)
{
	if (w->line_open) {
		fputc('\n', stdout);
		w->line_open = false;
	}
}

static uint64_t now_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC_ + (uint64_t)ts.tv_nsec / 1000;
}

/* Not a tty: remember what this line shows, to tell a change from a tick. */
static void line_shown(struct session_wait *w)
{
	const struct massager_status *s = &w->s;

	w->line_sec = now_monotonic_usec() / USEC_PER_SEC_;
	free(w->line_state);
	/* NULL on ENOMEM: the next update then counts as a change */
	w->line_state = s->state ? strdup(s->state) : NULL;
	w->line_contact = s->contact;
	w->line_session = s->session_id;
	w->line_step = s->progress.step;
	w->line_repetition = s->progress.repetition;
	w->line_waiting = s->progress.waiting;
	if (w->pending)
		sd_event_source_set_enabled(w->pending, SD_EVENT_OFF);
}

static bool line_changed(const struct session_wait *w)
{
	const struct massager_status *s = &w->s;

	return !w->line_state || !s->state || strcmp(w->line_state, s->state) ||
	       w->line_contact != s->contact ||
	       w->line_session != s->session_id ||
	       w->line_step != s->progress.step ||
	       w->line_repetition != s->progress.repetition ||
	       w->line_waiting != s->progress.waiting;
}

static void print_status_line(struct session_wait *w)
{
	const struct massager_status *s = &w->s;
	const struct massager_progress *p = &s->progress;
	char line[256], bar[32], left[64];
	int n;

	n = snprintf(line, sizeof(line), "%-11s %5.1f Hz%s %6.2f m/s² %s",
		     s->state ? s->state : "?", s->frequency,
		     s->held_frequency > 0 ? " (target out of reach)" : "",
		     s->amplitude, s->contact ? "contact   " : "no contact");
	if (p->steps && s->session_id && state_has_session(s->state) && n > 0 &&
	    (size_t)n < sizeof(line)) {
		if (s->session_id != w->bar_session || p->step != w->bar_step ||
		    p->step_left_usec > w->bar_step_total_usec) {
			w->bar_session = s->session_id;
			w->bar_step = p->step;
			w->bar_step_total_usec = p->step_left_usec;
		}
		snprintf(line + n, sizeof(line) - (size_t)n,
			 "  %s step %u/%u rep %u/%u, %s left%s",
			 format_progress_bar(
				 bar, sizeof(bar),
				 session_fraction(p->step, p->steps,
						  p->step_left_usec,
						  w->bar_step_total_usec),
				 20),
			 p->step + 1, p->steps, p->repetition, p->repetitions,
			 format_timespan(left, sizeof(left),
					 p->session_left_usec),
			 p->waiting ? ", waiting for continue" : "");
	}
	if (w->tty) {
		/* Back to the start of the line, and clear what was longer. */
		printf("\r%s\033[K", line);
		w->line_open = true;
	} else {
		printf("%s\n", line);
		line_shown(w);
	}
	fflush(stdout);
	w->printed++;
	if (arg.count && w->printed >= arg.count && !w->waiting && w->event)
		sd_event_exit(w->event, 0);
}

/* An event worth its own line (fault, end of session), above the live one. */
static void print_event_line(struct session_wait *w, const char *fmt, ...)
	_printf_(2, 3);
static void print_event_line(struct session_wait *w, const char *fmt, ...)
{
	va_list ap;

	if (w->tty && w->line_open)
		printf("\r\033[K");
	w->line_open = false;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int on_pending(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	print_status_line(userdata);
	return 0;
}

/*
 * An update: on a tty, redraw; elsewhere a line now if something changed
 * or the second did, else hold it until the second ends (if no line comes
 * before, on_pending prints the latest values then).
 */
static void status_updated(struct session_wait *w)
{
	uint64_t sec;
	int r;

	sec = now_monotonic_usec() / USEC_PER_SEC_;
	if (w->tty || !w->event || sec != w->line_sec || line_changed(w)) {
		print_status_line(w);
		return;
	}
	if (!w->pending) {
		r = sd_event_add_time(w->event, &w->pending, CLOCK_MONOTONIC,
				      (sec + 1) * USEC_PER_SEC_, 0, on_pending,
				      w);
		if (r < 0) {
			/* without the timer, a line too many beats none */
			print_status_line(w);
			return;
		}
	} else {
		sd_event_source_set_time(w->pending, (sec + 1) * USEC_PER_SEC_);
	}
	sd_event_source_set_enabled(w->pending, SD_EVENT_ONESHOT);
}

static int on_properties_changed(sd_bus_message *m, void *userdata,
				 sd_bus_error *ret_error)
{
	struct session_wait *w = userdata;
	const char *interface;
	int r;

	(void)ret_error;
	r = sd_bus_message_read(m, "s", &interface);
	if (r < 0 || strcmp(interface, MASSAGER_INTERFACE))
		return 0;
	r = massager_status_read(m, &w->s);
	if (r < 0) {
		bus_log_parse_error(r);
		return 0;
	}
	if (w->live && w->have_status)
		status_updated(w);
	return 0;
}

static int on_session_finished(sd_bus_message *m, void *userdata,
			       sd_bus_error *ret_error)
{
	struct session_wait *w = userdata;
	const char *outcome;
	uint64_t id;
	int r;

	(void)ret_error;
	r = sd_bus_message_read(m, "ts", &id, &outcome);
	if (r < 0)
		return 0;
	if (!w->waiting) {
		print_event_line(w, "Session %llu finished: %s.",
				 (unsigned long long)id, outcome);
		return 0;
	}
	/*
	 * Signals are dispatched only in the event loop, after the start
	 * call returned the id, yet were queued since the match was added.
	 */
	if (id != w->id || w->outcome)
		return 0;
	w->outcome = strdup(outcome);
	if (!w->outcome)
		w->result = log_error_errno(-ENOMEM, "Out of memory.");
	sd_event_exit(w->event, 0);
	return 0;
}

static int on_fault(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct session_wait *w = userdata;
	const char *reason, *text;

	(void)ret_error;
	if (sd_bus_message_read(m, "ss", &reason, &text) < 0)
		return 0;
	print_event_line(w, "Fault: %s%s%s", reason, *text ? ": " : "", text);
	return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata,
				 sd_bus_error *ret_error)
{
	struct session_wait *w = userdata;
	const char *name, *old_owner, *new_owner;
	int r;

	(void)ret_error;
	r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
	if (r < 0 || strcmp(name, MASSAGER_BUS_NAME))
		return 0;
	if (*new_owner) {
		if (!w->waiting) {
			print_event_line(w, "massaged is back.");
			massager_status_done(&w->s);
			if (massager_status_get(w->c, &w->s) >= 0 && w->live)
				print_status_line(w);
		}
		return 0;
	}
	if (w->waiting) {
		line_end(w);
		log_error("massaged went away; a session cannot outlive it, the motor is off.");
		w->result = -EHOSTDOWN;
		sd_event_exit(w->event, 0);
		return 0;
	}
	print_event_line(w, "massaged stopped; waiting for it to come back.");
	return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct session_wait *w = userdata;

	(void)s;
	(void)usec;
	line_end(w);
	log_error("Session %llu did not report its end in time; exiting, which also ends it.",
		  (unsigned long long)w->id);
	w->result = -ETIMEDOUT;
	return sd_event_exit(w->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *userdata)
{
	struct session_wait *w = userdata;
	int r;

	(void)s;
	(void)si;
	if (!w->waiting)
		return sd_event_exit(w->event, 0);
	if (w->stop_sent) {
		log_error("Not waiting any longer; session %llu ends with this connection.",
			  (unsigned long long)w->id);
		w->result = -EINTR;
		return sd_event_exit(w->event, 0);
	}
	if (arg.keep) {
		line_end(w);
		printf("Leaving session %llu running; \"massagectl stop\" stops it.\n",
		       (unsigned long long)w->id);
		w->result = 1; /* detached: success, no outcome */
		return sd_event_exit(w->event, 0);
	}
	line_end(w);
	printf("Stopping session %llu...\n", (unsigned long long)w->id);
	fflush(stdout);
	w->stop_sent = true;
	r = massager_call_simple(w->c, "Stop", "stop");
	if (r < 0) {
		/* Our connection closing still ends it (outlive_client=false). */
		w->result = r;
		return sd_event_exit(w->event, 0);
	}
	r = sd_event_add_time_relative(w->event, NULL, CLOCK_MONOTONIC,
				       STOP_TIMEOUT_USEC, 0, on_stop_timeout, w);
	if (r < 0)
		return sd_event_exit(w->event, 0);
	return 0;
}

static int add_matches(struct session_wait *w, sd_bus *bus, bool properties)
{
	int r;

	r = sd_bus_match_signal(bus, &w->slots[0], MASSAGER_BUS_NAME,
				MASSAGER_PATH, MASSAGER_INTERFACE,
				"SessionFinished", on_session_finished, w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, &w->slots[1], MASSAGER_BUS_NAME,
					MASSAGER_PATH, MASSAGER_INTERFACE,
					"Fault", on_fault, w);
	if (r >= 0)
		r = sd_bus_add_match(bus, &w->slots[2],
				     "type='signal',sender='org.freedesktop.DBus',"
				     "path='/org/freedesktop/DBus',"
				     "interface='org.freedesktop.DBus',"
				     "member='NameOwnerChanged',"
				     "arg0='" MASSAGER_BUS_NAME "'",
				     on_name_owner_changed, w);
	if (r >= 0 && properties)
		r = sd_bus_match_signal(bus, &w->slots[3], MASSAGER_BUS_NAME,
					MASSAGER_PATH,
					"org.freedesktop.DBus.Properties",
					"PropertiesChanged",
					on_properties_changed, w);
	if (r < 0) {
		log_error_errno(r, "Failed to subscribe to massaged's signals: %m");
		return r == -EINVAL ? -EIO : r;
	}
	return 0;
}

static int session_wait_new(struct context *c, bool waiting,
			    struct session_wait **ret)
{
	struct session_wait *w;
	sd_bus *bus;
	int r;

	r = context_bus(c, &bus);
	if (r < 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		return log_error_errno(-ENOMEM, "Out of memory.");
	w->c = c;
	w->waiting = waiting;
	w->tty = isatty(STDOUT_FILENO);
	/* Without a tty, a script waiting for the end wants the end only. */
	w->live = !waiting || w->tty;
	r = add_matches(w, bus, w->live);
	if (r < 0) {
		session_wait_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

/* Run the event loop until exit; Ctrl-C and SIGTERM go to on_signal(). */
static int session_wait_loop(struct session_wait *w)
{
	sigset_t mask;
	int r;

	r = sd_event_new(&w->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create an event loop: %m");
	/*
	 * A shell starts background commands with SIGINT ignored, and an
	 * ignored signal never reaches a signalfd: "kill -INT" must still
	 * stop the session, as massagectl(1) promises.
	 */
	signal(SIGINT, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block signals: %m");
	r = sd_event_add_signal(w->event, NULL, SIGINT, on_signal, w);
	if (r >= 0)
		r = sd_event_add_signal(w->event, NULL, SIGTERM, on_signal, w);
	if (r >= 0)
		r = sd_bus_attach_event(w->c->bus, w->event, 0);
	if (r < 0)
		return log_error_errno(r == -EINVAL ? -EIO : r,
				       "Failed to set up the event loop: %m");
	r = sd_event_loop(w->event);
	line_end(w);
	if (r < 0)
		return log_error_errno(r == -EINVAL ? -EIO : r,
				       "Event loop failed: %m");
	return 0;
}

int verb_monitor(int argc, char **argv, void *userdata)
{
	_cleanup_(session_wait_freep) struct session_wait *w = NULL;
	struct context *c = userdata;
	int r;

	(void)argc;
	(void)argv;
	r = session_wait_new(c, false, &w);
	if (r < 0)
		return r;
	/* Subscribed first, then read: nothing falls in between. */
	r = massager_status_get(c, &w->s);
	if (r < 0)
		return r;
	w->have_status = true;
	print_status_line(w);
	if (arg.count && w->printed >= arg.count)
		return 0;
	r = session_wait_loop(w);
	if (r < 0)
		return r;
	return w->result < 0 ? w->result : 0;
}

int session_wait_prepare(struct context *c, struct session_wait **ret)
{
	return session_wait_new(c, true, ret);
}

int session_wait_run(struct context *c, struct session_wait *w, uint64_t id)
{
	int r;

	w->id = id;
	if (w->live) {
		r = massager_status_get(c, &w->s);
		if (r < 0)
			return r;
		w->have_status = true;
		print_status_line(w);
	}
	r = session_wait_loop(w);
	if (r < 0)
		return r;
	if (w->result == 1)
		return 0;
	if (w->result < 0)
		return w->result;
	if (!w->outcome)
		return log_error_errno(-EIO, "Session %llu: no outcome.",
				       (unsigned long long)id);
	if (!strcmp(w->outcome, "completed")) {
		printf("Session %llu completed.\n", (unsigned long long)id);
		return 0;
	}
	log_error("Session %llu ended: %s.", (unsigned long long)id,
		  w->outcome);
	return -EREMOTEIO;
}
