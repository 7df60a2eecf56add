// SPDX-License-Identifier: MIT
/*
 * The scheduler decides when the motor runs on someone's body: these
 * tests run programs in simulated time and pin down every transition,
 * that pausing loses no time, that nothing moves on without the person
 * when the program says so, that dose counts only on the body, and that
 * after a stop, e-stop or fault nothing ever starts by itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "program.h"
#include "scheduler.h"

#define MS	1000000ull
#define S	(1000 * MS)
#define T0	(1000 * S)	/* the monotonic clock does not start at 0 */
#define RAMP	(1 * S)

static struct program prog;
static struct scheduler sched;

static void load(const char *text, uint64_t ramp_ns)
{
	struct safety_limits l;
	struct program_error e;

	safety_limits_default(&l);
	if (program_parse(&prog, text, strlen(text), "t.program", &l, &e) < 0)
		fail_msg("%s", e.message);
	assert_int_equal(scheduler_init(&sched, &prog, ramp_ns), 0);
}

static struct scheduler_command tick(uint64_t now)
{
	struct scheduler_command c;

	assert_int_equal(scheduler_tick(&sched, now, &c), 0);
	return c;
}

static void expect(uint64_t now, enum scheduler_state state, bool drive,
		   uint64_t deadline)
{
	struct scheduler_command c = tick(now);

	assert_string_equal(scheduler_state_to_string(c.state),
			    scheduler_state_to_string(state));
	assert_int_equal(c.drive, drive);
	assert_int_equal(c.next_deadline_ns, deadline);
}

/* Tick at every deadline up to @now, then at @now, as the daemon's timer. */
static void run_to(uint64_t now)
{
	struct scheduler_command c = tick(sched.last_ns);

	while (c.next_deadline_ns <= now)
		c = tick(c.next_deadline_ns);
	tick(now);
}

static struct scheduler_progress progress(uint64_t now)
{
	struct scheduler_progress p;

	assert_int_equal(scheduler_get_progress(&sched, now, &p), 0);
	return p;
}

/*
 * The call fails with @error and leaves the scheduler as it was.  Time
 * passing is not the call's doing: tick at its time first.
 */
#define assert_refused(call, error)                                      \
	do {                                                               \
		struct scheduler before;                                   \
		memcpy(&before, &sched, sizeof(sched));                    \
		assert_int_equal((call), (error));                         \
		assert_memory_equal(&before, &sched, sizeof(sched));       \
	} while (0)

#define HEAD "[Program]\nName=T\nSource=s\n"
/* Step 0: 2 x 30 s, 10 s rest, 5 s pause; step 1: 3 x 20 s back to back. */
#define TWO_STEPS                                                        \
	HEAD "[Step]\nSite=a\nTechnique=vibration\nFrequency=45\n"       \
	     "Intensity=50\nDuration=30s\nRepetitions=2\nRest=10s\n"     \
	     "Advance=pause\nAdvancePause=5s\n"                          \
	     "[Step]\nSite=b\nTechnique=vibration\nFrequency=50\n"       \
	     "Amplitude=12\nDuration=20s\nRepetitions=3\n"
#define CONFIRM_STEPS(advance)                                           \
	HEAD "[Step]\nSite=a\nTechnique=vibration\nFrequency=45\n"       \
	     "Intensity=50\nDuration=30s\nAdvance=" advance "\n"         \
	     "[Step]\nSite=b\nTechnique=vibration\nFrequency=45\n"       \
	     "Intensity=50\nDuration=30s\n"

static void test_whole_program_runs_end_to_end_in_simulated_time(void **state)
{
	struct scheduler_command c;
	struct scheduler_dose d;
	struct scheduler_progress p;

	(void)state;
	load(TWO_STEPS, RAMP);
	expect(T0, SCHEDULER_IDLE, false, SCHEDULER_NO_DEADLINE);
	p = progress(T0);
	/* 1+30+10+1+30+5 then 1+20+20+20 */
	assert_int_equal(p.session_left_ns, 138 * S);
	assert_int_equal(p.step_left_ns, 77 * S);

	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_int_equal(scheduler_contact(&sched, T0, true), 0);
	c = tick(T0);
	assert_int_equal(c.state, SCHEDULER_RAMPING);
	assert_true(c.drive);
	assert_int_equal(c.freq_mhz, 45000);
	assert_int_equal(c.intensity_permille, 500);
	assert_int_equal(c.next_deadline_ns, T0 + 1 * S);

	expect(T0 + 1 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	p = progress(T0 + 1 * S);
	assert_int_equal(p.repetition, 1);
	assert_int_equal(p.repetitions, 2);
	assert_int_equal(p.step_left_ns, 76 * S);
	assert_int_equal(p.session_left_ns, 137 * S);

	expect(T0 + 31 * S, SCHEDULER_RESTING, false, T0 + 41 * S);
	expect(T0 + 41 * S, SCHEDULER_RAMPING, true, T0 + 42 * S);
	assert_int_equal(progress(T0 + 41 * S).repetition, 2);
	expect(T0 + 42 * S, SCHEDULER_VIBRATING, true, T0 + 72 * S);
	expect(T0 + 72 * S, SCHEDULER_WAITING, false, T0 + 77 * S);
	assert_false(progress(T0 + 72 * S).waiting_for_confirm);

	c = tick(T0 + 77 * S);
	assert_int_equal(c.state, SCHEDULER_RAMPING);
	assert_int_equal(c.step, 1);
	assert_int_equal(c.freq_mhz, 50000);
	assert_int_equal(c.intensity_permille, 0);
	assert_int_equal(c.amplitude_mms2, 12000);
	p = progress(T0 + 77 * S);
	assert_int_equal(p.step, 1);
	assert_int_equal(p.n_steps, 2);
	assert_int_equal(p.session_left_ns, 61 * S);

	/* Rest=0: back to back, the motor never stops between repetitions. */
	expect(T0 + 78 * S, SCHEDULER_VIBRATING, true, T0 + 98 * S);
	expect(T0 + 98 * S, SCHEDULER_VIBRATING, true, T0 + 118 * S);
	assert_int_equal(progress(T0 + 98 * S).repetition, 2);
	expect(T0 + 118 * S, SCHEDULER_VIBRATING, true, T0 + 138 * S);
	assert_int_equal(progress(T0 + 118 * S).repetition, 3);
	expect(T0 + 138 * S, SCHEDULER_FINISHED, false, SCHEDULER_NO_DEADLINE);
	assert_int_equal(progress(T0 + 138 * S).session_left_ns, 0);

	assert_int_equal(scheduler_get_dose(&sched, 0, &d), 0);
	assert_int_equal(d.contact_ns, 60 * S);
	assert_int_equal(scheduler_get_dose(&sched, 1, &d), 0);
	assert_int_equal(d.contact_ns, 60 * S);
	assert_int_equal(scheduler_get_dose(&sched, 2, &d), -EINVAL);

	/* Finished is final. */
	expect(T0 + 1000 * S, SCHEDULER_FINISHED, false,
	       SCHEDULER_NO_DEADLINE);
	assert_refused(scheduler_start(&sched, T0 + 1000 * S), -EBUSY);
}

static void test_pause_while_vibrating_keeps_remaining_time(void **state)
{
	struct scheduler_progress p;

	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	expect(T0 + 1 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);

	assert_int_equal(scheduler_pause(&sched, T0 + 12 * S), 0);
	expect(T0 + 12 * S, SCHEDULER_PAUSED, false, SCHEDULER_NO_DEADLINE);
	/* An hour later nothing has moved. */
	expect(T0 + 3600 * S, SCHEDULER_PAUSED, false, SCHEDULER_NO_DEADLINE);
	p = progress(T0 + 3600 * S);
	assert_int_equal(p.paused_in, SCHEDULER_VIBRATING);
	/* ramp again + 19 s left + rest, ramp, 30 s + advance pause */
	assert_int_equal(p.step_left_ns, (1 + 19 + 10 + 1 + 30 + 5) * S);

	assert_int_equal(scheduler_resume(&sched, T0 + 3600 * S), 0);
	expect(T0 + 3600 * S, SCHEDULER_RAMPING, true, T0 + 3601 * S);
	expect(T0 + 3601 * S, SCHEDULER_VIBRATING, true, T0 + 3620 * S);
	expect(T0 + 3620 * S, SCHEDULER_RESTING, false, T0 + 3630 * S);
}

static void test_pause_while_resting_keeps_remaining_rest(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 31 * S);
	expect(T0 + 31 * S, SCHEDULER_RESTING, false, T0 + 41 * S);
	assert_int_equal(scheduler_pause(&sched, T0 + 34 * S), 0);
	assert_int_equal(progress(T0 + 500 * S).paused_in, SCHEDULER_RESTING);
	assert_int_equal(scheduler_resume(&sched, T0 + 500 * S), 0);
	expect(T0 + 500 * S, SCHEDULER_RESTING, false, T0 + 507 * S);
	expect(T0 + 507 * S, SCHEDULER_RAMPING, true, T0 + 508 * S);
}

static void test_pause_while_ramping_ramps_again_in_full(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_int_equal(scheduler_pause(&sched, T0 + 500 * MS), 0);
	assert_int_equal(scheduler_resume(&sched, T0 + 10 * S), 0);
	expect(T0 + 10 * S, SCHEDULER_RAMPING, true, T0 + 11 * S);
	expect(T0 + 11 * S, SCHEDULER_VIBRATING, true, T0 + 41 * S);
}

static void test_confirm_advance_waits_forever_until_confirmed(void **state)
{
	struct scheduler_command c;

	(void)state;
	load(CONFIRM_STEPS("confirm"), 0);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	/* ramp_ns = 0: straight to vibrating */
	expect(T0, SCHEDULER_VIBRATING, true, T0 + 30 * S);
	expect(T0 + 30 * S, SCHEDULER_WAITING, false, SCHEDULER_NO_DEADLINE);
	assert_true(progress(T0 + 30 * S).waiting_for_confirm);
	/* A day later it still waits, motor off. */
	expect(T0 + 86400 * S, SCHEDULER_WAITING, false,
	       SCHEDULER_NO_DEADLINE);
	assert_int_equal(progress(T0 + 86400 * S).step, 0);

	assert_int_equal(scheduler_confirm(&sched, T0 + 86400 * S,
					   SCHEDULER_FROM_CLIENT),
			 0);
	c = tick(T0 + 86400 * S);
	assert_int_equal(c.state, SCHEDULER_VIBRATING);
	assert_int_equal(c.step, 1);
	expect(T0 + 86430 * S, SCHEDULER_FINISHED, false,
	       SCHEDULER_NO_DEADLINE);
}

static void test_confirm_takes_only_the_source_the_step_names(void **state)
{
	(void)state;
	load(CONFIRM_STEPS("button"), 0);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	expect(T0 + 30 * S, SCHEDULER_WAITING, false, SCHEDULER_NO_DEADLINE);
	assert_refused(scheduler_confirm(&sched, T0 + 30 * S,
					 SCHEDULER_FROM_CLIENT),
		       -EPERM);
	assert_refused(scheduler_confirm(&sched, T0 + 30 * S,
					 (enum scheduler_source)7),
		       -EINVAL);
	assert_int_equal(scheduler_confirm(&sched, T0 + 30 * S,
					   SCHEDULER_FROM_BUTTON),
			 0);

	load(CONFIRM_STEPS("client"), 0);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	expect(T0 + 30 * S, SCHEDULER_WAITING, false, SCHEDULER_NO_DEADLINE);
	assert_refused(scheduler_confirm(&sched, T0 + 30 * S,
					 SCHEDULER_FROM_BUTTON),
		       -EPERM);
	assert_int_equal(scheduler_confirm(&sched, T0 + 30 * S,
					   SCHEDULER_FROM_CLIENT),
			 0);
}

static void test_pause_advance_moves_on_by_itself(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 72 * S);
	expect(T0 + 72 * S, SCHEDULER_WAITING, false, T0 + 77 * S);
	expect(T0 + 76 * S, SCHEDULER_WAITING, false, T0 + 77 * S);
	expect(T0 + 77 * S, SCHEDULER_RAMPING, true, T0 + 78 * S);
	assert_int_equal(progress(T0 + 77 * S).step, 1);
}

static void test_confirm_during_pause_advance_moves_on_early(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 72 * S);
	expect(T0 + 72 * S, SCHEDULER_WAITING, false, T0 + 77 * S);
	assert_int_equal(scheduler_confirm(&sched, T0 + 73 * S,
					   SCHEDULER_FROM_BUTTON),
			 0);
	expect(T0 + 73 * S, SCHEDULER_RAMPING, true, T0 + 74 * S);
}

static void test_pause_during_advance_pause_keeps_its_time(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 72 * S);
	expect(T0 + 72 * S, SCHEDULER_WAITING, false, T0 + 77 * S);
	assert_int_equal(scheduler_pause(&sched, T0 + 75 * S), 0);
	tick(T0 + 90 * S);
	assert_int_equal(progress(T0 + 90 * S).step_left_ns, 2 * S);
	/* Paused: a confirmation must wait for resume. */
	assert_refused(scheduler_confirm(&sched, T0 + 90 * S,
					 SCHEDULER_FROM_BUTTON),
		       -EBUSY);
	assert_int_equal(scheduler_resume(&sched, T0 + 100 * S), 0);
	expect(T0 + 100 * S, SCHEDULER_WAITING, false, T0 + 102 * S);
}

static void test_dose_counts_only_in_contact_while_vibrating(void **state)
{
	struct scheduler_dose d;

	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	/* In contact during the ramp: not counted. */
	assert_int_equal(scheduler_contact(&sched, T0, true), 0);
	assert_int_equal(scheduler_feed_amplitude(&sched, T0 + 500 * MS, 8.0),
			 0);
	expect(T0 + 1 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	/* 10 s at 10 m/s^2 on the body, */
	assert_int_equal(scheduler_feed_amplitude(&sched, T0 + 1 * S, 10.0), 0);
	/* 5 s lifted, */
	assert_int_equal(scheduler_contact(&sched, T0 + 11 * S, false), 0);
	/* 15 s on the body at 20 m/s^2. */
	assert_int_equal(scheduler_contact(&sched, T0 + 16 * S, true), 0);
	assert_int_equal(scheduler_feed_amplitude(&sched, T0 + 16 * S, 20.0),
			 0);
	/* Resting in contact does not count either. */
	expect(T0 + 31 * S, SCHEDULER_RESTING, false, T0 + 41 * S);
	expect(T0 + 40 * S, SCHEDULER_RESTING, false, T0 + 41 * S);

	assert_int_equal(scheduler_get_dose(&sched, 0, &d), 0);
	assert_int_equal(d.contact_ns, 25 * S);
	assert_float_equal(d.amplitude_ms2_s, 10.0 * 10 + 15 * 20.0, 1e-6);

	/* Paused in contact: nothing counts. */
	run_to(T0 + 42 * S);
	expect(T0 + 42 * S, SCHEDULER_VIBRATING, true, T0 + 72 * S);
	assert_int_equal(scheduler_pause(&sched, T0 + 42 * S), 0);
	expect(T0 + 60 * S, SCHEDULER_PAUSED, false, SCHEDULER_NO_DEADLINE);
	assert_int_equal(scheduler_get_dose(&sched, 0, &d), 0);
	assert_int_equal(d.contact_ns, 25 * S);

	assert_int_equal(scheduler_feed_amplitude(&sched, T0 + 60 * S, -1.0),
			 -EINVAL);
	assert_int_equal(scheduler_feed_amplitude(&sched, T0 + 60 * S,
						  __builtin_nan("")),
			 -EINVAL);
}

static void test_stop_never_resumes(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 5 * S);
	expect(T0 + 5 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	assert_int_equal(scheduler_stop(&sched, T0 + 5 * S), 0);
	expect(T0 + 5 * S, SCHEDULER_STOPPED, false, SCHEDULER_NO_DEADLINE);
	expect(T0 + 500 * S, SCHEDULER_STOPPED, false, SCHEDULER_NO_DEADLINE);

	assert_refused(scheduler_resume(&sched, T0 + 500 * S), -EBUSY);
	assert_refused(scheduler_start(&sched, T0 + 500 * S), -EBUSY);
	assert_refused(scheduler_skip(&sched, T0 + 500 * S), -EBUSY);
	assert_refused(scheduler_pause(&sched, T0 + 500 * S), -EBUSY);
	assert_refused(scheduler_confirm(&sched, T0 + 500 * S,
					 SCHEDULER_FROM_BUTTON),
		       -EBUSY);
	assert_refused(scheduler_stop(&sched, T0 + 500 * S), -EALREADY);
	assert_refused(scheduler_estop(&sched, T0 + 500 * S), -EALREADY);
	expect(T0 + 500 * S, SCHEDULER_STOPPED, false, SCHEDULER_NO_DEADLINE);
}

static void test_estop_while_paused_never_resumes(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_int_equal(scheduler_pause(&sched, T0 + 5 * S), 0);
	assert_int_equal(scheduler_estop(&sched, T0 + 6 * S), 0);
	tick(T0 + 7 * S);
	assert_refused(scheduler_resume(&sched, T0 + 7 * S), -EBUSY);
	expect(T0 + 7 * S, SCHEDULER_ESTOPPED, false, SCHEDULER_NO_DEADLINE);
	assert_int_equal(progress(T0 + 7 * S).reason, SAFETY_REASON_ESTOP);
	assert_refused(scheduler_fault(&sched, T0 + 7 * S,
				       SAFETY_REASON_STALL),
		       -EALREADY);
}

static void test_fault_records_its_reason_and_never_resumes(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_refused(scheduler_fault(&sched, T0,
				       (enum safety_reason)_SAFETY_REASON_MAX),
		       -EINVAL);
	assert_int_equal(scheduler_fault(&sched, T0 + 2 * S,
					 SAFETY_REASON_STALL),
			 0);
	expect(T0 + 40 * S, SCHEDULER_FAULT, false, SCHEDULER_NO_DEADLINE);
	assert_int_equal(progress(T0 + 40 * S).reason, SAFETY_REASON_STALL);
	assert_refused(scheduler_resume(&sched, T0 + 40 * S), -EBUSY);
	assert_refused(scheduler_start(&sched, T0 + 40 * S), -EBUSY);
}

static void test_calls_in_wrong_states_change_nothing(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	/* IDLE */
	expect(T0, SCHEDULER_IDLE, false, SCHEDULER_NO_DEADLINE);
	assert_refused(scheduler_pause(&sched, T0), -EBUSY);
	assert_refused(scheduler_resume(&sched, T0), -EBUSY);
	assert_refused(scheduler_skip(&sched, T0), -EBUSY);
	assert_refused(scheduler_confirm(&sched, T0, SCHEDULER_FROM_BUTTON),
		       -EBUSY);
	/* VIBRATING */
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 2 * S);
	expect(T0 + 2 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	assert_refused(scheduler_start(&sched, T0 + 2 * S), -EBUSY);
	assert_refused(scheduler_resume(&sched, T0 + 2 * S), -EBUSY);
	assert_refused(scheduler_confirm(&sched, T0 + 2 * S,
					 SCHEDULER_FROM_CLIENT),
		       -EBUSY);
	/* PAUSED */
	assert_int_equal(scheduler_pause(&sched, T0 + 2 * S), 0);
	assert_refused(scheduler_pause(&sched, T0 + 2 * S), -EBUSY);
	/* NULL and bad arguments */
	assert_refused(scheduler_tick(&sched, T0 + 2 * S, NULL), -EINVAL);
	assert_int_equal(scheduler_start(NULL, T0), -EINVAL);
	assert_int_equal(scheduler_get_progress(&sched, T0, NULL), -EINVAL);
}

static void test_time_going_backwards_is_refused(void **state)
{
	struct scheduler_command c;

	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	run_to(T0 + 5 * S);
	expect(T0 + 5 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	assert_refused(scheduler_tick(&sched, T0 + 4 * S, &c), -EINVAL);
	assert_refused(scheduler_pause(&sched, T0 + 4 * S), -EINVAL);
	assert_refused(scheduler_stop(&sched, T0 + 4 * S), -EINVAL);
	assert_refused(scheduler_contact(&sched, T0 + 4 * S, true), -EINVAL);
}

static void test_skip_moves_to_the_next_site(void **state)
{
	struct scheduler_command c;

	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_int_equal(scheduler_skip(&sched, T0 + 5 * S), 0);
	c = tick(T0 + 5 * S);
	assert_int_equal(c.state, SCHEDULER_RAMPING);
	assert_int_equal(c.step, 1);
	/* Skipping the last step finishes the program. */
	assert_int_equal(scheduler_skip(&sched, T0 + 6 * S), 0);
	expect(T0 + 6 * S, SCHEDULER_FINISHED, false, SCHEDULER_NO_DEADLINE);
}

static void test_skip_while_paused_stays_paused_on_next_site(void **state)
{
	struct scheduler_progress p;

	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	assert_int_equal(scheduler_pause(&sched, T0 + 5 * S), 0);
	assert_int_equal(scheduler_skip(&sched, T0 + 6 * S), 0);
	expect(T0 + 100 * S, SCHEDULER_PAUSED, false, SCHEDULER_NO_DEADLINE);
	p = progress(T0 + 100 * S);
	assert_int_equal(p.step, 1);
	assert_int_equal(p.repetition, 1);
	assert_int_equal(p.step_left_ns, 61 * S);
	assert_int_equal(scheduler_resume(&sched, T0 + 100 * S), 0);
	expect(T0 + 101 * S, SCHEDULER_VIBRATING, true, T0 + 121 * S);
}

static void test_late_tick_stretches_the_ending_phase(void **state)
{
	(void)state;
	load(TWO_STEPS, RAMP);
	assert_int_equal(scheduler_start(&sched, T0), 0);
	expect(T0 + 1 * S, SCHEDULER_VIBRATING, true, T0 + 31 * S);
	/* 2 s late: the rest still lasts its full 10 s. */
	expect(T0 + 33 * S, SCHEDULER_RESTING, false, T0 + 43 * S);
}

static void test_init_refuses_a_program_the_parser_cannot_make(void **state)
{
	static struct program bad;

	(void)state;
	bad = (struct program){ 0 };
	assert_int_equal(scheduler_init(&sched, &bad, RAMP), -EINVAL);
	bad.n_steps = 1;
	bad.steps[0] = (struct program_step){ .freq_mhz = 45000,
					      .intensity_permille = 500,
					      .duration_ms = 0,
					      .repetitions = 1 };
	assert_int_equal(scheduler_init(&sched, &bad, RAMP), -EINVAL);
	bad.steps[0].duration_ms = 1000;
	assert_int_equal(scheduler_init(&sched, &bad, RAMP), 0);
	assert_int_equal(scheduler_init(NULL, &bad, RAMP), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_program_runs_end_to_end_in_simulated_time),
		cmocka_unit_test(test_pause_while_vibrating_keeps_remaining_time),
		cmocka_unit_test(test_pause_while_resting_keeps_remaining_rest),
		cmocka_unit_test(test_pause_while_ramping_ramps_again_in_full),
		cmocka_unit_test(test_confirm_advance_waits_forever_until_confirmed),
		cmocka_unit_test(test_confirm_takes_only_the_source_the_step_names),
		cmocka_unit_test(test_pause_advance_moves_on_by_itself),
		cmocka_unit_test(test_confirm_during_pause_advance_moves_on_early),
		cmocka_unit_test(test_pause_during_advance_pause_keeps_its_time),
		cmocka_unit_test(test_dose_counts_only_in_contact_while_vibrating),
		cmocka_unit_test(test_stop_never_resumes),
		cmocka_unit_test(test_estop_while_paused_never_resumes),
		cmocka_unit_test(test_fault_records_its_reason_and_never_resumes),
		cmocka_unit_test(test_calls_in_wrong_states_change_nothing),
		cmocka_unit_test(test_time_going_backwards_is_refused),
		cmocka_unit_test(test_skip_moves_to_the_next_site),
		cmocka_unit_test(test_skip_while_paused_stays_paused_on_next_site),
		cmocka_unit_test(test_late_tick_stretches_the_ending_phase),
		cmocka_unit_test(test_init_refuses_a_program_the_parser_cannot_make),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
