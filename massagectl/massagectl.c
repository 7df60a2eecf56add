// SPDX-License-Identifier: MIT
/*
 * massagectl.c - the command-line client of massaged, in the manner of
 * timedatectl: a table of verbs, one D-Bus call each, plain output.
 *
 * Arguments are parsed completely before the bus is touched, so a bad
 * argument exits with status 2 and never reaches the daemon half-parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "massagectl.h"
#include "massagectl-table.h"
#include "massagectl-util.h"

/* vibrate without --intensity: half, as the shipped programs use. */
#define VIBRATE_DEFAULT_PERMILLE 500

#ifndef MASSAGECTL_VERSION
#define MASSAGECTL_VERSION "0.1"
#endif

struct options arg = {
	.duration_usec = 30 * USEC_PER_SEC_,
	.legend = true,
};

int log_error_errno(int error, const char *fmt, ...)
{
	va_list ap;

	if (error > 0)
		error = -error;
	fputs("massagectl: ", stderr);
	errno = -error;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return error;
}

static uint64_t now_realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC_ +
	       (uint64_t)ts.tv_nsec / 1000;
}

/* ---- verbs ---------------------------------------------------------- */

typedef int (*verb_fn)(int argc, char **argv, void *userdata);

struct verb {
	const char *name;
	int min_args, max_args; /* including the verb itself */
	verb_fn fn;
	bool is_default;
};

#define VERB_ANY (-1)

static int dispatch_verb(int argc, char **argv, const struct verb *verbs,
			 size_t n, const char *parent, void *userdata)
{
	const struct verb *v = NULL;

	if (argc == 0) {
		for (size_t i = 0; i < n; i++)
			if (verbs[i].is_default)
				return verbs[i].fn(0, argv, userdata);
		return log_usage("%s needs a command; see massagectl --help.",
				 parent ? parent : "massagectl");
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(verbs[i].name, argv[0]))
			v = &verbs[i];
	if (!v) {
		if (parent)
			return log_usage("Unknown command \"%s %s\"; see massagectl --help.",
					 parent, argv[0]);
		return log_usage("Unknown command \"%s\"; see massagectl --help.",
				 argv[0]);
	}
	if (v->min_args != VERB_ANY && argc < v->min_args)
		return log_usage("Too few arguments for \"%s%s%s\"; see massagectl --help.",
				 parent ? parent : "", parent ? " " : "",
				 v->name);
	if (v->max_args != VERB_ANY && argc > v->max_args)
		return log_usage("Too many arguments for \"%s%s%s\"; see massagectl --help.",
				 parent ? parent : "", parent ? " " : "",
				 v->name);
	return v->fn(argc, argv, userdata);
}

/* Say what was wrong with an argument; -EINVAL (exit status 2). */
static int bad_argument(int r, const char *what, const char *value,
			const char *expected)
{
	if (r == -ERANGE)
		return log_usage("Out of range %s \"%s\": expected %s.", what,
				 value, expected);
	return log_usage("Invalid %s \"%s\": expected %s.", what, value,
			 expected);
}

static int parse_id_arg(const char *what, const char *s, uint64_t *ret)
{
	int r = parse_id(s, ret);

	return r < 0 ? bad_argument(r, what, s, "a number above 0") : 0;
}

static int call_error(const char *what, sd_bus_error *error, int r)
{
	r = bus_log_call_error(what, error, r);
	sd_bus_error_free(error);
	return r;
}

static int new_method_call(struct context *c, const char *method,
			   sd_bus_message **ret)
{
	sd_bus *bus;
	int r;

	r = context_bus(c, &bus);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_call(bus, ret, MASSAGER_BUS_NAME,
					   MASSAGER_PATH, MASSAGER_INTERFACE,
					   method);
	if (r < 0)
		return log_error_errno(r == -EINVAL ? -EIO : r,
				       "Failed to create a bus message: %m");
	return 0;
}

/* Call @m; on failure log "Failed to @what: ..." and map the error. */
static int call(struct context *c, sd_bus_message *m, const char *what,
		sd_bus_message **ret_reply)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call(c->bus, m, 0, &error, ret_reply);
	if (r < 0)
		return call_error(what, &error, r);
	return 0;
}

static int append_failed(int r)
{
	log_error_errno(r, "Failed to build the bus message: %m");
	return r == -EINVAL ? -EIO : r;
}

/*
 * The a{sv} of StartProgram, StartManual, Enqueue and Plan; @outlive < 0
 * leaves "outlive_client" out.
 */
static int append_session_options(sd_bus_message *m, int outlive)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0 && arg.patient)
		r = sd_bus_message_append(m, "{sv}", "patient", "s",
					  arg.patient);
	if (r >= 0 && arg.have_course)
		r = sd_bus_message_append(m, "{sv}", "course", "t", arg.course);
	if (r >= 0 && arg.have_pain_before)
		r = sd_bus_message_append(m, "{sv}", "pain_before", "u",
					  arg.pain_before);
	if (r >= 0 && outlive >= 0)
		r = sd_bus_message_append(m, "{sv}", "outlive_client", "b",
					  outlive);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r < 0 ? append_failed(r) : 0;
}

/* The table, and a footer "N things." unless --no-legend; "No things." */
static void table_show(const struct table *t, const char *one,
		       const char *many, const char *note)
{
	size_t n = table_rows(t);

	if (n == 0) {
		if (arg.legend)
			printf("No %s.\n", many);
		return;
	}
	table_print(t, stdout, arg.legend);
	if (arg.legend)
		printf("\n%zu %s.%s%s\n", n, n == 1 ? one : many,
		       note ? " " : "", note ? note : "");
}

static const char *empty_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_field(const char *label, const char *fmt, ...)
	_printf_(2, 3);
static void print_field(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%20s: ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int verb_status(int argc, char **argv, void *userdata)
{
	_cleanup_(massager_status_done) struct massager_status s = { 0 };
	struct context *c = userdata;
	char a[64], b[64];
	int r;

	(void)argc;
	(void)argv;
	r = massager_status_get(c, &s);
	if (r < 0)
		return r;

	print_field("State", "%s", empty_dash(s.state));
	if (s.status_text && *s.status_text)
		print_field("Status", "%s", s.status_text);
	print_field("Device", "%s", empty_dash(s.device));
	print_field("Calibrated", "%s", s.calibrated ? "yes" : "no");
	print_field("Real-time", "%s",
		    s.realtime ? "yes" : "no (degraded: no real-time guarantee)");
	print_field("Band", "%.1f-%.1f Hz", s.frequency_min, s.frequency_max);
	/* 0: the drive is off or the estimate is not valid yet */
	if (s.frequency > 0)
		print_field("Frequency", "%.1f Hz (target %.1f Hz)",
			    s.frequency, s.target_frequency);
	else
		print_field("Frequency", "- (target %.1f Hz)",
			    s.target_frequency);
	if (s.held_frequency > 0)
		print_field("Held", "%.1f Hz, not the target: %s",
			    s.held_frequency, empty_dash(s.held_reason));
	print_field("Amplitude", "%.2f m/s²", s.amplitude);
	print_field("Contact", "%s", s.contact ? "yes" : "no");
	print_field("Intensity", "%u‰ (max %u‰)", s.intensity,
		    s.intensity_max);
	/* Per mille on the bus, as the intensities. */
	print_field("Thermal headroom", "%.1f%%", s.thermal_headroom / 10.0);
	if ((s.fault_reason && *s.fault_reason) ||
	    (s.fault_text && *s.fault_text))
		print_field("Fault", "%s%s%s", empty_dash(s.fault_reason),
			    s.fault_text && *s.fault_text ? ": " : "",
			    s.fault_text ? s.fault_text : "");
	else
		print_field("Fault", "none");

	if (s.session_id) {
		const struct massager_progress *p = &s.progress;

		print_field(state_has_session(s.state) ? "Session" :
							 "Last session",
			    "%llu, program %s, patient %s",
			    (unsigned long long)s.session_id,
			    empty_dash(s.program), empty_dash(s.patient));
		print_field("Site", "%s", empty_dash(s.site));
		if (state_has_session(s.state) && p->steps) {
			char bar[32];

			print_field("Progress",
				    "%s step %u/%u, repetition %u/%u%s",
				    format_progress_bar(
					    bar, sizeof(bar),
					    session_fraction(p->step, p->steps,
							     0, 0),
					    20),
				    p->step + 1, p->steps, p->repetition,
				    p->repetitions,
				    p->waiting ? ", waiting for Continue" : "");
			print_field("Time left", "%s in this step, %s in all",
				    format_timespan(a, sizeof(a),
						    p->step_left_usec),
				    format_timespan(b, sizeof(b),
						    p->session_left_usec));
		}
	} else {
		print_field("Session", "none yet");
	}
	if (s.have_loop)
		print_field("Control loop",
			    "%llu overruns; wake-up %llu/%llu/%llu us, loop %llu/%llu/%llu us (p50/p99/max)",
			    (unsigned long long)s.loop.overruns,
			    (unsigned long long)s.loop.wakeup_p50_usec,
			    (unsigned long long)s.loop.wakeup_p99_usec,
			    (unsigned long long)s.loop.wakeup_max_usec,
			    (unsigned long long)s.loop.loop_p50_usec,
			    (unsigned long long)s.loop.loop_p99_usec,
			    (unsigned long long)s.loop.loop_max_usec);
	return 0;
}

static int verb_programs(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "NAME", "STEPS", "DURATION",
					      "TITLE", NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	const char *name, *title, *path;
	uint64_t usec;
	uint32_t steps;
	int r;

	(void)argc;
	(void)argv;
	r = new_method_call(c, "ListPrograms", &m);
	if (r < 0)
		return r;
	r = call(c, m, "list the programs", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(sssut)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(sssut)", &name, &title, &path,
					&steps, &usec)) > 0) {
		char n[16], d[64];
		const char *row[] = { name, n, format_timespan(d, sizeof(d), usec),
				      title };

		snprintf(n, sizeof(n), "%u", steps);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_show(t, "program", "programs", NULL);
	return 0;
}

static int verb_show_program(int argc, char **argv, void *userdata)
{
	static const char *const header[] = {
		"STEP", "SITE", "TECHNIQUE", "FREQ", "INTENSITY", "AMPLITUDE",
		"DURATION", "REPS", "REST", "ADVANCE", NULL
	};
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	const char *title, *description, *source, *path;
	struct context *c = userdata;
	unsigned int i = 0;
	int r;

	(void)argc;
	r = new_method_call(c, "GetProgram", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "s", argv[1]);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "get the program", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "ssss", &title, &description, &source,
				&path);
	if (r < 0)
		return bus_log_parse_error(r);
	printf("%s: %s\n", argv[1], title);
	print_field("Source", "%s", empty_dash(source));
	print_field("File", "%s", empty_dash(path));
	if (*description)
		printf("\n%s\n", description);
	putchar('\n');

	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(ssdudtutst)");
	if (r < 0)
		return bus_log_parse_error(r);
	for (;;) {
		const char *site, *technique, *advance;
		uint64_t duration, rest, pause;
		uint32_t intensity, reps;
		double freq, amplitude;
		char sn[16], f[24], in[24], am[24], du[64], rp[16], re[64],
			ad[96], pa[64];
		const char *row[10];

		r = sd_bus_message_read(reply, "(ssdudtutst)", &site,
					&technique, &freq, &intensity,
					&amplitude, &duration, &reps, &rest,
					&advance, &pause);
		if (r <= 0)
			break;
		snprintf(sn, sizeof(sn), "%u", ++i);
		snprintf(f, sizeof(f), "%.1f Hz", freq);
		snprintf(in, sizeof(in), intensity ? "%u‰" : "-", intensity);
		snprintf(am, sizeof(am), amplitude > 0 ? "%.1f m/s²" : "-",
			 amplitude);
		format_timespan(du, sizeof(du), duration);
		snprintf(rp, sizeof(rp), "%u", reps);
		format_timespan(re, sizeof(re), rest);
		if (pause)
			snprintf(ad, sizeof(ad), "%s %s", advance,
				 format_timespan(pa, sizeof(pa), pause));
		else
			snprintf(ad, sizeof(ad), "%s", advance);
		row[0] = sn;
		row[1] = site;
		row[2] = technique;
		row[3] = f;
		row[4] = in;
		row[5] = am;
		row[6] = du;
		row[7] = rp;
		row[8] = re;
		row[9] = ad;
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_print(t, stdout, arg.legend);
	return 0;
}

static int verb_start(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(session_wait_freep) struct session_wait *w = NULL;
	struct context *c = userdata;
	bool manual = !strcmp(argv[0], "vibrate");
	/*
	 * By default massagectl starts the session and exits, so the session
	 * must outlive this connection; with --wait we stay, and the session
	 * dies with us unless --keep.
	 */
	bool outlive = !arg.wait || arg.keep;
	uint64_t id;
	double hz = 0;
	int r;

	(void)argc;
	if (manual) {
		r = parse_frequency_hz(argv[1], &hz);
		if (r < 0)
			return bad_argument(r, "frequency", argv[1],
					    "a frequency in Hz such as 45 or 45Hz");
		if (arg.have_intensity && arg.intensity == 0)
			return log_usage("vibrate needs an intensity above 0; \"massagectl stop\" stops.");
	}

	if (arg.wait) {
		r = session_wait_prepare(c, &w);
		if (r < 0)
			return r;
	}
	r = new_method_call(c, manual ? "StartManual" : "StartProgram", &m);
	if (r < 0)
		return r;
	if (manual)
		r = sd_bus_message_append(m, "dut", hz,
					  arg.have_intensity ?
						  arg.intensity :
						  VIBRATE_DEFAULT_PERMILLE,
					  arg.duration_usec);
	else
		r = sd_bus_message_append(m, "s", argv[1]);
	if (r < 0)
		return append_failed(r);
	r = append_session_options(m, outlive);
	if (r < 0)
		return r;
	r = call(c, m, "start", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "t", &id);
	if (r < 0)
		return bus_log_parse_error(r);

	if (!arg.wait) {
		printf("Started session %llu (%s%s). It runs on after massagectl exits; \"massagectl stop\" stops it.\n",
		       (unsigned long long)id, argv[1], manual ? " Hz" : "");
		return 0;
	}
	printf("Started session %llu (%s%s). %s\n", (unsigned long long)id,
	       argv[1], manual ? " Hz" : "",
	       arg.keep ? "Ctrl-C leaves it running." : "Ctrl-C stops it.");
	fflush(stdout);
	return session_wait_run(c, w, id);
}

static int verb_simple(int argc, char **argv, void *userdata)
{
	static const struct {
		const char *verb, *method, *what, *done;
	} map[] = {
		{ "stop", "Stop", "stop", NULL },
		{ "pause", "Pause", "pause", NULL },
		{ "resume", "Resume", "resume", NULL },
		{ "continue", "Continue", "continue", NULL },
		{ "skip", "Skip", "skip the step", NULL },
		{ "calibrate", "Calibrate", "start a calibration",
		  "Calibration started; \"massagectl status\" shows when it is done." },
		{ "reset-estop", "ResetEstop", "reset the e-stop",
		  "E-stop reset. The motor stays off until a session is started." },
	};

	(void)argc;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		int r;

		if (strcmp(map[i].verb, argv[0]))
			continue;
		r = massager_call_simple(userdata, map[i].method, map[i].what);
		if (r >= 0 && map[i].done)
			puts(map[i].done);
		return r;
	}
	return -EIO;
}

static int verb_set_intensity(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	struct context *c = userdata;
	uint32_t v;
	int r;

	(void)argc;
	r = parse_intensity_permille(argv[1], &v);
	if (r < 0)
		return bad_argument(r, "intensity", argv[1],
				    "per mille 0..1000, or a percentage such as 60%");
	r = new_method_call(c, "SetIntensity", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "u", v);
	if (r < 0)
		return append_failed(r);
	return call(c, m, "set the intensity", NULL);
}

/* ---- queue ---------------------------------------------------------- */

static int verb_queue_list(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "ID", "PROGRAM", "PATIENT",
					      "COURSE", "PLANNED", NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	uint64_t id, course, planned;
	const char *program, *patient;
	int r;

	(void)argc;
	(void)argv;
	r = new_method_call(c, "ListQueue", &m);
	if (r < 0)
		return r;
	r = call(c, m, "list the queue", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(tsstt)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(tsstt)", &id, &program,
					&patient, &course, &planned)) > 0) {
		char i[24], co[24] = "-", p[32];
		const char *row[] = { i, program, empty_dash(patient), co,
				      format_timestamp(p, sizeof(p), planned) };

		snprintf(i, sizeof(i), "%llu", (unsigned long long)id);
		if (course)
			snprintf(co, sizeof(co), "%llu",
				 (unsigned long long)course);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_show(t, "queued session", "queued sessions", NULL);
	return 0;
}

static int verb_queue_add(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	struct context *c = userdata;
	uint64_t id;
	int r;

	(void)argc;
	if (arg.have_pain_before)
		return log_usage("--pain-before applies to a session being started; record it later with \"massagectl pain\".");
	r = new_method_call(c, "Enqueue", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "s", argv[1]);
	if (r < 0)
		return append_failed(r);
	r = append_session_options(m, -1);
	if (r < 0)
		return r;
	r = call(c, m, "add to the queue", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "t", &id);
	if (r < 0)
		return bus_log_parse_error(r);
	printf("Queued %s as entry %llu; it starts on \"massagectl continue\" or the handset button.\n",
	       argv[1], (unsigned long long)id);
	return 0;
}

static int call_with_id(struct context *c, const char *method, uint64_t id,
			const char *what)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = new_method_call(c, method, &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "t", id);
	if (r < 0)
		return append_failed(r);
	return call(c, m, what, NULL);
}

static int verb_queue_remove(int argc, char **argv, void *userdata)
{
	uint64_t id;
	int r;

	(void)argc;
	r = parse_id_arg("queue entry", argv[1], &id);
	if (r < 0)
		return r;
	return call_with_id(userdata, "Dequeue", id, "remove the queue entry");
}

static int verb_queue(int argc, char **argv, void *userdata)
{
	static const struct verb verbs[] = {
		{ "list", 1, 1, verb_queue_list, true },
		{ "add", 2, 2, verb_queue_add, false },
		{ "remove", 2, 2, verb_queue_remove, false },
	};

	return dispatch_verb(argc - 1, argv + 1, verbs, ARRAY_SIZE(verbs),
			     "queue", userdata);
}

/* ---- plan ----------------------------------------------------------- */

static int verb_plan_list(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "ID",   "PROGRAM",  "PATIENT",
					      "WHEN", "NEXT DUE", "DAILY",
					      NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	const char *program, *patient, *when;
	uint64_t id, due;
	int r, daily;

	(void)argc;
	(void)argv;
	r = new_method_call(c, "ListPlans", &m);
	if (r < 0)
		return r;
	r = call(c, m, "list the plans", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(tssstb)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(tssstb)", &id, &program,
					&patient, &when, &due, &daily)) > 0) {
		char i[24], d[32], w[32];
		const char *row[] = { i,
				      program,
				      empty_dash(patient),
				      w,
				      format_timestamp(d, sizeof(d), due),
				      daily ? "yes" : "no" };
		uint64_t usec;

		snprintf(i, sizeof(i), "%llu", (unsigned long long)id);
		/* An absolute time is microseconds: show it as a date. */
		if (!strchr(when, ':') && parse_id(when, &usec) == 0)
			format_timestamp(w, sizeof(w), usec);
		else
			snprintf(w, sizeof(w), "%s", empty_dash(when));
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_show(t, "plan", "plans", NULL);
	return 0;
}

static int verb_plan_add(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	struct context *c = userdata;
	char when[32];
	uint64_t id;
	int r;

	(void)argc;
	if (arg.have_pain_before)
		return log_usage("--pain-before applies to a session being started; record it later with \"massagectl pain\".");
	r = parse_plan_when(argv[2], when, sizeof(when));
	if (r < 0)
		return bad_argument(r, "time", argv[2],
				    "HH:MM, or \"YYYY-MM-DD HH:MM\" in local time");
	r = new_method_call(c, "Plan", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ssb", argv[1], when, arg.daily);
	if (r < 0)
		return append_failed(r);
	r = append_session_options(m, -1);
	if (r < 0)
		return r;
	r = call(c, m, "plan the session", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "t", &id);
	if (r < 0)
		return bus_log_parse_error(r);
	printf("Planned %s at %s%s as plan %llu; at its time it joins the queue, it never starts by itself.\n",
	       argv[1], argv[2], arg.daily ? " daily" : "",
	       (unsigned long long)id);
	return 0;
}

static int verb_plan_remove(int argc, char **argv, void *userdata)
{
	uint64_t id;
	int r;

	(void)argc;
	r = parse_id_arg("plan", argv[1], &id);
	if (r < 0)
		return r;
	return call_with_id(userdata, "CancelPlan", id, "cancel the plan");
}

static int verb_plan(int argc, char **argv, void *userdata)
{
	static const struct verb verbs[] = {
		{ "list", 1, 1, verb_plan_list, true },
		{ "add", 3, 3, verb_plan_add, false },
		{ "remove", 2, 2, verb_plan_remove, false },
	};

	return dispatch_verb(argc - 1, argv + 1, verbs, ARRAY_SIZE(verbs),
			     "plan", userdata);
}

/* ---- course --------------------------------------------------------- */

static int verb_course_list(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "ID",	"PATIENT", "PROGRAM",
					      "DONE",	"MISSED",  "DUE",
					      "NEXT DUE", NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	uint32_t sessions, done, missed, due;
	const char *patient, *program;
	uint64_t id, next;
	int r;

	(void)argc;
	(void)argv;
	r = new_method_call(c, "ListCourses", &m);
	if (r < 0)
		return r;
	r = call(c, m, "list the courses", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(tssuuuut)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(tssuuuut)", &id, &patient,
					&program, &sessions, &done, &missed,
					&due, &next)) > 0) {
		char i[24], dn[32], mi[16], du[16], nx[32];
		const char *row[] = { i,  patient, program,
				      dn, mi,	   du,
				      format_timestamp(nx, sizeof(nx), next) };

		snprintf(i, sizeof(i), "%llu", (unsigned long long)id);
		snprintf(dn, sizeof(dn), "%u/%u", done, sessions);
		snprintf(mi, sizeof(mi), "%u", missed);
		snprintf(du, sizeof(du), "%u", due);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_show(t, "course", "courses", NULL);
	return 0;
}

static int verb_course_create(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	struct context *c = userdata;
	uint64_t id;
	int r;

	(void)argc;
	if (!*argv[1])
		return log_usage("The patient must not be empty.");
	if (!arg.sessions)
		return log_usage("course create needs --sessions=N.");
	if (!arg.every_days)
		return log_usage("course create needs --every=DAYS.");
	r = new_method_call(c, "CreateCourse", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ssuut", argv[1], argv[2], arg.sessions,
				  arg.every_days, arg.start_usec);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "create the course", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "t", &id);
	if (r < 0)
		return bus_log_parse_error(r);
	printf("Created course %llu: %s for %s, %u sessions, one every %u day%s.\n",
	       (unsigned long long)id, argv[2], argv[1], arg.sessions,
	       arg.every_days, arg.every_days == 1 ? "" : "s");
	return 0;
}

static int verb_course_dose(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "SITE", "SESSIONS", "CONTACT",
					      "DOSE", NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	uint64_t id, contact;
	uint32_t sessions;
	const char *site;
	double dose;
	int r;

	(void)argc;
	r = parse_id_arg("course", argv[1], &id);
	if (r < 0)
		return r;
	r = new_method_call(c, "GetCourseDose", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "t", id);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "get the course's dose", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(sutd)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(sutd)", &site, &sessions,
					&contact, &dose)) > 0) {
		char se[16], co[64], d[32];
		const char *row[] = { site, se,
				      format_timespan(co, sizeof(co), contact),
				      d };

		snprintf(se, sizeof(se), "%u", sessions);
		snprintf(d, sizeof(d), "%.1f m/s²·s", dose);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	if (table_rows(t) == 0) {
		printf("No dose recorded for course %llu yet.\n",
		       (unsigned long long)id);
		return 0;
	}
	table_print(t, stdout, arg.legend);
	return 0;
}

static int verb_course(int argc, char **argv, void *userdata)
{
	static const struct verb verbs[] = {
		{ "list", 1, 1, verb_course_list, true },
		{ "create", 3, 3, verb_course_create, false },
		{ "dose", 2, 2, verb_course_dose, false },
	};

	return dispatch_verb(argc - 1, argv + 1, verbs, ARRAY_SIZE(verbs),
			     "course", userdata);
}

/* ---- pain, history, export ------------------------------------------ */

static int verb_pain(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	struct context *c = userdata;
	uint32_t score;
	uint64_t id;
	int r;

	(void)argc;
	r = parse_id_arg("session", argv[1], &id);
	if (r < 0)
		return r;
	if (strcmp(argv[2], "before") && strcmp(argv[2], "after"))
		return bad_argument(-EINVAL, "moment", argv[2],
				    "\"before\" or \"after\"");
	r = parse_pain_score(argv[3], &score);
	if (r < 0)
		return bad_argument(r, "pain score", argv[3],
				    "a whole number 0..10");
	r = new_method_call(c, "SetPainScore", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "tsu", id, argv[2], score);
	if (r < 0)
		return append_failed(r);
	return call(c, m, "record the pain score", NULL);
}

static void format_pain(char *buf, size_t size, int32_t before, int32_t after)
{
	char b[12] = "-", a[12] = "-";

	if (before >= 0)
		snprintf(b, sizeof(b), "%d", before);
	if (after >= 0)
		snprintf(a, sizeof(a), "%d", after);
	snprintf(buf, size, "%s→%s", b, a);
}

static int verb_history_list(int argc, char **argv, void *userdata)
{
	static const char *const header[] = {
		"ID",	   "STARTED", "DURATION", "PROGRAM", "PATIENT",
		"OUTCOME", "CONTACT", "DOSE",	  "PAIN",    NULL
	};
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	const char *program, *patient, *outcome;
	uint64_t id, started, ended, contact;
	struct context *c = userdata;
	int32_t before, after;
	double dose;
	int r;

	(void)argc;
	(void)argv;
	r = new_method_call(c, "ListSessions", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "tu", arg.since_usec, arg.limit);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "list the sessions", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(tssttstdii)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(tssttstdii)", &id, &program,
					&patient, &started, &ended, &outcome,
					&contact, &dose, &before, &after)) > 0) {
		char i[24], st[32], du[64], co[64], d[32], p[32];
		const char *row[] = { i,       st, du, program, empty_dash(patient),
				      outcome, co, d,  p };

		snprintf(i, sizeof(i), "%llu", (unsigned long long)id);
		format_timestamp(st, sizeof(st), started);
		if (ended >= started && ended)
			format_timespan(du, sizeof(du), ended - started);
		else
			snprintf(du, sizeof(du), "-");
		format_timespan(co, sizeof(co), contact);
		snprintf(d, sizeof(d), "%.1f", dose);
		format_pain(p, sizeof(p), before, after);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_show(t, "session", "sessions",
		   "DOSE in m/s²·s, PAIN before→after (0-10).");
	return 0;
}

static int verb_history_show(int argc, char **argv, void *userdata)
{
	static const char *const header[] = { "STEP",	 "SITE", "FREQ",
					      "CONTACT", "DOSE", "OUTCOME",
					      NULL };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	struct context *c = userdata;
	const char *site, *outcome;
	uint64_t id, contact;
	double freq, dose;
	uint32_t step;
	int r;

	(void)argc;
	r = parse_id_arg("session", argv[1], &id);
	if (r < 0)
		return r;
	r = new_method_call(c, "GetSession", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "t", id);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "get the session", &reply);
	if (r < 0)
		return r;
	t = table_new(header);
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = sd_bus_message_enter_container(reply, 'a', "(usdtds)");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "(usdtds)", &step, &site, &freq,
					&contact, &dose, &outcome)) > 0) {
		char s[16], f[24], co[64], d[32];
		const char *row[] = { s,
				      site,
				      f,
				      format_timespan(co, sizeof(co), contact),
				      d,
				      outcome };

		snprintf(s, sizeof(s), "%u", step + 1);
		snprintf(f, sizeof(f), "%.1f Hz", freq);
		snprintf(d, sizeof(d), "%.1f m/s²·s", dose);
		if (table_add_row(t, row) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (r < 0)
		return bus_log_parse_error(r);
	table_print(t, stdout, arg.legend);
	return 0;
}

static int verb_history(int argc, char **argv, void *userdata)
{
	static const struct verb verbs[] = {
		{ "list", 1, 1, verb_history_list, true },
		{ "show", 2, 2, verb_history_show, false },
	};

	return dispatch_verb(argc - 1, argv + 1, verbs, ARRAY_SIZE(verbs),
			     "history", userdata);
}

static int write_all(int fd, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, data, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += k;
		n -= (size_t)k;
	}
	return 0;
}

static int verb_export(int argc, char **argv, void *userdata)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(freep) char *tmp = NULL;
	struct context *c = userdata;
	const char *data;
	int r, fd;

	(void)argc;
	if (strcmp(argv[1], "csv") && strcmp(argv[1], "json"))
		return bad_argument(-EINVAL, "format", argv[1],
				    "\"csv\" or \"json\"");
	r = new_method_call(c, "ExportHistory", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "st", argv[1], arg.since_usec);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, "export the history", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "s", &data);
	if (r < 0)
		return bus_log_parse_error(r);

	if (!arg.output || !strcmp(arg.output, "-")) {
		r = write_all(STDOUT_FILENO, data, strlen(data));
		if (r < 0)
			return log_error_errno(r, "Failed to write the export: %m") ==
					       -EINVAL ? -EIO : r;
		return 0;
	}
	/* Write beside it and rename, so a reader never sees half a file. */
	if (asprintf(&tmp, "%s.XXXXXX", arg.output) < 0) {
		tmp = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		log_error_errno(errno, "Failed to create %s: %m", tmp);
		return -EIO;
	}
	r = write_all(fd, data, strlen(data));
	if (r >= 0 && fchmod(fd, 0640) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, arg.output) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		log_error_errno(r, "Failed to write %s: %m", arg.output);
		return -EIO;
	}
	return 0;
}

/* ---- erase-patient -------------------------------------------------- */

struct erased {
	uint32_t sessions, steps, events, queue, plans, courses;
};

static int erase_call(struct context *c, const char *patient, bool dry_run,
		      struct erased *ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	const struct {
		const char *key;
		uint32_t *n;
	} keys[] = {
		{ "sessions", &ret->sessions }, { "steps", &ret->steps },
		{ "events", &ret->events },	{ "queue", &ret->queue },
		{ "plans", &ret->plans },	{ "courses", &ret->courses },
	};
	const char *key;
	uint32_t n;
	int r;

	*ret = (struct erased){ 0 };
	r = new_method_call(c, "ErasePatient", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "sb", patient, dry_run);
	if (r < 0)
		return append_failed(r);
	r = call(c, m, dry_run ? "count the patient's records" :
				 "erase the patient's records", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{su}");
	if (r < 0)
		return bus_log_parse_error(r);
	while ((r = sd_bus_message_read(reply, "{su}", &key, &n)) > 0)
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strcmp(keys[i].key, key))
				*keys[i].n = n;
	return r < 0 ? bus_log_parse_error(r) : 0;
}

static const char *plural(uint32_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void erased_print(const char *verb, const char *patient,
			 const struct erased *e)
{
	if (!e->sessions && !e->queue && !e->plans && !e->courses) {
		printf("Nothing is recorded for \"%s\" (the name must match exactly, case and spaces included).\n",
		       patient);
		return;
	}
	printf("%s for \"%s\": %u %s (%u %s, %u %s), %u %s, %u %s, %u %s.\n",
	       verb, patient, e->sessions,
	       plural(e->sessions, "session", "sessions"), e->steps,
	       plural(e->steps, "step", "steps"), e->events,
	       plural(e->events, "event", "events"), e->queue,
	       plural(e->queue, "queue entry", "queue entries"), e->plans,
	       plural(e->plans, "plan", "plans"), e->courses,
	       plural(e->courses, "course", "courses"));
}

/*
 * Destroys records for good, so it asks: --dry-run only counts, --yes
 * (for scripts) erases at once, and otherwise a person at a terminal
 * sees the counts and types the name again.  Without a terminal and
 * without --yes it refuses before touching the bus.
 */
static int verb_erase_patient(int argc, char **argv, void *userdata)
{
	struct context *c = userdata;
	const char *patient = argv[1];
	struct erased e;
	char line[256];
	size_t n;
	int r;

	(void)argc;
	if (!*patient)
		return log_usage("erase-patient needs the patient's name, exactly as recorded.");
	if (arg.dry_run) {
		r = erase_call(c, patient, true, &e);
		if (r >= 0)
			erased_print("Would erase", patient, &e);
		return r;
	}
	if (!arg.yes) {
		if (!isatty(STDIN_FILENO))
			return log_usage("erase-patient destroys treatment records for good: run it on a terminal to confirm, or pass --yes (scripts).");
		r = erase_call(c, patient, true, &e);
		if (r < 0)
			return r;
		erased_print("Would erase", patient, &e);
		if (!e.sessions && !e.queue && !e.plans && !e.courses)
			return 0;
		printf("This cannot be undone. Type the name again to erase: ");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = '\0';
		n = strcspn(line, "\n");
		line[n] = '\0';
		if (strcmp(line, patient)) {
			log_error("Not erased: the name typed differs.");
			return -ECANCELED;
		}
	}
	r = erase_call(c, patient, false, &e);
	if (r < 0)
		return r;
	erased_print("Erased", patient, &e);
	return 0;
}

/* ---- command line --------------------------------------------------- */

static void help(void)
{
	printf("massagectl [OPTIONS...] COMMAND ...\n\n"
	       "Query or control the vibration massage station (massaged).\n\n"
	       "Commands:\n"
	       "  status                   Show the station's state (default)\n"
	       "  monitor                  Show frequency, amplitude, contact and\n"
	       "                           the session's progress as they change\n"
	       "  programs                 List the therapy programs\n"
	       "  show-program NAME        Show a program's steps\n"
	       "  start PROGRAM            Start a program (runs on after exit;\n"
	       "                           with --wait, until it ends or Ctrl-C)\n"
	       "  vibrate FREQ             Vibrate at FREQ Hz (--intensity=, default\n"
	       "                           50%%; --duration=, default 30s)\n"
	       "  stop | pause | resume    Stop, pause or resume the session\n"
	       "  continue                 Move to the next site, or start the\n"
	       "                           ready queued session\n"
	       "  skip                     Skip the current step\n"
	       "  set-intensity N          Set the intensity (per mille or N%%)\n"
	       "  queue [list]             List the queue\n"
	       "  queue add PROGRAM        Queue a session (--patient=)\n"
	       "  queue remove ID          Remove a queue entry\n"
	       "  plan [list]              List planned sessions\n"
	       "  plan add PROGRAM WHEN    Plan a session at HH:MM or a date and\n"
	       "                           time (--daily, --patient=)\n"
	       "  plan remove ID           Cancel a plan\n"
	       "  course [list]            List courses\n"
	       "  course create PATIENT PROGRAM --sessions=N --every=DAYS\n"
	       "                           Create a course of sessions\n"
	       "  course dose ID           Show a course's dose per site\n"
	       "  pain SESSION before|after SCORE\n"
	       "                           Record a pain score 0-10\n"
	       "  history [list]           List past sessions (--since=, --limit=)\n"
	       "  history show ID          Show one session step by step\n"
	       "  export csv|json          Export the history (--since=, -o FILE)\n"
	       "  erase-patient NAME       Erase every record of a patient, for good\n"
	       "                           (root; asks, unless --yes or --dry-run)\n"
	       "  calibrate                Calibrate the massager\n"
	       "  reset-estop              Reset a latched e-stop\n\n"
	       "Options:\n"
	       "  -h --help                Show this help\n"
	       "     --version             Show the version\n"
	       "     --bus=ADDRESS         Connect to this bus, not the system bus\n"
	       "     --patient=NAME        Patient of the session\n"
	       "     --course=ID           Course the session belongs to\n"
	       "     --pain-before=N       Pain before the session, 0-10\n"
	       "     --wait                Stay until the session ends; Ctrl-C stops it\n"
	       "     --keep                With --wait: Ctrl-C leaves the session running\n"
	       "     --intensity=N         Intensity, per mille (600) or percent (60%%)\n"
	       "     --duration=TIME       How long to vibrate (default 30s; 0: until stop)\n"
	       "     --daily               Repeat the plan every day\n"
	       "     --sessions=N          Sessions in the course\n"
	       "     --every=DAYS          Days between the course's sessions\n"
	       "     --start=DATE          First day of the course (default today)\n"
	       "     --since=TIME          History from then: YYYY-MM-DD[ HH:MM],\n"
	       "                           today, yesterday, -7d, \"2h ago\"\n"
	       "     --limit=N             At most N sessions of history\n"
	       "  -o --output=FILE         Write the export to FILE\n"
	       "  -n --count=N             monitor: exit after N updates\n"
	       "     --once                monitor: print the state once and exit\n"
	       "     --no-legend           Tables without header and footer\n"
	       "     --yes                 erase-patient: do not ask (scripts)\n"
	       "     --dry-run             erase-patient: only count what would go\n\n"
	       "See massagectl(1).\n");
}

enum {
	ARG_VERSION = 0x100,
	ARG_BUS,
	ARG_PATIENT,
	ARG_COURSE,
	ARG_PAIN_BEFORE,
	ARG_WAIT,
	ARG_KEEP,
	ARG_INTENSITY,
	ARG_DURATION,
	ARG_DAILY,
	ARG_SESSIONS,
	ARG_EVERY,
	ARG_START,
	ARG_SINCE,
	ARG_LIMIT,
	ARG_ONCE,
	ARG_NO_LEGEND,
	ARG_YES,
	ARG_DRY_RUN,
};

/* 1 to go on with a verb, 0 to exit successfully, or -EINVAL. */
static int parse_argv(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "bus", required_argument, NULL, ARG_BUS },
		{ "patient", required_argument, NULL, ARG_PATIENT },
		{ "course", required_argument, NULL, ARG_COURSE },
		{ "pain-before", required_argument, NULL, ARG_PAIN_BEFORE },
		{ "wait", no_argument, NULL, ARG_WAIT },
		{ "keep", no_argument, NULL, ARG_KEEP },
		{ "intensity", required_argument, NULL, ARG_INTENSITY },
		{ "duration", required_argument, NULL, ARG_DURATION },
		{ "daily", no_argument, NULL, ARG_DAILY },
		{ "sessions", required_argument, NULL, ARG_SESSIONS },
		{ "every", required_argument, NULL, ARG_EVERY },
		{ "start", required_argument, NULL, ARG_START },
		{ "since", required_argument, NULL, ARG_SINCE },
		{ "limit", required_argument, NULL, ARG_LIMIT },
		{ "output", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, ARG_ONCE },
		{ "no-legend", no_argument, NULL, ARG_NO_LEGEND },
		{ "yes", no_argument, NULL, ARG_YES },
		{ "dry-run", no_argument, NULL, ARG_DRY_RUN },
		{}
	};
	int c, r;

	/*
	 * getopt's own messages would lack our prefix and exit status. GNU
	 * getopt permutes argv, so options may follow the verb, as in
	 * "start neck-set --patient=P"; no positional argument of ours
	 * starts with "-".
	 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:n:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("massagectl %s\n", MASSAGECTL_VERSION);
			return 0;
		case ARG_BUS:
			if (!*optarg)
				return log_usage("--bus= needs a D-Bus address, such as unix:path=/run/dbus/system_bus_socket.");
			arg.bus_address = optarg;
			break;
		case ARG_PATIENT:
			if (!*optarg)
				return log_usage("--patient= must not be empty.");
			arg.patient = optarg;
			break;
		case ARG_COURSE:
			r = parse_id(optarg, &arg.course);
			if (r < 0)
				return bad_argument(r, "--course", optarg,
						    "a course id above 0");
			arg.have_course = true;
			break;
		case ARG_PAIN_BEFORE:
			r = parse_pain_score(optarg, &arg.pain_before);
			if (r < 0)
				return bad_argument(r, "--pain-before", optarg,
						    "a whole number 0..10");
			arg.have_pain_before = true;
			break;
		case ARG_WAIT:
			arg.wait = true;
			break;
		case ARG_KEEP:
			arg.keep = true;
			break;
		case ARG_INTENSITY:
			r = parse_intensity_permille(optarg, &arg.intensity);
			if (r < 0)
				return bad_argument(r, "--intensity", optarg,
						    "per mille 0..1000, or a percentage such as 60%");
			arg.have_intensity = true;
			break;
		case ARG_DURATION:
			r = parse_timespan_usec(optarg, &arg.duration_usec);
			if (r < 0)
				return bad_argument(r, "--duration", optarg,
						    "a time such as 30s, 1min 30s or 5min");
			break;
		case ARG_DAILY:
			arg.daily = true;
			break;
		case ARG_SESSIONS:
			r = parse_u32_range(optarg, 1, 1000, &arg.sessions);
			if (r < 0)
				return bad_argument(r, "--sessions", optarg,
						    "a whole number 1..1000");
			break;
		case ARG_EVERY:
			r = parse_u32_range(optarg, 1, 365, &arg.every_days);
			if (r < 0)
				return bad_argument(r, "--every", optarg,
						    "a number of days 1..365");
			break;
		case ARG_START:
			r = parse_local_datetime_usec(optarg, &arg.start_usec);
			if (r < 0)
				return bad_argument(r, "--start", optarg,
						    "a date YYYY-MM-DD");
			break;
		case ARG_SINCE:
			r = parse_since_usec(optarg, now_realtime_usec(),
					     &arg.since_usec);
			if (r < 0)
				return bad_argument(r, "--since", optarg,
						    "YYYY-MM-DD[ HH:MM], today, yesterday, -7d or \"2h ago\"");
			break;
		case ARG_LIMIT:
			r = parse_u32_range(optarg, 0, UINT32_MAX, &arg.limit);
			if (r < 0)
				return bad_argument(r, "--limit", optarg,
						    "a whole number, 0 for all");
			break;
		case 'o':
			if (!*optarg)
				return log_usage("--output= needs a file name, or - for stdout.");
			arg.output = optarg;
			break;
		case 'n':
			r = parse_u32_range(optarg, 1, UINT32_MAX, &arg.count);
			if (r < 0)
				return bad_argument(r, "--count", optarg,
						    "a whole number above 0");
			break;
		case ARG_ONCE:
			arg.count = 1;
			break;
		case ARG_NO_LEGEND:
			arg.legend = false;
			break;
		case ARG_YES:
			arg.yes = true;
			break;
		case ARG_DRY_RUN:
			arg.dry_run = true;
			break;
		case '?':
			if (optopt && optopt < 0x100)
				return log_usage("Unknown option -%c, or it lacks its argument; see massagectl --help.",
						 optopt);
			return log_usage("Unknown option %s, or it lacks its argument; see massagectl --help.",
					 argv[optind - 1]);
		default:
			return log_usage("Unhandled option.");
		}
	}
	if (arg.yes && arg.dry_run)
		return log_usage("--yes and --dry-run contradict each other: --dry-run erases nothing.");
	if (arg.keep && !arg.wait)
		return log_usage("--keep only makes sense with --wait: without it the session always runs on after massagectl exits.");
	return 1;
}

static int massagectl_main(int argc, char *argv[], struct context *c)
{
	static const struct verb verbs[] = {
		{ "status", 1, 1, verb_status, true },
		{ "monitor", 1, 1, verb_monitor, false },
		{ "programs", 1, 1, verb_programs, false },
		{ "show-program", 2, 2, verb_show_program, false },
		{ "start", 2, 2, verb_start, false },
		{ "vibrate", 2, 2, verb_start, false },
		{ "stop", 1, 1, verb_simple, false },
		{ "pause", 1, 1, verb_simple, false },
		{ "resume", 1, 1, verb_simple, false },
		{ "continue", 1, 1, verb_simple, false },
		{ "skip", 1, 1, verb_simple, false },
		{ "calibrate", 1, 1, verb_simple, false },
		{ "reset-estop", 1, 1, verb_simple, false },
		{ "set-intensity", 2, 2, verb_set_intensity, false },
		{ "queue", 1, 3, verb_queue, false },
		{ "plan", 1, 4, verb_plan, false },
		{ "course", 1, 4, verb_course, false },
		{ "pain", 4, 4, verb_pain, false },
		{ "history", 1, 3, verb_history, false },
		{ "export", 2, 2, verb_export, false },
		{ "erase-patient", 2, 2, verb_erase_patient, false },
	};

	return dispatch_verb(argc, argv, verbs, ARRAY_SIZE(verbs), NULL, c);
}

int main(int argc, char *argv[])
{
	struct context c = { 0 };
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
	r = massagectl_main(argc - optind, argv + optind, &c);
	context_done(&c);
	switch (r) {
	case 0:
		return EXIT_SUCCESS;
	case -EINVAL:
		return EXIT_USAGE;
	case -EHOSTDOWN:
		return EXIT_UNREACHABLE;
	case -EACCES:
		return EXIT_NOT_AUTHORIZED;
	default:
		return r > 0 ? EXIT_SUCCESS : EXIT_REFUSED;
	}
}
