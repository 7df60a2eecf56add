/* SPDX-License-Identifier: MIT */
/*
 * history.h - the treatment history and the station's persistent plans,
 * in one SQLite database (default /var/lib/massaged/history.db): every
 * session with its steps, dose, events, pain scores and outcome; the
 * queue of next sessions; planned sessions; courses.  docs/history.md
 * describes the schema, durability and the export formats.
 *
 * The session is written as it goes (begin, a checkpoint about once a
 * second, each step, each event, end), so that a crash or a power loss
 * loses at most the last checkpoint; at the next start
 * history_mark_interrupted() closes what was left running.
 *
 * Every call returns 0 (or a count) or a negative errno and never logs;
 * history_errmsg() gives SQLite's text of the last failure for the
 * caller's log line.  -EINVAL: a bad argument (NULL, text that is not
 * UTF-8 or longer than HISTORY_TEXT_MAX, a score out of range...);
 * -ENOENT: no such id.  One thread only (the daemon's main loop).
 *
 * The list calls hand each row to a callback; the row's strings are valid
 * only during the call.  A negative return from the callback stops the
 * listing and is returned.  A callback may call any other history
 * function; history_plan_list() visits each plan once even when its
 * callback updates or removes plans, the other lists do not promise to
 * show or hide rows their callback adds.
 */
#ifndef MASSAGED_HISTORY_H
#define MASSAGED_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#define HISTORY_DEFAULT_PATH "/var/lib/massaged/history.db"
#define HISTORY_SCHEMA_VERSION 2
/* Longest text field accepted, in bytes. */
#define HISTORY_TEXT_MAX 4096

struct history;

/*
 * Open or create the database at @path: schema (migrated up to
 * HISTORY_SCHEMA_VERSION), WAL journal, synchronous=FULL, foreign keys.
 * -EPROTONOSUPPORT for a database written by a newer massaged,
 * -EBADMSG when @path is not a database.
 */
int history_open(struct history **ret, const char *path);
/* Accepts NULL; returns NULL. */
struct history *history_free(struct history *h);

static inline void history_freep(struct history **h)
{
	history_free(*h);
}
#define historyp history_freep

/* SQLite's text for the last failure; never NULL. */
const char *history_errmsg(const struct history *h);

/*
 * At start: every session still "running" becomes "interrupted", ended
 * at its last checkpoint, with an "interrupted" event at @now_usec.
 * *ret_n (may be NULL): how many.
 */
int history_mark_interrupted(struct history *h, uint64_t now_usec,
			     unsigned int *ret_n);

/* Session outcomes, as stored and as ListSessions shows them. */
#define HISTORY_OUTCOME_RUNNING "running"
#define HISTORY_OUTCOME_COMPLETED "completed"
#define HISTORY_OUTCOME_STOPPED "stopped"
#define HISTORY_OUTCOME_ESTOPPED "estopped"
#define HISTORY_OUTCOME_FAULT "fault"
#define HISTORY_OUTCOME_INTERRUPTED "interrupted"

/* true for an outcome history_session_end() takes (not "running"). */
bool history_outcome_is_valid(const char *outcome);

/**
 * struct history_session_start - what is known when a session begins
 * @program: the program's name; "manual" (or any name) for manual sessions
 * @program_title: "" when none
 * @patient: "" when not given
 * @course_id: 0 when not part of a course, else an existing course
 * @manual_freq_mhz: the frequency of a manual session, 0 for programs
 * @started_usec: CLOCK_REALTIME
 * @pain_before: 0-10, or -1 when not given
 */
struct history_session_start {
	const char *program;
	const char *program_title;
	const char *patient;
	uint64_t course_id;
	uint32_t manual_freq_mhz;
	uint64_t started_usec;
	int pain_before;
};

int history_session_begin(struct history *h,
			  const struct history_session_start *s,
			  uint64_t *ret_id);

/*
 * The running totals, about once a second.  Dose is in m/s^2 x s (RMS
 * acceleration times contact time).  -ESTALE once the session has ended.
 */
int history_session_checkpoint(struct history *h, uint64_t id,
			       uint64_t contact_usec, double dose_ms2s,
			       uint64_t now_usec);

/*
 * Insert or replace step @step (0-based) of a session: the site, the
 * frequency, its contact time and dose so far and its outcome (free text:
 * "running", "done", "skipped", "stopped"...).
 */
int history_step_put(struct history *h, uint64_t session_id,
		     unsigned int step, const char *site, uint32_t freq_mhz,
		     uint64_t contact_usec, double dose_ms2s,
		     const char *outcome);

/*
 * The step's target was out of the motor's reach and it held @held_mhz
 * instead (> 0): kept as the lowest held; 0 in the record means the
 * target was held. Changes nothing before history_step_put() of that
 * step or where it already held less; -EINVAL for 0.
 */
int history_step_set_held(struct history *h, uint64_t session_id,
			  unsigned int step, uint32_t held_mhz);

/* An event: @kind "fault", "estop", "pause", "resume", "lost-contact"... */
int history_event_add(struct history *h, uint64_t session_id,
		      uint64_t usec, const char *kind, const char *text);

/*
 * End a session with its final totals; @outcome as
 * history_outcome_is_valid().  -ESTALE when it has already ended.
 */
int history_session_end(struct history *h, uint64_t id, uint64_t ended_usec,
			const char *outcome, uint64_t contact_usec,
			double dose_ms2s);

/* @when: "before" or "after"; @score 0-10. */
int history_set_pain(struct history *h, uint64_t id, const char *when,
		     int score);

/**
 * struct history_session - one session as listed
 * @ended_usec: 0 while running
 * @last_update_usec: the last checkpoint (started_usec before the first)
 * @outcome: one of the HISTORY_OUTCOME_* strings
 * @pain_before, @pain_after: 0-10, -1 when not given
 */
struct history_session {
	uint64_t id;
	const char *program;
	const char *program_title;
	const char *patient;
	uint64_t course_id;
	uint32_t manual_freq_mhz;
	uint64_t started_usec;
	uint64_t ended_usec;
	uint64_t last_update_usec;
	const char *outcome;
	uint64_t contact_usec;
	double dose_ms2s;
	int pain_before;
	int pain_after;
};

struct history_step {
	uint64_t session_id;
	unsigned int step;
	const char *site;
	uint32_t freq_mhz;
	uint32_t held_freq_mhz;	/* 0: the target was held */
	uint64_t contact_usec;
	double dose_ms2s;
	const char *outcome;
};

struct history_event {
	uint64_t session_id;
	uint64_t usec;
	const char *kind;
	const char *text;
};

typedef int (*history_session_cb)(const struct history_session *s,
				  void *userdata);
typedef int (*history_step_cb)(const struct history_step *st, void *userdata);
typedef int (*history_event_cb)(const struct history_event *e,
				void *userdata);

/* Sessions started at or after @since_usec, newest first; @limit 0: all. */
int history_list_sessions(struct history *h, uint64_t since_usec,
			  unsigned int limit, history_session_cb cb,
			  void *userdata);
/* One session; -ENOENT when unknown. */
int history_get_session(struct history *h, uint64_t id, history_session_cb cb,
			void *userdata);
/* The steps of a session in step order; -ENOENT for an unknown session. */
int history_list_steps(struct history *h, uint64_t session_id,
		       history_step_cb cb, void *userdata);
/* The events of a session in time order; -ENOENT for an unknown session. */
int history_list_events(struct history *h, uint64_t session_id,
			history_event_cb cb, void *userdata);

/*
 * The sessions started at or after @since_usec, oldest first, with their
 * steps and events, as @format "csv" (RFC 4180) or "json"; *ret_text is
 * the caller's to free().  -EINVAL for another format.
 */
int history_export(struct history *h, const char *format, uint64_t since_usec,
		   char **ret_text);

/*
 * The queue of next sessions, first in first out.
 * @planned_at_usec: when the entry came from a plan, its time; else 0.
 */
struct history_queue_entry {
	uint64_t id;
	const char *program;
	const char *patient;
	uint64_t course_id;
	uint64_t planned_at_usec;
};

typedef int (*history_queue_cb)(const struct history_queue_entry *e,
				void *userdata);

int history_queue_add(struct history *h, const char *program,
		      const char *patient, uint64_t course_id,
		      uint64_t planned_at_usec, uint64_t *ret_id);
int history_queue_list(struct history *h, history_queue_cb cb,
		       void *userdata);
int history_queue_remove(struct history *h, uint64_t id);
/*
 * Hand the head to @cb and remove it; when @cb fails the entry stays.
 * @cb runs outside any transaction: what it writes (the session it
 * starts) is kept even if the removal then fails.  -ENODATA when the queue
 * is empty.
 */
int history_queue_pop(struct history *h, history_queue_cb cb, void *userdata);

/**
 * struct history_plan - a session planned at a time
 * @when_minutes: minutes after local midnight (0-1439), or -1
 * @when_usec: an absolute CLOCK_REALTIME time, or 0
 * @daily: repeat every day
 * @next_due_usec: when it next joins the queue (computed by the caller,
 *	who knows the local time zone)
 *
 * Exactly one of @when_minutes >= 0 and @when_usec > 0.
 */
struct history_plan {
	uint64_t id;
	const char *program;
	const char *patient;
	uint64_t course_id;
	int when_minutes;
	uint64_t when_usec;
	bool daily;
	uint64_t next_due_usec;
};

typedef int (*history_plan_cb)(const struct history_plan *p, void *userdata);

/* @p->id is ignored; the new id is in *ret_id. */
int history_plan_add(struct history *h, const struct history_plan *p,
		     uint64_t *ret_id);
/* In order of next due time. */
int history_plan_list(struct history *h, history_plan_cb cb, void *userdata);
int history_plan_remove(struct history *h, uint64_t id);
int history_plan_set_next_due(struct history *h, uint64_t id,
			      uint64_t next_due_usec);

/**
 * struct history_course - a program repeated for a patient, as of a time
 * @sessions: planned in all
 * @done: completed sessions of the course
 * @missed: slots [start + k x interval, start + (k+1) x interval) that
 *	have passed with no completed session in them
 * @due: @sessions - @done - @missed
 * @next_due_usec: start of the slot the next session is due in, 0 when
 *	none is due
 *
 * docs/history.md states the rule.
 */
struct history_course {
	uint64_t id;
	const char *patient;
	const char *program;
	unsigned int sessions;
	unsigned int interval_days;
	uint64_t start_usec;
	unsigned int done;
	unsigned int missed;
	unsigned int due;
	uint64_t next_due_usec;
};

/* Cumulative over the course's sessions, per site. */
struct history_site_dose {
	const char *site;
	unsigned int sessions;
	uint64_t contact_usec;
	double dose_ms2s;
};

typedef int (*history_course_cb)(const struct history_course *c,
				 void *userdata);
typedef int (*history_site_dose_cb)(const struct history_site_dose *d,
				    void *userdata);

/* -EINVAL for 0 sessions or a 0 interval. */
int history_course_create(struct history *h, const char *patient,
			  const char *program, unsigned int sessions,
			  unsigned int interval_days, uint64_t start_usec,
			  uint64_t *ret_id);
/* Every course with its figures as of @now_usec. */
int history_course_list(struct history *h, uint64_t now_usec,
			history_course_cb cb, void *userdata);
/* One course; -ENOENT when unknown. */
int history_course_get(struct history *h, uint64_t id, uint64_t now_usec,
		       history_course_cb cb, void *userdata);
/* Per site, in site order; -ENOENT for an unknown course. */
int history_course_dose(struct history *h, uint64_t course_id,
			history_site_dose_cb cb, void *userdata);

/*
 * Erasure: a patient's records on request, and records older than the
 * clinic's retention.  Each call deletes in one transaction (a crash
 * leaves all or nothing), with SQLite's secure_delete on (the freed
 * bytes are zeroed), then checkpoints the WAL into the database and
 * truncates the -wal file, which still held copies of the deleted rows;
 * the rule and its limits are in docs/history.md.
 */
struct history_erased {
	unsigned int sessions;
	unsigned int steps;
	unsigned int events;
	unsigned int queue;
	unsigned int plans;
	unsigned int courses;
};

/*
 * Every row naming @patient (exactly, byte for byte; "" is refused with
 * -EINVAL: it is every session recorded without a name) and every row of
 * one of that patient's courses: sessions with their steps and events,
 * queue entries, plans, courses.  @dry_run: count only, change nothing.
 * The caller refuses while such a session runs.  -EAGAIN: erased (*ret
 * counts it), but a reader of an older snapshot (an sqlite3 shell) kept
 * the -wal file from being truncated; erasing again when it is gone
 * finishes the job.
 */
int history_erase_patient(struct history *h, const char *patient,
			  bool dry_run, struct history_erased *ret);

/*
 * Retention: the sessions that ended before @before_usec, with their
 * steps and events, and the courses whose last slot ended before it and
 * that nothing newer, running, queued or planned refers to any more.  A
 * session of a course that is still under way is kept with its course:
 * done, missed and the course's dose depend on it.  Queue entries and
 * plans are what is still to be done and are never expired.  At most
 * @max_sessions sessions (the oldest; 0: all) per call, so that a caller
 * in an event loop can go on in steps: ret->sessions == @max_sessions
 * says there may be more.  -EAGAIN as for history_erase_patient().
 */
int history_expire(struct history *h, uint64_t before_usec,
		   unsigned int max_sessions, struct history_erased *ret);

/* The latest time recorded (a session's last checkpoint), 0 when none. */
int history_newest_usec(struct history *h, uint64_t *ret);

/*
 * Tests only: @hook is called inside every erase and expiry with @stage
 * "deleted" (the rows are deleted, not yet committed) and "committed"
 * (before the -wal file is scrubbed), so that a test can kill the
 * process there.  NULL: none (the default).
 */
typedef void (*history_erase_hook)(const char *stage, void *userdata);
void history_set_erase_hook(struct history *h, history_erase_hook hook,
			    void *userdata);

#endif
