/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * scheduler.h - runs a parsed program in time
 *
 * Pure logic with time as input: every call takes now_ns (CLOCK_MONOTONIC)
 * and nothing here reads a clock, sleeps, allocates or logs.  The daemon
 * feeds it events (start, pause, confirm, contact, e-stop ...), calls
 * scheduler_tick() after each, drives the motor as the returned command
 * says and arms one timer for command.next_deadline_ns: no polling.
 *
 * States:
 *
 *   IDLE --start--> RAMPING --ramp_ns--> VIBRATING --Duration--> RESTING
 *                      ^                    |  (more repetitions)   |
 *                      +--------------------+-------- Rest ---------+
 *   last repetition done: WAITING (Advance=confirm|button|client: until
 *   scheduler_confirm(); Advance=pause: AdvancePause, or an early confirm)
 *   --> RAMPING on the next step; after the last step: FINISHED.
 *
 *   RAMPING, VIBRATING, RESTING, WAITING --pause--> PAUSED --resume--> the
 *   state it left, with the time it had left (a vibration ramps up again
 *   first).  Any state but the final ones --stop--> STOPPED, --estop-->
 *   ESTOPPED, --fault--> FAULT.  FINISHED, STOPPED, ESTOPPED and FAULT are
 *   final: nothing leaves them, so nothing resumes by itself; a new run
 *   needs scheduler_init() and a person's scheduler_start().
 *
 * Repetitions with Rest=0 run back to back without switching the motor
 * off or ramping again.  A late tick stretches the phase that is ending
 * (the motor really ran until then); it never shortens the next one.
 *
 * Errors: -EINVAL for bad arguments or time going backwards, -EBUSY for a
 * call the current state does not take (e.g. confirm while vibrating),
 * -EPERM for a confirmation from a source the step does not accept,
 * -EALREADY for stop/estop/fault once the run has ended.  Every call
 * first catches up with now_ns as scheduler_tick() would (transitions due
 * by then, dose up to then): time has passed whatever the call.  Beyond
 * that a call that fails changes nothing, and one refused for time going
 * backwards changes nothing at all.
 */
#ifndef MASSAGED_SCHEDULER_H
#define MASSAGED_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "program.h"
#include "safety.h"

#define SCHEDULER_NO_DEADLINE	UINT64_MAX

enum scheduler_state {
	SCHEDULER_IDLE,
	SCHEDULER_RAMPING,	/* motor on, spinning up to the target */
	SCHEDULER_VIBRATING,	/* motor on at the target; the step's time runs */
	SCHEDULER_RESTING,	/* motor off between repetitions */
	SCHEDULER_WAITING,	/* motor off, before the next site */
	SCHEDULER_PAUSED,	/* motor off, remaining time kept */
	SCHEDULER_FINISHED,
	SCHEDULER_STOPPED,
	SCHEDULER_ESTOPPED,
	SCHEDULER_FAULT,
	_SCHEDULER_STATE_MAX,
};

/* Who confirmed the move to the next site. */
enum scheduler_source {
	SCHEDULER_FROM_BUTTON,
	SCHEDULER_FROM_CLIENT,
};

/**
 * struct scheduler_command - what the drive should do now
 * @drive: motor on; when false the other targets are 0
 * @freq_mhz, @intensity_permille, @amplitude_mms2: the step's target (one
 *	of intensity and amplitude is nonzero)
 * @step: index of the current step; when it changes the site changed
 * @next_deadline_ns: call scheduler_tick() then; SCHEDULER_NO_DEADLINE
 *	when only an event (confirm, resume, ...) can change anything
 */
struct scheduler_command {
	enum scheduler_state state;
	bool drive;
	uint32_t freq_mhz;
	uint32_t intensity_permille;
	uint32_t amplitude_mms2;
	size_t step;
	uint64_t next_deadline_ns;
};

/**
 * struct scheduler_progress - for the person and the session record
 * @step: 0-based index of the current step, of @n_steps
 * @repetition: 1-based, of @repetitions
 * @paused_in: the state PAUSED will resume to (else equal to @state)
 * @waiting_for_confirm: WAITING (or paused in it) with no deadline
 * @step_left_ns: ramps, vibration, rests and the advance pause still to
 *	come in this step; the wait for a confirmation is not counted
 * @session_left_ns: the same to the end of the program
 * @reason: why the run ended in FAULT or ESTOPPED, else NONE
 */
struct scheduler_progress {
	enum scheduler_state state;
	enum scheduler_state paused_in;
	size_t step, n_steps;
	uint32_t repetition, repetitions;
	bool waiting_for_confirm;
	uint64_t step_left_ns;
	uint64_t session_left_ns;
	enum safety_reason reason;
};

/**
 * struct scheduler_dose - what one step delivered
 * @contact_ns: time VIBRATING with the head in contact
 * @amplitude_ms2_s: the integral of the measured RMS amplitude over that
 *	time, (m/s^2) x s; divided by @contact_ns it is the mean amplitude
 */
struct scheduler_dose {
	uint64_t contact_ns;
	double amplitude_ms2_s;
};

/* Opaque outside scheduler.c. */
struct scheduler {
	const struct program *program;
	uint64_t ramp_ns;
	enum scheduler_state state;
	enum scheduler_state paused_in;
	size_t step;
	uint32_t rep;
	uint64_t phase_end_ns;
	uint64_t phase_left_ns;		/* RESTING/WAITING while paused */
	uint64_t vibrate_left_ns;	/* of the current repetition */
	bool have_time;
	uint64_t last_ns;
	bool contact;
	double amplitude_ms2;
	enum safety_reason reason;
	struct scheduler_dose dose[PROGRAM_MAX_STEPS];
};

/*
 * Prepare to run @program (which must outlive the scheduler and not
 * change).  @ramp_ns is the spin-up time before each vibration, not
 * counted in its Duration.  0, or -EINVAL for a program that
 * program_parse() could not have produced.
 */
int scheduler_init(struct scheduler *s, const struct program *program,
		   uint64_t ramp_ns);

/* IDLE -> RAMPING on the first step.  -EBUSY in any other state. */
int scheduler_start(struct scheduler *s, uint64_t now_ns);

/*
 * Carry out every transition due at @now_ns, account the dose, and fill
 * @ret with what the drive should do and when to call again.  Works in
 * every state (final states command the motor off).
 */
int scheduler_tick(struct scheduler *s, uint64_t now_ns,
		   struct scheduler_command *ret);

/* RAMPING, VIBRATING, RESTING, WAITING -> PAUSED; else -EBUSY. */
int scheduler_pause(struct scheduler *s, uint64_t now_ns);
/* PAUSED -> where it was, with the time it had left; else -EBUSY. */
int scheduler_resume(struct scheduler *s, uint64_t now_ns);
/*
 * WAITING -> the next site.  -EBUSY in any other state (a paused wait
 * must be resumed first), -EPERM when the step's Advance= does not accept
 * @source (Advance=button and a client, say), -EINVAL for an unknown one.
 * With Advance=pause a confirmation moves on before the pause is over.
 */
int scheduler_confirm(struct scheduler *s, uint64_t now_ns,
		      enum scheduler_source source);
/*
 * Leave the current step for the next site (FINISHED after the last).
 * From PAUSED it stays PAUSED, on the next step: resume starts it.
 * -EBUSY in IDLE and the final states.
 */
int scheduler_skip(struct scheduler *s, uint64_t now_ns);
/* Any state but the final ones -> STOPPED / ESTOPPED / FAULT. */
int scheduler_stop(struct scheduler *s, uint64_t now_ns);
int scheduler_estop(struct scheduler *s, uint64_t now_ns);
int scheduler_fault(struct scheduler *s, uint64_t now_ns,
		    enum safety_reason reason);

/*
 * The head is on a body (true) or lifted (false); unknown counts as
 * lifted until the first call.  Dose accrues only while VIBRATING in
 * contact.  Taken in every state.
 */
int scheduler_contact(struct scheduler *s, uint64_t now_ns, bool in_contact);
/*
 * The measured RMS amplitude from @now_ns on, m/s^2 (finite, >= 0); it
 * holds until the next call and is reset to 0 whenever the motor goes off.
 */
int scheduler_feed_amplitude(struct scheduler *s, uint64_t now_ns,
			     double amplitude_ms2);

/*
 * Progress as of @now_ns.  Does not carry out due transitions (call
 * scheduler_tick() first); times past a deadline count as 0.
 */
int scheduler_get_progress(const struct scheduler *s, uint64_t now_ns,
			   struct scheduler_progress *ret);
/* Dose of step @step so far; -EINVAL past the last step. */
int scheduler_get_dose(const struct scheduler *s, size_t step,
		       struct scheduler_dose *ret);

const char *scheduler_state_to_string(enum scheduler_state state);

#endif
