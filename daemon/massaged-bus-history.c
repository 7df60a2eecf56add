// SPDX-License-Identifier: MIT
/*
 * massaged-bus-history.c - the patient-data half of org.massaged.Massager1:
 * the queue, plans, courses, pain scores and the treatment history, each a
 * thin layer over history.h (the SQLite store) behind the group check
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "history.h"
#include "log.h"
#include "macro.h"
#include "massaged-bus.h"
#include "massaged-bus-private.h"
#include "massaged-manager-private.h"
#include "massaged-programs.h"
#include "massaged-session.h"

/* --- methods: queue, plans, courses ---------------------------------------- */

/*
 * The listing methods: which history call fills the reply, and the error
 * an unknown id gets. One place builds the array, so each method only
 * checks its caller and reads its arguments.
 */
enum listing {
	LIST_QUEUE,
	LIST_PLANS,
	LIST_COURSES,
	LIST_COURSE_DOSE,
	LIST_SESSIONS,
	LIST_STEPS,
};

struct listing_args {
	uint64_t id;		/* course or session */
	uint64_t since_usec;
	uint32_t limit;
};

static int reply_listing(Manager *m, sd_bus_message *msg, sd_bus_error *error,
			 const char *contents, enum listing what,
			 const struct listing_args *a, const char *unknown,
			 const char *what_id);


static struct history *bus_history(Manager *m, sd_bus_error *error)
{
	struct history *h = sessions_history(m);

	if (!h)
		sd_bus_error_set(error, BUS_ERROR("HistoryUnavailable"),
				 "the treatment history could not be opened; see journalctl -u massaged");
	return h;
}

static int history_failed(Manager *m, sd_bus_error *error, int r)
{
	return sd_bus_error_setf(error, BUS_ERROR("HistoryUnavailable"),
				 "the history database failed (%s): %s",
				 strerror(-r),
				 history_errmsg(sessions_history(m)));
}

static int check_program_exists(Manager *m, const char *program,
				sd_bus_error *error)
{
	_cleanup_(freep) struct program *p = NULL;
	struct program_error err = { 0 };
	int r;

	if (!program_name_is_valid(program))
		return bus_invalid_argument(error, "program: \"%s\" is not a program name (a-z, 0-9, -)",
					program);
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = programs_load(sessions_programs_path(m), program,
			  &m->config.limits, p, NULL, &err);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownProgram"),
					 "there is no program \"%s\"", program);
	if (r < 0)
		return sd_bus_error_setf(error, BUS_ERROR("InvalidProgram"),
					 "%s", err.message[0] ? err.message :
					 strerror(-r));
	return 0;
}

struct course_probe {
	char program[PROGRAM_NAME_MAX + 1];
	char patient[SESSION_PATIENT_MAX];
};

static int course_probe_cb(const struct history_course *c, void *userdata)
{
	struct course_probe *cp = userdata;

	snprintf(cp->program, sizeof(cp->program), "%s", c->program);
	snprintf(cp->patient, sizeof(cp->patient), "%s", c->patient);
	return 0;
}

/*
 * Times the API takes: microseconds since the epoch up to the end of
 * 9999 (UTC). SQLite holds up to INT64_MAX, lib/history refuses a course
 * that starts after 2^62 so that its dates add up without overflow, and
 * localtime_r() needs a time_t: this one bound is far inside all three
 * and is one a person can read in an error.
 */
#define BUS_TIME_USEC_MAX 253402300799999999ull

static int check_time_usec(sd_bus_error *error, const char *name,
			   uint64_t usec)
{
	if (usec <= BUS_TIME_USEC_MAX)
		return 0;
	return bus_invalid_argument(error, "%s: %" PRIu64 " is outside 0..%llu (microseconds since the epoch, up to 9999-12-31 UTC)",
				    name, usec, BUS_TIME_USEC_MAX);
}

static uint64_t realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return timespec_to_ns(&ts) / NSEC_PER_USEC;
}

/* A queued or planned session's options: patient and course only. */
static int check_queue_options(Manager *m, const char *program,
			       struct session_options *o, sd_bus_error *error)
{
	struct course_probe cp;
	size_t i;
	int r;

	for (i = 0; o->patient[i]; i++)
		if ((unsigned char)o->patient[i] < 0x20)
			return bus_invalid_argument(error, "options: \"patient\" has control characters");
	if (o->pain_before >= 0 || o->outlive_client)
		return bus_invalid_argument(error, "options: only \"patient\" and \"course\" apply to a queued session");
	if (!o->course_id)
		return 0;
	r = history_course_get(sessions_history(m), o->course_id,
			       realtime_usec(), course_probe_cb, &cp);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownEntry"),
					 "course: there is no course %" PRIu64,
					 o->course_id);
	if (r < 0)
		return history_failed(m, error, r);
	if (strcmp(cp.program, program) != 0)
		return bus_invalid_argument(error, "course: course %" PRIu64 " is for program %s",
					o->course_id, cp.program);
	if (!o->patient[0])
		snprintf(o->patient, sizeof(o->patient), "%s", cp.patient);
	return 0;
}

int method_enqueue(sd_bus_message *msg, void *userdata,
			  sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_options o;
	const char *program;
	struct history *h;
	uint64_t id;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "s", &program);
	if (r < 0)
		return r;
	r = bus_read_options(msg, &o, error);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = check_program_exists(m, program, error);
	if (r < 0)
		return r;
	r = check_queue_options(m, program, &o, error);
	if (r < 0)
		return r;
	r = history_queue_add(h, program, o.patient, o.course_id, 0, &id);
	if (r < 0)
		return history_failed(m, error, r);
	log_info("Queued %s%s%s as entry %" PRIu64 ".", program,
		 o.patient[0] ? " for " : "", o.patient, id);
	sessions_queue_changed(m);
	return sd_bus_reply_method_return(msg, "t", id);
}

static int queue_row_cb(const struct history_queue_entry *e, void *userdata)
{
	return sd_bus_message_append(userdata, "(tsstt)", e->id, e->program,
				     e->patient, e->course_id,
				     e->planned_at_usec);
}

int method_list_queue(sd_bus_message *msg, void *userdata,
			     sd_bus_error *error)
{
	Manager *m = userdata;

	AUTHORIZE(m, msg, error);	/* patient names */
	return reply_listing(m, msg, error, "(tsstt)", LIST_QUEUE,
			     &(struct listing_args){ 0 }, NULL, NULL);
}

int method_dequeue(sd_bus_message *msg, void *userdata,
			  sd_bus_error *error)
{
	Manager *m = userdata;
	struct history *h;
	uint64_t id;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "t", &id);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = history_queue_remove(h, id);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownEntry"),
					 "entry_id: there is no queue entry %" PRIu64, id);
	if (r < 0)
		return history_failed(m, error, r);
	sessions_queue_changed(m);
	return sd_bus_reply_method_return(msg, NULL);
}

/* "HH:MM" -> minutes after midnight; -EINVAL otherwise. */
static int parse_time_of_day(const char *s, int *ret)
{
	unsigned int h, mi;
	char end;

	if (sscanf(s, "%2u:%2u%c", &h, &mi, &end) != 2 || h > 23 || mi > 59 ||
	    strlen(s) < 4 || strlen(s) > 5)
		return -EINVAL;
	*ret = (int)(h * 60 + mi);
	return 0;
}

static int parse_usec(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int method_plan(sd_bus_message *msg, void *userdata,
		       sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_options o;
	struct history_plan p = { .when_minutes = -1 };
	const char *program, *when;
	uint64_t now = realtime_usec(), id;
	struct history *h;
	int daily, r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "ssb", &program, &when, &daily);
	if (r < 0)
		return r;
	r = bus_read_options(msg, &o, error);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = check_program_exists(m, program, error);
	if (r < 0)
		return r;
	r = check_queue_options(m, program, &o, error);
	if (r < 0)
		return r;
	if (parse_time_of_day(when, &p.when_minutes) == 0) {
		p.next_due_usec = plan_next_local(now, p.when_minutes);
	} else if (parse_usec(when, &p.when_usec) == 0) {
		r = check_time_usec(error, "when", p.when_usec);
		if (r < 0)
			return r;
		if (p.when_usec <= now && !daily)
			return bus_invalid_argument(error, "when: %s is in the past", when);
		p.next_due_usec = p.when_usec;
		while (p.next_due_usec <= now)
			p.next_due_usec += 24 * 3600 * USEC_PER_SEC;
	} else {
		return bus_invalid_argument(error, "when: \"%s\" is neither HH:MM nor microseconds since the epoch",
					when);
	}
	p.program = program;
	p.patient = o.patient;
	p.course_id = o.course_id;
	p.daily = daily;
	r = history_plan_add(h, &p, &id);
	if (r < 0)
		return history_failed(m, error, r);
	log_info("Planned %s%s%s (%s%s) as plan %" PRIu64 ".", program,
		 o.patient[0] ? " for " : "", o.patient, when,
		 daily ? ", daily" : "", id);
	sessions_plans_changed(m);
	return sd_bus_reply_method_return(msg, "t", id);
}

static int plan_row_cb(const struct history_plan *p, void *userdata)
{
	char when[32];

	if (p->when_minutes >= 0)
		snprintf(when, sizeof(when), "%02d:%02d", p->when_minutes / 60,
			 p->when_minutes % 60);
	else
		snprintf(when, sizeof(when), "%" PRIu64, p->when_usec);
	return sd_bus_message_append(userdata, "(tssstb)", p->id, p->program,
				     p->patient, when, p->next_due_usec,
				     (int)p->daily);
}

int method_list_plans(sd_bus_message *msg, void *userdata,
			     sd_bus_error *error)
{
	Manager *m = userdata;

	AUTHORIZE(m, msg, error);
	return reply_listing(m, msg, error, "(tssstb)", LIST_PLANS,
			     &(struct listing_args){ 0 }, NULL, NULL);
}

int method_cancel_plan(sd_bus_message *msg, void *userdata,
			      sd_bus_error *error)
{
	Manager *m = userdata;
	struct history *h;
	uint64_t id;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "t", &id);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = history_plan_remove(h, id);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownEntry"),
					 "plan_id: there is no plan %" PRIu64, id);
	if (r < 0)
		return history_failed(m, error, r);
	sessions_plans_changed(m);
	return sd_bus_reply_method_return(msg, NULL);
}

static uint64_t local_midnight_usec(uint64_t now_usec)
{
	time_t now = (time_t)(now_usec / USEC_PER_SEC);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	now = mktime(&tm);
	return now == (time_t)-1 ? now_usec : (uint64_t)now * USEC_PER_SEC;
}

int method_create_course(sd_bus_message *msg, void *userdata,
				sd_bus_error *error)
{
	Manager *m = userdata;
	const char *patient, *program;
	uint32_t sessions, interval;
	uint64_t start, id;
	struct history *h;
	size_t i;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "ssuut", &patient, &program, &sessions,
				&interval, &start);
	if (r < 0)
		return r;
	if (!*patient || strlen(patient) >= SESSION_PATIENT_MAX)
		return bus_invalid_argument(error, "patient: a course needs a patient (1-%u bytes)",
					SESSION_PATIENT_MAX - 1);
	for (i = 0; patient[i]; i++)
		if ((unsigned char)patient[i] < 0x20)
			return bus_invalid_argument(error, "patient: control characters are not allowed");
	if (sessions == 0 || sessions > 1000)
		return bus_invalid_argument(error, "sessions: %u is outside 1..1000", sessions);
	if (interval == 0 || interval > 365)
		return bus_invalid_argument(error, "interval_days: %u is outside 1..365", interval);
	r = check_time_usec(error, "start_usec", start);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = check_program_exists(m, program, error);
	if (r < 0)
		return r;
	if (start == 0)
		start = local_midnight_usec(realtime_usec());
	r = history_course_create(h, patient, program, sessions, interval,
				  start, &id);
	if (r < 0)
		return history_failed(m, error, r);
	log_info("Course %" PRIu64 ": %s for %s, %u sessions every %u day%s.",
		 id, program, patient, sessions, interval,
		 interval == 1 ? "" : "s");
	return sd_bus_reply_method_return(msg, "t", id);
}

static int course_row_cb(const struct history_course *c, void *userdata)
{
	return sd_bus_message_append(userdata, "(tssuuuut)", c->id,
				     c->patient, c->program, c->sessions,
				     c->done, c->missed, c->due,
				     c->next_due_usec);
}

int method_list_courses(sd_bus_message *msg, void *userdata,
			       sd_bus_error *error)
{
	Manager *m = userdata;

	AUTHORIZE(m, msg, error);
	return reply_listing(m, msg, error, "(tssuuuut)", LIST_COURSES,
			     &(struct listing_args){ 0 }, NULL, NULL);
}

static int dose_row_cb(const struct history_site_dose *d, void *userdata)
{
	return sd_bus_message_append(userdata, "(sutd)", d->site, d->sessions,
				     d->contact_usec, d->dose_ms2s);
}

int method_get_course_dose(sd_bus_message *msg, void *userdata,
				  sd_bus_error *error)
{
	struct listing_args a = { 0 };
	Manager *m = userdata;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "t", &a.id);
	if (r < 0)
		return r;
	return reply_listing(m, msg, error, "(sutd)", LIST_COURSE_DOSE, &a,
			     BUS_ERROR("UnknownEntry"),
			     "course_id: there is no course");
}

int method_set_pain_score(sd_bus_message *msg, void *userdata,
				 sd_bus_error *error)
{
	Manager *m = userdata;
	const char *when;
	struct history *h;
	uint64_t id;
	uint32_t score;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "tsu", &id, &when, &score);
	if (r < 0)
		return r;
	if (strcmp(when, "before") != 0 && strcmp(when, "after") != 0)
		return bus_invalid_argument(error, "when: \"%s\" is neither \"before\" nor \"after\"",
					when);
	if (score > 10)
		return bus_invalid_argument(error, "score: %u is not a pain score 0-10", score);
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = history_set_pain(h, id, when, (int)score);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownSession"),
					 "session_id: there is no session %" PRIu64, id);
	if (r < 0)
		return history_failed(m, error, r);
	return sd_bus_reply_method_return(msg, NULL);
}

/* --- methods: history ------------------------------------------------------ */

static int session_row_cb(const struct history_session *s, void *userdata)
{
	return sd_bus_message_append(userdata, "(tssttstdii)", s->id,
				     s->program, s->patient, s->started_usec,
				     s->ended_usec, s->outcome, s->contact_usec,
				     s->dose_ms2s, s->pain_before,
				     s->pain_after);
}

int method_list_sessions(sd_bus_message *msg, void *userdata,
				sd_bus_error *error)
{
	struct listing_args a = { 0 };
	Manager *m = userdata;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "tu", &a.since_usec, &a.limit);
	if (r < 0)
		return r;
	r = check_time_usec(error, "since_usec", a.since_usec);
	if (r < 0)
		return r;
	return reply_listing(m, msg, error, "(tssttstdii)", LIST_SESSIONS,
			     &a, NULL, NULL);
}

static int step_row_cb(const struct history_step *st, void *userdata)
{
	return sd_bus_message_append(userdata, "(usdtds)", st->step, st->site,
				     st->freq_mhz / 1000.0, st->contact_usec,
				     st->dose_ms2s, st->outcome);
}

int method_get_session(sd_bus_message *msg, void *userdata,
			      sd_bus_error *error)
{
	struct listing_args a = { 0 };
	Manager *m = userdata;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "t", &a.id);
	if (r < 0)
		return r;
	return reply_listing(m, msg, error, "(usdtds)", LIST_STEPS, &a,
			     BUS_ERROR("UnknownSession"),
			     "session_id: there is no session");
}

int method_export_history(sd_bus_message *msg, void *userdata,
				 sd_bus_error *error)
{
	_cleanup_(freep) char *text = NULL;
	Manager *m = userdata;
	const char *format;
	struct history *h;
	uint64_t since;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "st", &format, &since);
	if (r < 0)
		return r;
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return bus_invalid_argument(error, "format: \"%s\" is neither \"csv\" nor \"json\"",
					format);
	r = check_time_usec(error, "since_usec", since);
	if (r < 0)
		return r;
	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = history_export(h, format, since, &text);
	if (r < 0)
		return history_failed(m, error, r);
	return sd_bus_reply_method_return(msg, "s", text);
}

/* --- methods: erasure ------------------------------------------------------ */

/*
 * Erasing a patient's records is for root alone, not the whole group:
 * the group reads and exports the history, but destroying a treatment
 * record (evidence of what was done, and one that the law may require a
 * clinic to keep) is the administrator's decision, as KeepDays= in the
 * root-owned massaged.conf is.
 */
static int check_root(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	uid_t euid;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID |
				      SD_BUS_CREDS_AUGMENT, &creds);
	if (r >= 0)
		r = sd_bus_creds_get_euid(creds, &euid);
	if (r < 0)
		return sd_bus_error_set(error, BUS_ERROR("NotAuthorized"),
					"cannot tell who is calling");
	if (euid != 0)
		return sd_bus_error_set(error, BUS_ERROR("NotAuthorized"),
					"erasing a patient's records is for root only (sudo massagectl erase-patient)");
	return 0;
}

int method_erase_patient(sd_bus_message *msg, void *userdata,
			 sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct history_erased e = { 0 };
	Manager *m = userdata;
	const char *patient, *why = NULL;
	int dry_run, r;

	r = check_root(m, msg, error);
	if (r < 0)
		return r;
	r = sd_bus_message_read(msg, "sb", &patient, &dry_run);
	if (r < 0)
		return r;
	r = sessions_erase_patient(m, patient, dry_run, &e, &why);
	switch (r) {
	case 0:
		break;
	case -EINVAL:
		return bus_invalid_argument(error, "%s", why);
	case -EBUSY:
		return sd_bus_error_set(error, BUS_ERROR("PatientInUse"), why);
	case -EAGAIN:
		return sd_bus_error_set(error, BUS_ERROR("Busy"), why);
	default:
		return sd_bus_error_set(error, BUS_ERROR("HistoryUnavailable"),
					why ?: strerror(-r));
	}
	r = sd_bus_message_new_method_return(msg, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "a{su}", 6, "sessions", e.sessions,
				  "steps", e.steps, "events", e.events,
				  "queue", e.queue, "plans", e.plans,
				  "courses", e.courses);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int history_fill(struct history *h, enum listing what,
			const struct listing_args *a, sd_bus_message *reply)
{
	switch (what) {
	case LIST_QUEUE:
		return history_queue_list(h, queue_row_cb, reply);
	case LIST_PLANS:
		return history_plan_list(h, plan_row_cb, reply);
	case LIST_COURSES:
		return history_course_list(h, realtime_usec(), course_row_cb,
					   reply);
	case LIST_COURSE_DOSE:
		return history_course_dose(h, a->id, dose_row_cb, reply);
	case LIST_SESSIONS:
		return history_list_sessions(h, a->since_usec, a->limit,
					     session_row_cb, reply);
	case LIST_STEPS:
		return history_list_steps(h, a->id, step_row_cb, reply);
	}
	return -EINVAL;
}

/* @unknown: the error for -ENOENT ("UnknownEntry", ...), @what_id: its text */
static int reply_listing(Manager *m, sd_bus_message *msg, sd_bus_error *error,
			 const char *contents, enum listing what,
			 const struct listing_args *a, const char *unknown,
			 const char *what_id)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct history *h;
	int r;

	h = bus_history(m, error);
	if (!h)
		return -EIO;
	r = sd_bus_message_new_method_return(msg, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', contents);
	if (r < 0)
		return r;
	r = history_fill(h, what, a, reply);
	if (r == -ENOENT && unknown)
		return sd_bus_error_setf(error, unknown, "%s %" PRIu64,
					 what_id, a->id);
	if (r < 0)
		return history_failed(m, error, r);
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}
