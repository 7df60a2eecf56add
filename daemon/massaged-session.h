/* SPDX-License-Identifier: MIT */
/*
 * massaged-session.h - therapy sessions: a program run by lib/scheduler
 * on the Manager's drive, the queue of next sessions, planned sessions,
 * courses, and the treatment history they are written to
 *
 * The scheduler decides what the drive does and when (time as input);
 * this file turns that into manager_*() calls and one sd-event timer, and
 * turns the Manager's faults back into scheduler events.  Nothing here
 * starts the motor without a person's call or button press: a session
 * due from the queue or a plan only becomes ready.
 *
 * Calls return 0 or a negative errno with *ret_why set for a person, as
 * massaged-manager.h's do.  The errno says which kind of refusal it is:
 * -ENOENT unknown program, -EBADMSG a program file that does not parse,
 * -ERANGE a value out of the safety limits, -EINVAL a bad argument,
 * -EBUSY another session or calibration, -ENOTCONN nothing to act on,
 * -ESRCH unknown session, -ENXIO unknown queue entry, plan or course,
 * -EIO the history database failed; the Manager's own for the rest.
 */
#ifndef MASSAGED_SESSION_H
#define MASSAGED_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "massaged-manager.h"

#define SESSION_PATIENT_MAX	128u

struct session_options {
	char patient[SESSION_PATIENT_MAX];
	uint64_t course_id;		/* 0: none */
	int pain_before;		/* 0..10, -1: not given */
	bool outlive_client;
};

/* What a client sees of the current or last session. */
struct session_info {
	uint64_t id;
	const char *program;		/* name, "" before the first */
	const char *patient;
	const char *site;
	bool active;
	bool waiting;			/* for a confirmation */
	bool paused;
	bool resting;
	uint32_t step, n_steps, repetition, repetitions;
	uint64_t step_left_usec, session_left_usec;
	/* the target is out of the motor's reach: the frequency held, and
	 * why ("" and 0 while the target is held)
	 */
	double held_hz;
	const char *held_reason;
};

/* Open the history, mark crashed sessions interrupted, arm plans. */
int sessions_setup(Manager *m);
void sessions_free(Manager *m);

/*
 * Start @program now. Whose session it is (o->outlive_client) is the bus
 * layer's to watch: it calls session_owner_lost() when that client goes.
 */
int session_start_program(Manager *m, const char *program,
			  const struct session_options *o, uint64_t *ret_id,
			  const char **ret_why);
/* One site at @freq_mhz for @duration_ms (0: the safety limit). */
int session_start_manual(Manager *m, uint32_t freq_mhz,
			 uint32_t intensity_permille, uint64_t duration_ms,
			 const struct session_options *o, uint64_t *ret_id,
			 const char **ret_why);
int session_stop(Manager *m, const char **ret_why);
int session_pause(Manager *m, const char **ret_why);
int session_resume(Manager *m, const char **ret_why);
/* Confirm the move to the next site, or start the ready session. */
int session_continue(Manager *m, bool from_button, const char **ret_why);
int session_skip(Manager *m, const char **ret_why);
int session_set_intensity(Manager *m, uint32_t intensity_permille,
			  const char **ret_why);
/* The owner's bus connection went away. */
void session_owner_lost(Manager *m);

void session_get_info(Manager *m, struct session_info *ret);
/* A session is ready to start from the queue (and none runs). */
bool sessions_ready(Manager *m);

/* From the Manager: fresh telemetry; the drive stopped for a reason. */
void sessions_on_telemetry(Manager *m);

/* The history database, or NULL when it could not be opened. */
struct history *sessions_history(Manager *m);
/* The queue changed (the ready state may have). */
void sessions_queue_changed(Manager *m);
/* A plan was added or removed: re-arm the plan timer. */
void sessions_plans_changed(Manager *m);

struct history_erased;
/*
 * Erase every record of @patient (history_erase_patient(); @dry_run
 * counts only) into *ret.  -EBUSY while that patient's session is under
 * way or their queued session is the one ready at the station, -EINVAL
 * for an empty name or one with control characters, -EIO when the
 * history failed, -EAGAIN when erased but the -wal could not be scrubbed
 * yet (*ret is filled).  [History] KeepDays= is applied at start and
 * every 24 hours by the session layer itself.
 */
int sessions_erase_patient(Manager *m, const char *patient, bool dry_run,
			   struct history_erased *ret, const char **ret_why);

#endif
