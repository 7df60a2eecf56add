// SPDX-License-Identifier: MIT
/*
 * massaged-session.c - a program run by lib/scheduler on the drive; the
 * queue, plans and courses; the history written as the session goes
 *
 * One session at a time.  The scheduler says what the drive should do
 * and when to look again; session_apply() makes the Manager do it and
 * arms one timer.  Faults come back through the Manager's state: a latched
 * fault or e-stop ends the session, a pause for lost contact pauses it,
 * and nothing here resumes anything without a person's call.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "log.h"
#include "macro.h"
#include "massaged-bus.h"
#include "massaged-manager-private.h"
#include "massaged-programs.h"
#include "massaged-session.h"
#include "scheduler.h"
#include "test-hooks.h"

/* The spin-up before each vibration; the soft start takes 60 Hz/s. */
#define SESSION_RAMP_NS		(1000ull * NSEC_PER_MSEC)
#define SESSION_CHECKPOINT_USEC	USEC_PER_SEC
#define SESSION_SITE_MAX	PROGRAM_SITE_SIZE

struct session_event {
	uint64_t usec;
	char kind[16];
	char text[160];
};

struct session {
	uint64_t id;			/* in the history; 0 without one */
	bool manual;
	char program[PROGRAM_NAME_MAX + 1];
	char patient[SESSION_PATIENT_MAX];
	uint64_t course_id;
	uint32_t intensity_override;	/* SetIntensity; 0: the program's */
	struct program prog;
	struct scheduler sched;
	struct scheduler_command cmd;
	size_t step;
	const char *step_outcome;	/* of the step being left */
	bool contact_fed, contact;
	/* the target out of reach (lib/controller), as last reported */
	bool unreachable;
	double held_hz;
	char held_reason[160];
	uint32_t held_mhz[PROGRAM_MAX_STEPS];	/* lowest held, 0: target */
	sd_event_source *timer;
	sd_event_source *checkpoint_timer;
	struct session_event events[16];
	unsigned int n_events;
};

struct sessions {
	struct history *history;
	char programs_path[2 * PATH_MAX];
	struct session *current;
	bool queue_nonempty;
	sd_event_source *plan_timer;
	sd_event_source *retention_timer;
	struct history_erased expired;	/* so far in this retention pass */
	/* the last session, for clients after it ended */
	uint64_t last_id;
	char last_program[PROGRAM_NAME_MAX + 1];
	char last_patient[SESSION_PATIENT_MAX];
	char why[256];
};

static const char *refuse(Manager *m, const char **ret_why, const char *fmt,
			  ...) _printf_(3, 4);
static const char *refuse(Manager *m, const char **ret_why, const char *fmt,
			  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->sessions->why, sizeof(m->sessions->why), fmt, ap);
	va_end(ap);
	if (ret_why)
		*ret_why = m->sessions->why;
	return m->sessions->why;
}

static uint64_t realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return timespec_to_ns(&ts) / NSEC_PER_USEC;
}

static bool text_is_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* --- history, never fatal to a running session --------------------------- */

static void session_history_warn(Manager *m, int r, const char *what)
{
	log_warning_errno(r, "History: failed to %s: %s", what,
			  history_errmsg(m->sessions->history));
}

static void session_flush_events(Manager *m)
{
	struct session *s = m->sessions->current;
	unsigned int i;
	int r;

	if (!s)
		return;
	for (i = 0; i < s->n_events && s->id && m->sessions->history; i++) {
		r = history_event_add(m->sessions->history, s->id,
				      s->events[i].usec, s->events[i].kind,
				      s->events[i].text);
		if (r < 0)
			session_history_warn(m, r, "record an event");
	}
	s->n_events = 0;
}

/*
 * Kept until the next checkpoint (at most a second) or the end: a client
 * turning the intensity knob must not wait for a disk sync per call, and
 * a crash loses no more than the checkpoint would.
 */
static void session_event(Manager *m, const char *kind, const char *text)
{
	struct session *s = m->sessions->current;
	struct session_event *e;

	if (!s)
		return;
	if (s->n_events == ARRAY_SIZE(s->events))
		session_flush_events(m);
	e = &s->events[s->n_events++];
	e->usec = realtime_usec();
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->text, sizeof(e->text), "%s", text ?: "");
}

static void session_totals(const struct session *s, uint64_t *ret_contact_usec,
			   double *ret_dose)
{
	struct scheduler_dose d;
	size_t i;

	*ret_contact_usec = 0;
	*ret_dose = 0;
	for (i = 0; i < s->prog.n_steps; i++) {
		if (scheduler_get_dose(&s->sched, i, &d) < 0)
			continue;
		*ret_contact_usec += d.contact_ns / NSEC_PER_USEC;
		*ret_dose += d.amplitude_ms2_s;
	}
}

static void session_put_step(Manager *m, size_t step, const char *outcome)
{
	struct session *s = m->sessions->current;
	struct scheduler_dose d = { 0 };
	int r;

	if (!s->id || !m->sessions->history || step >= s->prog.n_steps)
		return;
	(void)scheduler_get_dose(&s->sched, step, &d);
	r = history_step_put(m->sessions->history, s->id, (unsigned int)step,
			     s->prog.steps[step].site,
			     s->prog.steps[step].freq_mhz,
			     d.contact_ns / NSEC_PER_USEC, d.amplitude_ms2_s,
			     outcome);
	if (r < 0)
		session_history_warn(m, r, "record a step");
	if (s->held_mhz[step]) {
		r = history_step_set_held(m->sessions->history, s->id,
					  (unsigned int)step,
					  s->held_mhz[step]);
		if (r < 0)
			session_history_warn(m, r,
					     "record a step's held frequency");
	}
}

static void session_checkpoint(Manager *m)
{
	struct session *s = m->sessions->current;
	uint64_t contact;
	double dose;
	int r;

	if (!s->id || !m->sessions->history)
		return;
	session_flush_events(m);
	session_totals(s, &contact, &dose);
	r = history_session_checkpoint(m->sessions->history, s->id, contact,
				       dose, realtime_usec());
	if (r < 0)
		session_history_warn(m, r, "checkpoint the session");
	session_put_step(m, s->step, "running");
}

static int on_checkpoint(sd_event_source *es, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	if (m->sessions->current)
		session_checkpoint(m);
	return sd_event_source_set_time(es, usec + SESSION_CHECKPOINT_USEC);
}

/* --- the session's life --------------------------------------------------- */

static struct session *session_free(struct session *s)
{
	if (!s)
		return NULL;
	sd_event_source_disable_unref(s->timer);
	sd_event_source_disable_unref(s->checkpoint_timer);
	free(s);
	return NULL;
}

static const char *outcome_of(enum scheduler_state st)
{
	switch (st) {
	case SCHEDULER_FINISHED:
		return HISTORY_OUTCOME_COMPLETED;
	case SCHEDULER_STOPPED:
		return HISTORY_OUTCOME_STOPPED;
	case SCHEDULER_ESTOPPED:
		return HISTORY_OUTCOME_ESTOPPED;
	case SCHEDULER_FAULT:
		return HISTORY_OUTCOME_FAULT;
	default:
		return HISTORY_OUTCOME_INTERRUPTED;
	}
}

static bool state_is_final(enum scheduler_state st)
{
	return st == SCHEDULER_FINISHED || st == SCHEDULER_STOPPED ||
	       st == SCHEDULER_ESTOPPED || st == SCHEDULER_FAULT;
}

static void session_end(Manager *m, const char *outcome)
{
	struct sessions *ss = m->sessions;
	struct session *s = ss->current;
	uint64_t contact, id;
	double dose;
	int r;

	session_flush_events(m);
	session_totals(s, &contact, &dose);
	session_put_step(m, s->step,
			 strcmp(outcome, HISTORY_OUTCOME_COMPLETED) == 0 ?
			 "done" : outcome);
	if (s->id && ss->history) {
		r = history_session_end(ss->history, s->id, realtime_usec(),
					outcome, contact, dose);
		if (r < 0)
			session_history_warn(m, r, "end the session");
	}
	log_info("Session %" PRIu64 " (%s) %s: %.0f s in contact, dose %.1f m/s^2*s.",
		 s->id, s->program, outcome, contact / 1e6, dose);
	id = s->id;
	ss->current = session_free(s);
	bus_session_finished(m, id, outcome);
	sessions_queue_changed(m);
}

static uint32_t step_intensity(Manager *m, const struct session *s)
{
	if (s->intensity_override)
		return s->intensity_override;
	if (s->cmd.intensity_permille)
		return s->cmd.intensity_permille;
	/*
	 * Amplitude= steps: an ERM's amplitude follows its speed, so the
	 * frequency is what we hold; the drive may use the station's full
	 * allowed intensity and the amplitude is recorded against the target.
	 */
	return m->config.limits.max_intensity_permille;
}

static int session_drive(Manager *m, struct session *s, const char **ret_why)
{
	uint32_t f = s->cmd.freq_mhz, i = step_intensity(m, s);
	int r;

	switch (m->state) {
	case MANAGER_RUNNING:
		if (f != m->target_mhz) {
			r = manager_set_target(m, f, ret_why);
			if (r < 0)
				return r;
		}
		if (i != m->intensity_permille)
			return manager_set_intensity(m, i, ret_why);
		return 0;
	case MANAGER_PAUSED:
		r = manager_set_target(m, f, ret_why);
		if (r >= 0)
			r = manager_set_intensity(m, i, ret_why);
		if (r >= 0)
			r = manager_resume(m, ret_why);
		return r;
	default:
		return manager_drive(m, f, i, false, ret_why);
	}
}

static void session_arm(Manager *m, struct session *s)
{
	uint64_t usec;

	if (s->cmd.next_deadline_ns == SCHEDULER_NO_DEADLINE) {
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		return;
	}
	usec = (s->cmd.next_deadline_ns + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
	sd_event_source_set_time(s->timer, usec);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
	(void)m;
}

/*
 * Catch up with the scheduler and make the drive do what it says.  The
 * session may end (and be freed) here.
 */
static void session_apply(Manager *m)
{
	struct session *s = m->sessions->current;
	const char *why = NULL;
	size_t old_step = s->step;
	int r;

	r = scheduler_tick(&s->sched, now_ns(), &s->cmd);
	if (r < 0) {
		log_error_errno(r, "Scheduler refused a tick: %m; stopping the session.");
		(void)scheduler_fault(&s->sched, now_ns(), SAFETY_REASON_NONE);
		(void)scheduler_tick(&s->sched, now_ns(), &s->cmd);
	}
	if (s->cmd.step != old_step) {
		session_put_step(m, old_step, s->step_outcome ?: "done");
		s->step_outcome = NULL;
		s->step = s->cmd.step;
		log_info("Session %" PRIu64 ": step %zu of %zu, %s.", s->id,
			 s->step + 1, s->prog.n_steps,
			 s->prog.steps[s->step].site);
	}
	if (s->cmd.drive) {
		r = session_drive(m, s, &why);
		if (r < 0) {
			log_error("Session %" PRIu64 ": the drive refused the step: %s.",
				  s->id, why ?: strerror(-r));
			session_event(m, "fault", why ?: strerror(-r));
			(void)scheduler_fault(&s->sched, now_ns(),
					      SAFETY_REASON_NONE);
			(void)scheduler_tick(&s->sched, now_ns(), &s->cmd);
		}
	}
	if (!s->cmd.drive) {
		if (s->cmd.state == SCHEDULER_PAUSED)
			(void)manager_pause(m, NULL);
		else if (m->state == MANAGER_RUNNING ||
			 m->state == MANAGER_PAUSED)
			(void)manager_stop(m, NULL);
	}
	if (state_is_final(s->cmd.state)) {
		session_end(m, outcome_of(s->cmd.state));
		return;
	}
	session_arm(m, s);
	bus_mark_dirty(m);
}

static int on_session_timer(sd_event_source *es _unused_, uint64_t usec _unused_,
			    void *userdata)
{
	Manager *m = userdata;

	if (m->sessions->current)
		session_apply(m);
	return 0;
}

static int session_check_may_start(Manager *m, const char **ret_why)
{
	if (m->sessions->current)
		return refuse(m, ret_why, "session %" PRIu64 " (%s) is under way; stop it first",
			      m->sessions->current->id,
			      m->sessions->current->program), -EBUSY;
	switch (m->state) {
	case MANAGER_IDLE:
		return 0;
	case MANAGER_NO_DEVICE:
		return refuse(m, ret_why, "no massager is connected"), -ENODEV;
	case MANAGER_ESTOP:
		return refuse(m, ret_why, "the emergency stop is latched; release it and reset first"),
		       -EPERM;
	case MANAGER_FAULT:
		return refuse(m, ret_why, "stopped by a fault (%s); reset first",
			      m->fault_text), -EPERM;
	case MANAGER_CALIBRATING:
		return refuse(m, ret_why, "calibration is under way"), -EBUSY;
	case MANAGER_EXITING:
		return refuse(m, ret_why, "the service is shutting down"), -EBUSY;
	default:
		return refuse(m, ret_why, "the motor is in use (%s); stop it first",
			      manager_state_to_string(m->state)), -EBUSY;
	}
}

static int session_check_course(Manager *m, struct session *s,
				const char **ret_why);

/* Takes @s; on success it is the current session. */
static int session_begin(Manager *m, struct session *s, uint32_t manual_mhz,
			 int pain_before, uint64_t *ret_id,
			 const char **ret_why)
{
	struct sessions *ss = m->sessions;
	const char *why = NULL;
	size_t i;
	int r;

	r = scheduler_init(&s->sched, &s->prog, SESSION_RAMP_NS);
	if (r < 0) {
		session_free(s);
		return refuse(m, ret_why, "the program cannot be run"), -EINVAL;
	}
	r = session_check_course(m, s, ret_why);
	if (r < 0) {
		session_free(s);
		return r;
	}
	/* Every step must be possible on this motor before the first one
	 * starts: a session does not fail half-way for a setting. */
	for (i = 0; i < s->prog.n_steps; i++) {
		const struct program_step *st = &s->prog.steps[i];
		uint32_t in = st->intensity_permille ?:
			      m->config.limits.max_intensity_permille;

		r = manager_check_step(m, st->freq_mhz, in, &why);
		if (r < 0) {
			refuse(m, ret_why, "step %zu (%s): %s", i + 1, st->site,
			       why ?: strerror(-r));
			session_free(s);
			return r;
		}
	}
	r = sd_event_add_time(m->event, &s->timer, CLOCK_MONOTONIC, 0, 1000,
			      on_session_timer, m);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &s->checkpoint_timer,
					       CLOCK_MONOTONIC,
					       SESSION_CHECKPOINT_USEC, 10000,
					       on_checkpoint, m);
	if (r < 0) {
		session_free(s);
		return refuse(m, ret_why, "out of event sources"), r;
	}
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->checkpoint_timer, SD_EVENT_ON);

	/* Drive first: a refusal (not calibrated, thermal lockout...) leaves
	 * no record of a session that never began. */
	(void)scheduler_start(&s->sched, now_ns());
	(void)scheduler_tick(&s->sched, now_ns(), &s->cmd);
	s->step = s->cmd.step;
	r = session_drive(m, s, &why);
	if (r < 0) {
		session_free(s);
		return refuse(m, ret_why, "%s", why ?: strerror(-r)), r;
	}
	ss->current = s;
	if (ss->history) {
		struct history_session_start hs = {
			.program = s->program,
			.program_title = s->prog.title,
			.patient = s->patient,
			.course_id = s->course_id,
			.manual_freq_mhz = manual_mhz,
			.started_usec = realtime_usec(),
			.pain_before = pain_before,
		};

		r = history_session_begin(ss->history, &hs, &s->id);
		if (r < 0) {
			session_history_warn(m, r, "record the new session");
			s->id = 0;
		}
	}
	ss->last_id = s->id;
	snprintf(ss->last_program, sizeof(ss->last_program), "%s", s->program);
	snprintf(ss->last_patient, sizeof(ss->last_patient), "%s", s->patient);
	log_info("Session %" PRIu64 ": %s%s%s started, %zu step%s.", s->id,
		 s->program, s->patient[0] ? " for " : "", s->patient,
		 s->prog.n_steps, s->prog.n_steps == 1 ? "" : "s");
	session_put_step(m, s->step, "running");
	session_arm(m, s);
	bus_mark_dirty(m);
	if (ret_id)
		*ret_id = s->id;
	return 0;
}

static struct session *session_new(const char *program,
				   const struct session_options *o)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->program, sizeof(s->program), "%s", program);
	if (o) {
		snprintf(s->patient, sizeof(s->patient), "%s", o->patient);
		s->course_id = o->course_id;
	}
	return s;
}

static int session_check_options(Manager *m, const struct session_options *o,
				 const char **ret_why)
{
	if (!o)
		return 0;
	if (!text_is_printable(o->patient))
		return refuse(m, ret_why, "patient: control characters are not allowed"),
		       -EINVAL;
	if (o->pain_before < -1 || o->pain_before > 10)
		return refuse(m, ret_why, "pain_before: %d is not a pain score 0-10",
			      o->pain_before), -EINVAL;
	return 0;
}

struct course_check {
	const char *program;
	char program_out[PROGRAM_NAME_MAX + 1];
	char patient[SESSION_PATIENT_MAX];
};

static int course_check_cb(const struct history_course *c, void *userdata)
{
	struct course_check *cc = userdata;

	snprintf(cc->program_out, sizeof(cc->program_out), "%s", c->program);
	snprintf(cc->patient, sizeof(cc->patient), "%s", c->patient);
	return 0;
}

static int session_check_course(Manager *m, struct session *s,
				const char **ret_why)
{
	struct course_check cc = { .program = s->program };
	int r;

	if (!s->course_id)
		return 0;
	if (!m->sessions->history)
		return refuse(m, ret_why, "the history is unavailable, so courses are"),
		       -EIO;
	r = history_course_get(m->sessions->history, s->course_id,
			       realtime_usec(), course_check_cb, &cc);
	if (r == -ENOENT)
		return refuse(m, ret_why, "course: there is no course %" PRIu64,
			      s->course_id), -ENXIO;
	if (r < 0)
		return refuse(m, ret_why, "the history failed: %s",
			      history_errmsg(m->sessions->history)), -EIO;
	if (strcmp(cc.program_out, s->program) != 0)
		return refuse(m, ret_why, "course: course %" PRIu64 " is for program %s, not %s",
			      s->course_id, cc.program_out, s->program), -EINVAL;
	if (!s->patient[0])
		snprintf(s->patient, sizeof(s->patient), "%s", cc.patient);
	else if (strcmp(s->patient, cc.patient) != 0)
		return refuse(m, ret_why, "course: course %" PRIu64 " is for another patient",
			      s->course_id), -EINVAL;
	return 0;
}

static int session_load_program(Manager *m, const char *name,
				struct program *prog, const char **ret_why)
{
	struct program_error err = { 0 };
	char path[PATH_MAX];
	int r;

	r = programs_load(m->sessions->programs_path, name,
			  &m->config.limits, prog, path, &err);
	if (r == -EINVAL && !err.message[0])
		return refuse(m, ret_why, "program: \"%s\" is not a program name (a-z, 0-9, -)",
			      name), -EINVAL;
	if (r == -ENOENT)
		return refuse(m, ret_why, "there is no program \"%s\"; massagectl programs lists them",
			      name), -ENOENT;
	if (r < 0 && err.message[0])
		return refuse(m, ret_why, "%s", err.message), -EBADMSG;
	if (r < 0)
		return refuse(m, ret_why, "cannot read program %s: %s", path,
			      strerror(-r)), -EBADMSG;
	return 0;
}

int session_start_program(Manager *m, const char *program,
			  const struct session_options *o, uint64_t *ret_id,
			  const char **ret_why)
{
	struct session *s;
	int r;

	r = session_check_options(m, o, ret_why);
	if (r < 0)
		return r;
	r = session_check_may_start(m, ret_why);
	if (r < 0)
		return r;
	s = session_new(program, o);
	if (!s)
		return refuse(m, ret_why, "out of memory"), -ENOMEM;
	r = session_load_program(m, program, &s->prog, ret_why);
	if (r < 0) {
		session_free(s);
		return r;
	}
	return session_begin(m, s, 0, o ? o->pain_before : -1, ret_id,
			     ret_why);
}

int session_start_manual(Manager *m, uint32_t freq_mhz,
			 uint32_t intensity_permille, uint64_t duration_ms,
			 const struct session_options *o, uint64_t *ret_id,
			 const char **ret_why)
{
	const struct safety_limits *l = &m->config.limits;
	enum safety_reason reason;
	struct program_step *st;
	struct session *s;
	char text[200];
	int r;

	r = session_check_options(m, o, ret_why);
	if (r < 0)
		return r;
	if (intensity_permille == 0 ||
	    intensity_permille > l->max_intensity_permille)
		return refuse(m, ret_why, "intensity: %u is outside 1..%u per mille",
			      intensity_permille, l->max_intensity_permille),
		       -EINVAL;
	r = safety_check_target(l, freq_mhz, intensity_permille, &reason);
	if (r < 0) {
		safety_format_target_refusal(text, sizeof(text), l, reason,
					     freq_mhz, intensity_permille);
		return refuse(m, ret_why, "%s", text),
		       reason == SAFETY_REASON_INTENSITY ? -EINVAL : -ERANGE;
	}
	if (duration_ms == 0)
		duration_ms = l->max_continuous_site_ms;
	if (duration_ms > l->max_continuous_site_ms)
		return refuse(m, ret_why, "duration: %" PRIu64 " s is longer than the %u s allowed on one site",
			      duration_ms / 1000,
			      l->max_continuous_site_ms / 1000), -ERANGE;
	r = session_check_may_start(m, ret_why);
	if (r < 0)
		return r;
	s = session_new("manual", o);
	if (!s)
		return refuse(m, ret_why, "out of memory"), -ENOMEM;
	snprintf(s->prog.title, sizeof(s->prog.title), "Manual, %.1f Hz",
		 freq_mhz / 1000.0);
	s->manual = true;
	s->prog.n_steps = 1;
	s->prog.total_vibration_ms = duration_ms;
	st = &s->prog.steps[0];
	snprintf(st->site, sizeof(st->site), "as placed");
	st->technique = PROGRAM_TECHNIQUE_VIBRATION;
	st->freq_mhz = freq_mhz;
	st->intensity_permille = intensity_permille;
	st->duration_ms = duration_ms;
	st->repetitions = 1;
	st->advance = PROGRAM_ADVANCE_CONFIRM;
	return session_begin(m, s, freq_mhz, o ? o->pain_before : -1, ret_id,
			     ret_why);
}

static struct session *session_current(Manager *m, const char **ret_why)
{
	if (!m->sessions->current)
		refuse(m, ret_why, "no session is under way");
	return m->sessions->current;
}

int session_stop(Manager *m, const char **ret_why)
{
	struct session *s = session_current(m, ret_why);

	if (!s)
		return -ENOTCONN;
	(void)scheduler_stop(&s->sched, now_ns());
	session_event(m, "stop", "by request");
	session_apply(m);
	return 0;
}

int session_pause(Manager *m, const char **ret_why)
{
	struct session *s = session_current(m, ret_why);
	int r;

	if (!s)
		return -ENOTCONN;
	r = scheduler_pause(&s->sched, now_ns());
	if (r == -EBUSY && s->sched.state == SCHEDULER_PAUSED)
		return 0;
	if (r < 0)
		return refuse(m, ret_why, "the session cannot pause while %s",
			      scheduler_state_to_string(s->sched.state)), -EBUSY;
	session_event(m, "pause", "by request");
	session_apply(m);
	return 0;
}

int session_resume(Manager *m, const char **ret_why)
{
	struct session *s = session_current(m, ret_why);
	int r;

	if (!s)
		return -ENOTCONN;
	if (m->state == MANAGER_ESTOP || m->state == MANAGER_FAULT)
		return session_check_may_start(m, ret_why);
	r = scheduler_resume(&s->sched, now_ns());
	if (r < 0)
		return refuse(m, ret_why, "the session is not paused (%s)",
			      scheduler_state_to_string(s->sched.state)), -ENOTCONN;
	session_event(m, "resume", "by request");
	session_apply(m);
	return 0;
}

struct queue_start {
	Manager *m;
	const char **ret_why;
	int r;
};

static int queue_start_cb(const struct history_queue_entry *e, void *userdata)
{
	struct queue_start *qs = userdata;
	struct session_options o = {
		.course_id = e->course_id,
		.pain_before = -1,
		.outlive_client = true,
	};

	snprintf(o.patient, sizeof(o.patient), "%s", e->patient);
	qs->r = session_start_program(qs->m, e->program, &o, NULL,
				      qs->ret_why);
	return qs->r;
}

int session_continue(Manager *m, bool from_button, const char **ret_why)
{
	struct session *s = m->sessions->current;
	struct queue_start qs = { .m = m, .ret_why = ret_why };
	int r;

	if (!s) {
		if (!sessions_ready(m))
			return refuse(m, ret_why, "no session is waiting to go on, and none is ready in the queue"),
			       -ENOTCONN;
		/* Queued sessions belong to the station, not to a client. */
		r = history_queue_pop(m->sessions->history, queue_start_cb,
				      &qs);
		sessions_queue_changed(m);
		if (r < 0 && qs.r == 0)
			return refuse(m, ret_why, "the queue could not be read: %s",
				      history_errmsg(m->sessions->history)), -EIO;
		return r;
	}
	r = scheduler_confirm(&s->sched, now_ns(),
			      from_button ? SCHEDULER_FROM_BUTTON :
					    SCHEDULER_FROM_CLIENT);
	if (r == -EPERM)
		return refuse(m, ret_why, "this step moves on only by the %s",
			      from_button ? "client (a call)" : "handset button"),
		       -EPERM;
	if (r < 0)
		return refuse(m, ret_why, "the session is not waiting for the next site (%s)",
			      scheduler_state_to_string(s->sched.state)), -ENOTCONN;
	session_event(m, "continue", from_button ? "handset button" : "client");
	session_apply(m);
	return 0;
}

int session_skip(Manager *m, const char **ret_why)
{
	struct session *s = session_current(m, ret_why);
	int r;

	if (!s)
		return -ENOTCONN;
	r = scheduler_skip(&s->sched, now_ns());
	if (r < 0)
		return refuse(m, ret_why, "nothing to skip while %s",
			      scheduler_state_to_string(s->sched.state)), -ENOTCONN;
	s->step_outcome = "skipped";
	session_event(m, "skip", s->prog.steps[s->step].site);
	session_apply(m);
	return 0;
}

int session_set_intensity(Manager *m, uint32_t intensity_permille,
			  const char **ret_why)
{
	struct session *s = session_current(m, ret_why);
	const struct safety_limits *l = &m->config.limits;
	char text[64];

	if (intensity_permille == 0 ||
	    intensity_permille > l->max_intensity_permille)
		return refuse(m, ret_why, "intensity: %u is outside 1..%u per mille",
			      intensity_permille, l->max_intensity_permille),
		       -EINVAL;
	if (!s)
		return -ENOTCONN;
	/* Refuse here what the drive would refuse: the session stays as
	 * it was instead of stopping on a fault. */
	for (size_t i = s->step; i < s->prog.n_steps; i++) {
		const char *why = NULL;
		int r = manager_check_step(m, s->prog.steps[i].freq_mhz,
					   intensity_permille, &why);

		if (r < 0)
			return refuse(m, ret_why, "%s", why ?: strerror(-r)), r;
	}
	s->intensity_override = intensity_permille;
	snprintf(text, sizeof(text), "%u per mille", intensity_permille);
	session_event(m, "intensity", text);
	session_apply(m);
	return 0;
}

void session_owner_lost(Manager *m)
{
	struct session *s = m->sessions->current;

	if (!s)
		return;
	log_notice("Session %" PRIu64 ": its client disconnected; stopping.",
		   s->id);
	(void)scheduler_stop(&s->sched, now_ns());
	session_event(m, "stop", "the client that started it disconnected");
	session_apply(m);
}

void session_get_info(Manager *m, struct session_info *ret)
{
	struct sessions *ss = m->sessions;
	struct session *s = ss ? ss->current : NULL;
	struct scheduler_progress p;

	*ret = (struct session_info) {
		.program = ss ? ss->last_program : "",
		.patient = ss ? ss->last_patient : "",
		.site = "",
		.held_reason = "",
		.id = ss ? ss->last_id : 0,
	};
	if (!s || scheduler_get_progress(&s->sched, now_ns(), &p) < 0)
		return;
	ret->active = true;
	ret->site = s->prog.steps[p.step].site;
	ret->waiting = p.state == SCHEDULER_WAITING ||
		       (p.state == SCHEDULER_PAUSED &&
			p.paused_in == SCHEDULER_WAITING);
	ret->paused = p.state == SCHEDULER_PAUSED;
	ret->resting = p.state == SCHEDULER_RESTING;
	ret->step = (uint32_t)p.step;
	ret->n_steps = (uint32_t)p.n_steps;
	ret->repetition = p.repetition;
	ret->repetitions = p.repetitions;
	ret->step_left_usec = p.step_left_ns / NSEC_PER_USEC;
	ret->session_left_usec = p.session_left_ns / NSEC_PER_USEC;
	ret->held_hz = s->unreachable ? s->held_hz : 0;
	ret->held_reason = s->unreachable ? s->held_reason : "";
}

bool sessions_ready(Manager *m)
{
	return m->sessions && !m->sessions->current &&
	       m->sessions->queue_nonempty && m->state == MANAGER_IDLE;
}

struct history *sessions_history(Manager *m)
{
	return m->sessions ? m->sessions->history : NULL;
}

static int queue_any_cb(const struct history_queue_entry *e _unused_,
			void *userdata)
{
	*(bool *)userdata = true;
	return -ECANCELED;	/* one is enough */
}

void sessions_queue_changed(Manager *m)
{
	bool any = false;

	if (m->sessions->history)
		(void)history_queue_list(m->sessions->history, queue_any_cb,
					 &any);
	m->sessions->queue_nonempty = any;
	bus_mark_dirty(m);
}

/* --- from the Manager ----------------------------------------------------- */

/*
 * The controller cannot reach the target as things are and holds less
 * (lib/controller, "unreachable"): never silent. The session says so in
 * its event log, on the bus (HeldFrequency, HeldReason, the
 * TargetUnreachable signal) and on the step's record; lib/safety decides
 * whether it goes on at the held frequency or pauses (the supervisor
 * acts on that), docs/safety.md says why.
 */
static void session_on_reach(Manager *m, struct session *s)
{
	const struct telemetry *t = &m->last;
	double target = m->target_mhz / 1000.0;
	bool goes_on;
	char text[sizeof(s->held_reason) + 64];

	if (t->unreachable) {
		s->held_hz = t->held_hz;
		if (s->step < ARRAY_SIZE(s->held_mhz)) {
			uint32_t mhz = (uint32_t)(t->held_hz * 1000);
			uint32_t *held = &s->held_mhz[s->step];

			if (mhz && (!*held || mhz < *held))
				*held = mhz;
		}
	}
	if (t->unreachable == s->unreachable)
		return;
	s->unreachable = t->unreachable;
	if (!s->unreachable) {
		/* a rest or a pause ends it too: only a recovery is news */
		if (s->sched.state == SCHEDULER_VIBRATING) {
			snprintf(text, sizeof(text),
				 "back at the target, %.1f Hz", target);
			session_event(m, "reachable", text);
		}
		bus_mark_dirty(m);
		return;
	}
	goes_on = safety_unreachable_action(&m->config.limits,
					    (uint32_t)(t->held_hz * 1000)) ==
		  SAFETY_OK;
	snprintf(s->held_reason, sizeof(s->held_reason),
		 "the drive is at its limit: the press is too firm, or the supply too low, for %.1f Hz",
		 target);
	snprintf(text, sizeof(text), "held %.1f Hz of %.1f Hz: %s; %s",
		 t->held_hz, target, s->held_reason,
		 goes_on ? "the session goes on" :
			   "below the therapy band, paused");
	session_event(m, "unreachable", text);
	log_warning("Session %" PRIu64 ": %s.", s->id, text);
	bus_target_unreachable(m, target, t->held_hz, s->held_reason);
	bus_mark_dirty(m);
}

void sessions_on_telemetry(Manager *m)
{
	struct session *s = m->sessions ? m->sessions->current : NULL;
	uint64_t t = now_ns();

	if (!s || !m->have_last)
		return;
	session_on_reach(m, s);
	if (!s->contact_fed || s->contact != m->last.in_contact) {
		s->contact_fed = true;
		s->contact = m->last.in_contact;
		(void)scheduler_contact(&s->sched, t, s->contact);
	}
	if (s->sched.state == SCHEDULER_VIBRATING ||
	    s->sched.state == SCHEDULER_RAMPING)
		(void)scheduler_feed_amplitude(&s->sched, t,
					       m->last.amplitude_ms2 >= 0 ?
					       m->last.amplitude_ms2 : 0);
}

void sessions_on_manager_state(Manager *m)
{
	struct session *s = m->sessions ? m->sessions->current : NULL;
	const char *text = m->fault_text[0] ? m->fault_text : NULL;

	if (!s)
		return;
	switch (m->state) {
	case MANAGER_ESTOP:
		session_event(m, "estop", text ?: "emergency stop");
		(void)scheduler_estop(&s->sched, now_ns());
		break;
	case MANAGER_FAULT:
		session_event(m, "fault", text ?: "fault");
		(void)scheduler_fault(&s->sched, now_ns(), m->fault_reason);
		break;
	case MANAGER_NO_DEVICE:
		session_event(m, "fault", "the massager was removed");
		(void)scheduler_fault(&s->sched, now_ns(), SAFETY_REASON_NONE);
		break;
	case MANAGER_PAUSED:
		if (s->sched.state == SCHEDULER_PAUSED)
			return;
		/* The supervisor paused the drive (lost contact): the
		 * session waits for a person to resume it. */
		session_event(m, m->fault_reason ==
					 SAFETY_REASON_TARGET_UNREACHABLE ?
					 "unreachable-pause" : "lost-contact",
			      text ?: "paused");
		if (scheduler_pause(&s->sched, now_ns()) < 0)
			return;
		break;
	case MANAGER_IDLE:
	case MANAGER_STOPPING:
		/* Someone stopped the drive under us (the debug socket):
		 * a session that should be vibrating is over. */
		if (!s->cmd.drive || s->sched.state == SCHEDULER_PAUSED)
			return;
		session_event(m, "stop", "the drive was stopped outside the session");
		(void)scheduler_stop(&s->sched, now_ns());
		break;
	default:
		return;
	}
	session_apply(m);
}

/* --- plans ---------------------------------------------------------------- */

/* The next local time @minutes after midnight strictly after @now_usec. */
uint64_t plan_next_local(uint64_t now_usec, int minutes)
{
	time_t now = (time_t)(now_usec / USEC_PER_SEC), t;
	struct tm tm;
	int day;

	localtime_r(&now, &tm);
	for (day = 0; day < 3; day++) {
		struct tm c = tm;

		c.tm_mday += day;
		c.tm_hour = minutes / 60;
		c.tm_min = minutes % 60;
		c.tm_sec = 0;
		c.tm_isdst = -1;
		t = mktime(&c);
		if (t != (time_t)-1 && (uint64_t)t * USEC_PER_SEC > now_usec)
			return (uint64_t)t * USEC_PER_SEC;
	}
	return now_usec + 24 * 3600 * USEC_PER_SEC;
}

struct plan_due {
	Manager *m;
	uint64_t now_usec;
	uint64_t earliest;
};

static int plan_fire_cb(const struct history_plan *p, void *userdata)
{
	struct plan_due *pd = userdata;
	struct history *h = pd->m->sessions->history;
	uint64_t next, id;
	int r;

	if (p->next_due_usec > pd->now_usec) {
		if (!pd->earliest || p->next_due_usec < pd->earliest)
			pd->earliest = p->next_due_usec;
		return 0;
	}
	r = history_queue_add(h, p->program, p->patient, p->course_id,
			      p->next_due_usec, &id);
	if (r < 0) {
		session_history_warn(pd->m, r, "queue a planned session");
		return 0;
	}
	log_info("Planned session %s%s%s is ready in the queue; it starts when a person confirms.",
		 p->program, p->patient[0] ? " for " : "", p->patient);
	if (!p->daily) {
		(void)history_plan_remove(h, p->id);
		return 0;
	}
	if (p->when_minutes >= 0)
		next = plan_next_local(pd->now_usec, p->when_minutes);
	else
		for (next = p->next_due_usec; next <= pd->now_usec;)
			next += 24 * 3600 * USEC_PER_SEC;
	(void)history_plan_set_next_due(h, p->id, next);
	if (!pd->earliest || next < pd->earliest)
		pd->earliest = next;
	return 0;
}

static int on_plan_timer(sd_event_source *es _unused_, uint64_t usec _unused_,
			 void *userdata)
{
	sessions_plans_changed(userdata);
	return 0;
}

/* Queue what is due, then sleep until the next plan. */
void sessions_plans_changed(Manager *m)
{
	struct sessions *ss = m->sessions;
	struct plan_due pd = { .m = m, .now_usec = realtime_usec() };
	int r;

	if (!ss->history)
		return;
	r = history_plan_list(ss->history, plan_fire_cb, &pd);
	if (r < 0)
		session_history_warn(m, r, "read the plans");
	sessions_queue_changed(m);
	if (!pd.earliest) {
		sd_event_source_set_enabled(ss->plan_timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(ss->plan_timer, pd.earliest);
	sd_event_source_set_enabled(ss->plan_timer, SD_EVENT_ONESHOT);
}

static int sessions_retention_setup(Manager *m);

/* --- setup ---------------------------------------------------------------- */

int sessions_setup(Manager *m)
{
	struct sessions *ss;
	char path[PATH_MAX + 16];
	const char *env;
	unsigned int n = 0;
	int r;

	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return log_oom();
	m->sessions = ss;
	env = getenv("MASSAGED_PROGRAMS_PATH");
	snprintf(ss->programs_path, sizeof(ss->programs_path), "%s",
		 env && *env ? env : MASSAGED_PROGRAMS_PATH_DEFAULT);

	snprintf(path, sizeof(path), "%s/history.db", m->state_dir);
	r = history_open(&ss->history, path);
	if (r < 0) {
		/* Therapy without a record is still therapy; say so loudly. */
		log_error_errno(r, "Cannot open the treatment history %s: %m. Sessions run but are NOT recorded.",
				path);
		ss->history = NULL;
	} else {
		r = history_mark_interrupted(ss->history, realtime_usec(), &n);
		if (r < 0)
			session_history_warn(m, r, "close the sessions of the last run");
		else if (n)
			log_warning("%u session%s of the last run did not end (crash or power loss): recorded as interrupted.",
				    n, n == 1 ? "" : "s");
	}
	r = sd_event_add_time(m->event, &ss->plan_timer, CLOCK_REALTIME, 0,
			      USEC_PER_SEC, on_plan_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the plan timer: %m");
	sd_event_source_set_enabled(ss->plan_timer, SD_EVENT_OFF);
	sessions_plans_changed(m);
	return sessions_retention_setup(m);
}

const char *sessions_programs_path(Manager *m)
{
	return m->sessions->programs_path;
}

void sessions_free(Manager *m)
{
	struct sessions *ss = m->sessions;

	if (!ss)
		return;
	if (ss->current) {
		/* The service is stopping with a session under way. */
		session_event(m, "interrupted", "the service stopped");
		session_end(m, HISTORY_OUTCOME_INTERRUPTED);
	}
	sd_event_source_disable_unref(ss->plan_timer);
	sd_event_source_disable_unref(ss->retention_timer);
	history_free(ss->history);
	free(ss);
	m->sessions = NULL;
}

/* --- erasure and retention ------------------------------------------------ */

struct queue_head {
	bool any;
	uint64_t id;
	uint64_t course_id;
	char patient[SESSION_PATIENT_MAX];
};

static int queue_head_cb(const struct history_queue_entry *e, void *userdata)
{
	struct queue_head *qh = userdata;

	qh->any = true;
	qh->id = e->id;
	qh->course_id = e->course_id;
	snprintf(qh->patient, sizeof(qh->patient), "%s", e->patient);
	return -ECANCELED;	/* the head is enough */
}

/* Is the ready session (the head of the queue) @patient's? */
static int ready_is_patients(Manager *m, const char *patient,
			     uint64_t *ret_entry)
{
	struct history *h = m->sessions->history;
	struct queue_head qh = { 0 };
	struct course_check cc = { 0 };
	int r;

	if (!sessions_ready(m))
		return 0;
	r = history_queue_list(h, queue_head_cb, &qh);
	if (r < 0 && r != -ECANCELED)
		return r;
	if (!qh.any)
		return 0;
	*ret_entry = qh.id;
	if (strcmp(qh.patient, patient) == 0)
		return 1;
	if (!qh.course_id)
		return 0;
	r = history_course_get(h, qh.course_id, realtime_usec(),
			       course_check_cb, &cc);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	return strcmp(cc.patient, patient) == 0;
}

/* The last session's name, id and program go with its records. */
static void sessions_forget_last(Manager *m)
{
	struct sessions *ss = m->sessions;

	ss->last_id = 0;
	ss->last_program[0] = '\0';
	ss->last_patient[0] = '\0';
	bus_mark_dirty(m);
}

static int session_exists_cb(const struct history_session *s _unused_,
			     void *userdata _unused_)
{
	return 0;
}

/* After an erase or an expiry: the last session may be gone with it. */
static void sessions_forget_last_if_gone(Manager *m)
{
	struct sessions *ss = m->sessions;

	if (ss->current || !ss->last_id)
		return;
	if (history_get_session(ss->history, ss->last_id, session_exists_cb,
				NULL) == -ENOENT)
		sessions_forget_last(m);
}

int sessions_erase_patient(Manager *m, const char *patient, bool dry_run,
			   struct history_erased *ret, const char **ret_why)
{
	struct sessions *ss = m->sessions;
	struct session *s = ss->current;
	uint64_t entry = 0;
	int r;

	if (!ss->history)
		return refuse(m, ret_why, "the treatment history could not be opened; see journalctl -u massaged"),
		       -EIO;
	if (!*patient || !text_is_printable(patient) ||
	    strlen(patient) >= SESSION_PATIENT_MAX)
		return refuse(m, ret_why, "patient: a name of 1-%u bytes without control characters",
			      SESSION_PATIENT_MAX - 1), -EINVAL;
	/*
	 * Their session under way would write its rows back a second later,
	 * and its record would end up half erased: stop it first.
	 */
	if (s && strcmp(s->patient, patient) == 0)
		return refuse(m, ret_why, "session %" PRIu64 " of this patient is under way; stop it first",
			      s->id), -EBUSY;
	/*
	 * Their queued session ready at the station: the handset button
	 * would start the next patient's in its place, unannounced.  Taking
	 * it out of the queue is a deliberate act of its own.
	 */
	r = ready_is_patients(m, patient, &entry);
	if (r < 0)
		return refuse(m, ret_why, "the queue could not be read: %s",
			      history_errmsg(ss->history)), -EIO;
	if (r > 0)
		return refuse(m, ret_why, "queue entry %" PRIu64 " of this patient is ready to start at the station; remove it (massagectl queue remove %" PRIu64 ") first",
			      entry, entry), -EBUSY;

	r = history_erase_patient(ss->history, patient, dry_run, ret);
	if (r < 0 && r != -EAGAIN)
		return refuse(m, ret_why, "the history failed: %s",
			      history_errmsg(ss->history)), -EIO;
	if (dry_run)
		return 0;
	/* Counts only: the journal is no place for the name. */
	log_notice("Erased a patient's records on request: sessions=%u steps=%u events=%u queue=%u plans=%u courses=%u.",
		   ret->sessions, ret->steps, ret->events, ret->queue,
		   ret->plans, ret->courses);
	if (!s && strcmp(ss->last_patient, patient) == 0)
		sessions_forget_last(m);
	sessions_forget_last_if_gone(m);
	if (ret->queue || ret->plans)
		sessions_plans_changed(m);
	if (r == -EAGAIN)
		return refuse(m, ret_why, "erased, but a program reading history.db (an sqlite3 shell?) keeps old copies in history.db-wal; close it and erase again"),
		       -EAGAIN;
	return 0;
}

#define RETENTION_PERIOD_USEC (24ull * 3600 * USEC_PER_SEC)
/*
 * Sessions per transaction, and the pause between two: a first pass over
 * years of records must not hold the main loop past the watchdog
 * (WatchdogSec=2s).  200 sessions with 8 steps each take 25-40 ms on the
 * development VM; on an SD card expect ten times that.
 */
#define RETENTION_BATCH 200u
#define RETENTION_BATCH_GAP_USEC (USEC_PER_SEC / 20)

/*
 * One step of a pass.  The cut-off is KeepDays before now or before the
 * newest record, whichever is earlier: a clock that is wrong by years
 * ahead (a Raspberry Pi has no RTC) must not erase last week's records.
 * Until a session is recorded again, records older than the retention
 * may stay a little longer; that is the side to err on.  Returns true
 * when there may be more.
 */
static bool sessions_expire_step(Manager *m)
{
	struct sessions *ss = m->sessions;
	uint64_t keep = (uint64_t)m->config.keep_days * 24 * 3600 *
			USEC_PER_SEC;
	uint64_t now = realtime_usec(), newest = 0, cut;
	struct history_erased e = { 0 };
	int r;

	if (!ss->history || !m->config.keep_days)
		return false;
	r = history_newest_usec(ss->history, &newest);
	if (r < 0) {
		session_history_warn(m, r, "find the newest record");
		return false;
	}
	if (newest && newest < now)
		now = newest;
	if (now <= keep)
		return false;
	cut = now - keep;
	r = history_expire(ss->history, cut, RETENTION_BATCH, &e);
	if (r < 0 && r != -EAGAIN) {
		session_history_warn(m, r, "remove the records older than KeepDays=");
		return false;
	}
	ss->expired.sessions += e.sessions;
	ss->expired.steps += e.steps;
	ss->expired.events += e.events;
	ss->expired.courses += e.courses;
	if (e.sessions == RETENTION_BATCH)
		return true;
	if (ss->expired.sessions || ss->expired.courses)
		log_info("Retention (KeepDays=%u): removed %u session(s) (%u step(s), %u event(s)) and %u course(s) that ended more than %u days before the newest record or now.",
			 m->config.keep_days, ss->expired.sessions,
			 ss->expired.steps, ss->expired.events,
			 ss->expired.courses, m->config.keep_days);
	if (r == -EAGAIN)
		log_warning("Retention: a program reading history.db keeps old copies in history.db-wal; they go at the next pass.");
	ss->expired = (struct history_erased){ 0 };
	sessions_forget_last_if_gone(m);
	return false;
}

static int on_retention_timer(sd_event_source *es, uint64_t usec _unused_,
			      void *userdata)
{
	uint64_t next = RETENTION_BATCH_GAP_USEC;

	if (!sessions_expire_step(userdata))
		next = test_hooks_retention_period_usec(RETENTION_PERIOD_USEC);
	(void)sd_event_source_set_time_relative(es, next);
	return sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
}

/*
 * Apply KeepDays= from the first turn of the main loop (not here: a long
 * first pass must not delay READY=1), then every 24 hours of the boot
 * clock.
 */
static int sessions_retention_setup(Manager *m)
{
	struct sessions *ss = m->sessions;
	int r;

	if (ss->history)
		history_set_erase_hook(ss->history, test_hooks_erase_hook(),
				       NULL);
	if (!m->config.keep_days)
		return 0;
	r = sd_event_add_time_relative(m->event, &ss->retention_timer,
				       CLOCK_BOOTTIME, 0, USEC_PER_SEC / 100,
				       on_retention_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the retention timer: %m");
	return 0;
}
