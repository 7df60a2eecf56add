/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * scheduler.c - runs a parsed program in time; see scheduler.h
 *
 * Every event first catches up with the time it is given (account the
 * dose, carry out due transitions), then acts, so an event that arrives
 * just after a deadline the daemon has not ticked yet acts on the state
 * the program is really in.
 */
#include "scheduler.h"

#define NSEC_PER_MSEC	1000000ull
/* More transitions than this in one tick means a broken program. */
#define MAX_TRANSITIONS	16u

static const char *const state_names[_SCHEDULER_STATE_MAX] = {
	[SCHEDULER_IDLE] = "idle",
	[SCHEDULER_RAMPING] = "ramping",
	[SCHEDULER_VIBRATING] = "vibrating",
	[SCHEDULER_RESTING] = "resting",
	[SCHEDULER_WAITING] = "waiting",
	[SCHEDULER_PAUSED] = "paused",
	[SCHEDULER_FINISHED] = "finished",
	[SCHEDULER_STOPPED] = "stopped",
	[SCHEDULER_ESTOPPED] = "e-stopped",
	[SCHEDULER_FAULT] = "fault",
};

const char *scheduler_state_to_string(enum scheduler_state state)
{
	if ((unsigned int)state >= _SCHEDULER_STATE_MAX)
		return "unknown";
	return state_names[state];
}

static bool state_is_final(enum scheduler_state state)
{
	return state == SCHEDULER_FINISHED || state == SCHEDULER_STOPPED ||
	       state == SCHEDULER_ESTOPPED || state == SCHEDULER_FAULT;
}

static bool state_is_running(enum scheduler_state state)
{
	return state == SCHEDULER_RAMPING || state == SCHEDULER_VIBRATING ||
	       state == SCHEDULER_RESTING || state == SCHEDULER_WAITING;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t ms_to_ns(uint64_t ms)
{
	return mul_sat(ms, NSEC_PER_MSEC);
}

static const struct program_step *cur(const struct scheduler *s)
{
	return &s->program->steps[s->step];
}

static bool is_last_step(const struct scheduler *s)
{
	return s->step + 1 >= s->program->n_steps;
}

int scheduler_init(struct scheduler *s, const struct program *program,
		   uint64_t ramp_ns)
{
	if (!s || !program || program->n_steps == 0 ||
	    program->n_steps > PROGRAM_MAX_STEPS)
		return -EINVAL;
	for (size_t i = 0; i < program->n_steps; i++) {
		const struct program_step *st = &program->steps[i];

		if (st->duration_ms == 0 || st->repetitions == 0 ||
		    st->freq_mhz == 0 ||
		    (unsigned int)st->advance >= _PROGRAM_ADVANCE_MAX ||
		    (st->advance == PROGRAM_ADVANCE_PAUSE &&
		     st->advance_pause_ms == 0))
			return -EINVAL;
	}
	*s = (struct scheduler){
		.program = program,
		.ramp_ns = ramp_ns,
		.state = SCHEDULER_IDLE,
		.paused_in = SCHEDULER_IDLE,
		.phase_end_ns = SCHEDULER_NO_DEADLINE,
		.reason = SAFETY_REASON_NONE,
	};
	return 0;
}

/* 0 if @now_ns is not before the last time seen. */
static int check_time(const struct scheduler *s, uint64_t now_ns)
{
	if (s->have_time && now_ns < s->last_ns)
		return -EINVAL;
	return 0;
}

/* Dose from the last time seen to @now_ns, in the state until now. */
static void account(struct scheduler *s, uint64_t now_ns)
{
	if (s->have_time && s->state == SCHEDULER_VIBRATING && s->contact) {
		struct scheduler_dose *d = &s->dose[s->step];
		uint64_t dt = now_ns - s->last_ns;

		d->contact_ns = add_sat(d->contact_ns, dt);
		d->amplitude_ms2_s += s->amplitude_ms2 * (double)dt / 1e9;
	}
	s->have_time = true;
	s->last_ns = now_ns;
}

static void motor_off(struct scheduler *s, enum scheduler_state state,
		      uint64_t phase_end_ns)
{
	s->state = state;
	s->phase_end_ns = phase_end_ns;
	s->amplitude_ms2 = 0.0;
}

static void enter_vibrating(struct scheduler *s, uint64_t now_ns)
{
	s->state = SCHEDULER_VIBRATING;
	s->phase_end_ns = add_sat(now_ns, s->vibrate_left_ns);
}

static void enter_ramping(struct scheduler *s, uint64_t now_ns,
			  uint64_t vibrate_ns)
{
	s->vibrate_left_ns = vibrate_ns;
	if (s->ramp_ns == 0) {
		enter_vibrating(s, now_ns);
		return;
	}
	s->state = SCHEDULER_RAMPING;
	s->phase_end_ns = add_sat(now_ns, s->ramp_ns);
}

static void begin_step(struct scheduler *s, size_t step, uint64_t now_ns)
{
	s->step = step;
	s->rep = 1;
	enter_ramping(s, now_ns, ms_to_ns(cur(s)->duration_ms));
}

static void end_step(struct scheduler *s, uint64_t now_ns)
{
	const struct program_step *st = cur(s);

	if (is_last_step(s))
		motor_off(s, SCHEDULER_FINISHED, SCHEDULER_NO_DEADLINE);
	else if (st->advance == PROGRAM_ADVANCE_PAUSE)
		motor_off(s, SCHEDULER_WAITING,
			  add_sat(now_ns, ms_to_ns(st->advance_pause_ms)));
	else
		motor_off(s, SCHEDULER_WAITING, SCHEDULER_NO_DEADLINE);
}

/* The phase that was due at or before @now_ns ends at @now_ns. */
static void phase_ended(struct scheduler *s, uint64_t now_ns)
{
	const struct program_step *st = cur(s);

	switch (s->state) {
	case SCHEDULER_RAMPING:
		enter_vibrating(s, now_ns);
		break;
	case SCHEDULER_VIBRATING:
		s->vibrate_left_ns = 0;
		if (s->rep >= st->repetitions) {
			end_step(s, now_ns);
		} else if (st->rest_ms == 0) {
			/* Back to back: the motor stays on at the target. */
			s->rep++;
			s->vibrate_left_ns = ms_to_ns(st->duration_ms);
			enter_vibrating(s, now_ns);
		} else {
			motor_off(s, SCHEDULER_RESTING,
				  add_sat(now_ns, ms_to_ns(st->rest_ms)));
		}
		break;
	case SCHEDULER_RESTING:
		s->rep++;
		enter_ramping(s, now_ns, ms_to_ns(st->duration_ms));
		break;
	case SCHEDULER_WAITING:
		begin_step(s, s->step + 1, now_ns);
		break;
	default:
		s->phase_end_ns = SCHEDULER_NO_DEADLINE;
		break;
	}
}

/* Account the dose and carry out every transition due at @now_ns. */
static void catch_up(struct scheduler *s, uint64_t now_ns)
{
	account(s, now_ns);
	for (unsigned int i = 0; i < MAX_TRANSITIONS; i++) {
		if (s->phase_end_ns == SCHEDULER_NO_DEADLINE ||
		    s->phase_end_ns > now_ns)
			return;
		phase_ended(s, now_ns);
	}
	/* Only zero-length phases loop; init refuses them.  Fail safe. */
	motor_off(s, SCHEDULER_FAULT, SCHEDULER_NO_DEADLINE);
}

int scheduler_start(struct scheduler *s, uint64_t now_ns)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	if (s->state != SCHEDULER_IDLE)
		return -EBUSY;
	account(s, now_ns);
	begin_step(s, 0, now_ns);
	return 0;
}

int scheduler_tick(struct scheduler *s, uint64_t now_ns,
		   struct scheduler_command *ret)
{
	const struct program_step *st;

	if (!s || !s->program || !ret || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);

	st = cur(s);
	*ret = (struct scheduler_command){
		.state = s->state,
		.step = s->step,
		.next_deadline_ns = s->phase_end_ns,
	};
	if (s->state == SCHEDULER_RAMPING || s->state == SCHEDULER_VIBRATING) {
		ret->drive = true;
		ret->freq_mhz = st->freq_mhz;
		ret->intensity_permille = st->intensity_permille;
		ret->amplitude_mms2 = st->amplitude_mms2;
	}
	return 0;
}

int scheduler_pause(struct scheduler *s, uint64_t now_ns)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);
	if (!state_is_running(s->state))
		return -EBUSY;

	s->paused_in = s->state;
	switch (s->state) {
	case SCHEDULER_VIBRATING:
		s->vibrate_left_ns = s->phase_end_ns - now_ns;
		break;
	case SCHEDULER_RAMPING:
		/* The ramp starts over on resume; vibrate_left_ns is kept. */
		break;
	default:
		s->phase_left_ns = s->phase_end_ns == SCHEDULER_NO_DEADLINE ?
					   SCHEDULER_NO_DEADLINE :
					   s->phase_end_ns - now_ns;
		break;
	}
	motor_off(s, SCHEDULER_PAUSED, SCHEDULER_NO_DEADLINE);
	return 0;
}

int scheduler_resume(struct scheduler *s, uint64_t now_ns)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);
	if (s->state != SCHEDULER_PAUSED)
		return -EBUSY;

	switch (s->paused_in) {
	case SCHEDULER_RAMPING:
	case SCHEDULER_VIBRATING:
		enter_ramping(s, now_ns, s->vibrate_left_ns);
		break;
	default:
		s->state = s->paused_in;
		s->phase_end_ns = s->phase_left_ns == SCHEDULER_NO_DEADLINE ?
					  SCHEDULER_NO_DEADLINE :
					  add_sat(now_ns, s->phase_left_ns);
		break;
	}
	s->paused_in = SCHEDULER_IDLE;
	return 0;
}

int scheduler_confirm(struct scheduler *s, uint64_t now_ns,
		      enum scheduler_source source)
{
	enum program_advance advance;

	if (!s || !s->program || check_time(s, now_ns) < 0 ||
	    (source != SCHEDULER_FROM_BUTTON && source != SCHEDULER_FROM_CLIENT))
		return -EINVAL;
	catch_up(s, now_ns);
	if (s->state != SCHEDULER_WAITING)
		return -EBUSY;

	advance = cur(s)->advance;
	if ((advance == PROGRAM_ADVANCE_BUTTON &&
	     source != SCHEDULER_FROM_BUTTON) ||
	    (advance == PROGRAM_ADVANCE_CLIENT &&
	     source != SCHEDULER_FROM_CLIENT))
		return -EPERM;
	begin_step(s, s->step + 1, now_ns);
	return 0;
}

int scheduler_skip(struct scheduler *s, uint64_t now_ns)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);
	if (!state_is_running(s->state) && s->state != SCHEDULER_PAUSED)
		return -EBUSY;

	if (is_last_step(s)) {
		motor_off(s, SCHEDULER_FINISHED, SCHEDULER_NO_DEADLINE);
		s->paused_in = SCHEDULER_IDLE;
		return 0;
	}
	if (s->state == SCHEDULER_PAUSED) {
		s->step++;
		s->rep = 1;
		s->paused_in = SCHEDULER_RAMPING;
		s->vibrate_left_ns = ms_to_ns(cur(s)->duration_ms);
		return 0;
	}
	begin_step(s, s->step + 1, now_ns);
	return 0;
}

static int end_run(struct scheduler *s, uint64_t now_ns,
		   enum scheduler_state state, enum safety_reason reason)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);
	if (state_is_final(s->state))
		return -EALREADY;
	motor_off(s, state, SCHEDULER_NO_DEADLINE);
	s->reason = reason;
	return 0;
}

int scheduler_stop(struct scheduler *s, uint64_t now_ns)
{
	return end_run(s, now_ns, SCHEDULER_STOPPED, SAFETY_REASON_NONE);
}

int scheduler_estop(struct scheduler *s, uint64_t now_ns)
{
	return end_run(s, now_ns, SCHEDULER_ESTOPPED, SAFETY_REASON_ESTOP);
}

int scheduler_fault(struct scheduler *s, uint64_t now_ns,
		    enum safety_reason reason)
{
	if ((unsigned int)reason >= _SAFETY_REASON_MAX)
		return -EINVAL;
	return end_run(s, now_ns, SCHEDULER_FAULT, reason);
}

int scheduler_contact(struct scheduler *s, uint64_t now_ns, bool in_contact)
{
	if (!s || !s->program || check_time(s, now_ns) < 0)
		return -EINVAL;
	catch_up(s, now_ns);
	s->contact = in_contact;
	return 0;
}

int scheduler_feed_amplitude(struct scheduler *s, uint64_t now_ns,
			     double amplitude_ms2)
{
	if (!s || !s->program || check_time(s, now_ns) < 0 ||
	    !(amplitude_ms2 >= 0.0 && amplitude_ms2 <= 1e6))
		return -EINVAL;
	catch_up(s, now_ns);
	if (s->state == SCHEDULER_RAMPING || s->state == SCHEDULER_VIBRATING)
		s->amplitude_ms2 = amplitude_ms2;
	return 0;
}

static uint64_t left_of(uint64_t end_ns, uint64_t now_ns)
{
	if (end_ns == SCHEDULER_NO_DEADLINE || end_ns <= now_ns)
		return 0;
	return end_ns - now_ns;
}

/* After one repetition has vibrated: @k more, each with its rest. */
static uint64_t more_reps_ns(const struct scheduler *s,
			     const struct program_step *st, uint64_t k)
{
	uint64_t gap = st->rest_ms ? add_sat(ms_to_ns(st->rest_ms), s->ramp_ns) :
				     0;

	return mul_sat(k, add_sat(gap, ms_to_ns(st->duration_ms)));
}

static uint64_t advance_ns(const struct program_step *st, bool last)
{
	if (last || st->advance != PROGRAM_ADVANCE_PAUSE)
		return 0;
	return ms_to_ns(st->advance_pause_ms);
}

static uint64_t full_step_ns(const struct scheduler *s, size_t i)
{
	const struct program_step *st = &s->program->steps[i];
	uint64_t t = add_sat(s->ramp_ns, ms_to_ns(st->duration_ms));

	t = add_sat(t, more_reps_ns(s, st, st->repetitions - 1));
	return add_sat(t, advance_ns(st, i + 1 >= s->program->n_steps));
}

static uint64_t step_left_ns(const struct scheduler *s, uint64_t now_ns)
{
	const struct program_step *st = cur(s);
	enum scheduler_state state = s->state;
	uint64_t reps_after = st->repetitions - s->rep, t;
	bool paused = state == SCHEDULER_PAUSED;

	if (paused)
		state = s->paused_in;

	switch (state) {
	case SCHEDULER_RAMPING:
		t = paused ? s->ramp_ns : left_of(s->phase_end_ns, now_ns);
		t = add_sat(t, s->vibrate_left_ns);
		break;
	case SCHEDULER_VIBRATING:
		t = paused ? add_sat(s->ramp_ns, s->vibrate_left_ns) :
			     left_of(s->phase_end_ns, now_ns);
		break;
	case SCHEDULER_RESTING:
		t = paused ? s->phase_left_ns :
			     left_of(s->phase_end_ns, now_ns);
		/* The rest is part of the next repetition's gap. */
		t = add_sat(t, add_sat(s->ramp_ns, ms_to_ns(st->duration_ms)));
		reps_after--;
		break;
	case SCHEDULER_WAITING:
		if (paused)
			return s->phase_left_ns == SCHEDULER_NO_DEADLINE ?
				       0 : s->phase_left_ns;
		return left_of(s->phase_end_ns, now_ns);
	default:
		return 0;
	}
	t = add_sat(t, more_reps_ns(s, st, reps_after));
	return add_sat(t, advance_ns(st, is_last_step(s)));
}

int scheduler_get_progress(const struct scheduler *s, uint64_t now_ns,
			   struct scheduler_progress *ret)
{
	const struct program *p;
	uint64_t session;
	size_t first_future;

	if (!s || !s->program || !ret)
		return -EINVAL;
	p = s->program;

	*ret = (struct scheduler_progress){
		.state = s->state,
		.paused_in = s->state == SCHEDULER_PAUSED ? s->paused_in :
							    s->state,
		.step = s->step,
		.n_steps = p->n_steps,
		.repetition = s->rep ? s->rep : 1,
		.repetitions = cur(s)->repetitions,
		.reason = s->reason,
	};
	ret->waiting_for_confirm = ret->paused_in == SCHEDULER_WAITING &&
				   cur(s)->advance != PROGRAM_ADVANCE_PAUSE;

	if (state_is_final(s->state))
		return 0;
	if (s->state == SCHEDULER_IDLE) {
		ret->step_left_ns = full_step_ns(s, 0);
		first_future = 0;
		session = 0;
	} else {
		ret->step_left_ns = step_left_ns(s, now_ns);
		first_future = s->step + 1;
		session = ret->step_left_ns;
	}
	for (size_t i = first_future; i < p->n_steps; i++)
		session = add_sat(session, full_step_ns(s, i));
	ret->session_left_ns = session;
	return 0;
}

int scheduler_get_dose(const struct scheduler *s, size_t step,
		       struct scheduler_dose *ret)
{
	if (!s || !s->program || !ret || step >= s->program->n_steps)
		return -EINVAL;
	*ret = s->dose[step];
	return 0;
}
