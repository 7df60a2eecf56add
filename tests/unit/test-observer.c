// SPDX-License-Identifier: MIT
/*
 * test-observer - the speed observer against a first-order motor whose
 * readings arrive late, as the estimator's do
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "observer.h"

#define DT	0.001
#define HISTORY	256

/* A motor of the observer's own model, its readings delay_s late. */
struct toy {
	double speed, load, tau;
	double past[HISTORY];
	unsigned int n;
};

static void toy_step(struct toy *t, double free_hz)
{
	t->speed += (free_hz - t->tau * t->load - t->speed) *
		    -expm1(-DT / t->tau);
	t->past[t->n++ % HISTORY] = t->speed;
}

static double toy_reading(const struct toy *t, unsigned int age)
{
	return t->past[(t->n - 1 - age) % HISTORY];
}

static void new_observer(struct observer *o, double speed)
{
	struct observer_config cfg;

	observer_config_default(&cfg);
	assert_int_equal(observer_init(o, &cfg), 0);
	observer_reset(o, speed);
}

static void test_observer_rejects_bad_config(void **state)
{
	struct observer_config cfg;
	struct observer o;

	(void)state;
	observer_config_default(&cfg);
	assert_int_equal(observer_init(&o, &cfg), 0);
	cfg.tau_s = 0;
	assert_int_equal(observer_init(&o, &cfg), -EINVAL);
	observer_config_default(&cfg);
	cfg.delay_s = NAN;
	assert_int_equal(observer_init(&o, &cfg), -EINVAL);
	observer_config_default(&cfg);
	cfg.load_gain_per_s2 = -1;
	assert_int_equal(observer_init(&o, &cfg), -EINVAL);
	observer_config_default(&cfg);
	cfg.load_max_hz_s = 0;
	assert_int_equal(observer_init(&o, &cfg), -EINVAL);
}

static void test_prediction_follows_the_drive_with_the_time_constant(void **state)
{
	struct observer o;
	int i, n;

	(void)state;
	new_observer(&o, 0);
	n = (int)(o.cfg.tau_s / DT + 0.5);
	for (i = 0; i < n; i++)
		observer_predict(&o, 40, DT);
	/* one time constant: 63.2 % of the way */
	assert_float_equal(o.speed_hz, 40 * 0.632, 0.2);
	for (i = 0; i < 20 * n; i++)
		observer_predict(&o, 40, DT);
	assert_float_equal(o.speed_hz, 40, 1e-6);
}

static void test_late_readings_reveal_a_load_step(void **state)
{
	struct toy t = { .speed = 45, .tau = 0.05 };
	struct observer o;
	unsigned int age;
	int i;

	(void)state;
	new_observer(&o, 45);
	age = (unsigned int)(o.cfg.delay_s / DT + 0.5);
	for (i = 0; i < HISTORY; i++)
		toy_step(&t, 45);
	/* a press: 150 Hz/s of braking the calibration knows nothing of */
	t.load = 150;
	for (i = 0; i < 1000; i++) {
		toy_step(&t, 45);
		observer_predict(&o, 45, DT);
		observer_correct(&o, toy_reading(&t, age), 0);
	}
	assert_float_equal(o.load_hz_s, 150, 3);
	assert_float_equal(o.speed_hz, t.speed, 0.05);
	/* and what to drive to hold 45 Hz under it */
	assert_float_equal(observer_free_speed_for(&o, 45), 45 + 0.05 * 150,
			   0.2);
}

static void test_uncertain_reading_counts_for_less(void **state)
{
	struct observer sure, unsure;

	(void)state;
	new_observer(&sure, 45);
	sure.cfg.stderr_ref_hz = 0.05;
	unsure = sure;
	observer_predict(&sure, 45, DT);
	observer_predict(&unsure, 45, DT);
	assert_float_equal(observer_correct(&sure, 46, 0.01), 1, 1e-9);
	observer_correct(&unsure, 46, 0.5);
	assert_true(sure.speed_hz - 45 > 10 * (unsure.speed_hz - 45));
	assert_true(unsure.speed_hz > 45);
}

static void test_held_load_does_not_wind_up(void **state)
{
	struct observer o;
	int i;

	(void)state;
	new_observer(&o, 30);
	observer_hold_load(&o, true, false);
	/* readings far below what the drive gives: more load, but held */
	for (i = 0; i < 1000; i++) {
		observer_predict(&o, 70, DT);
		observer_correct(&o, 30, 0);
	}
	assert_float_equal(o.load_hz_s, 0, 0);
	/* released, the load is learnt and bounded */
	observer_hold_load(&o, false, false);
	for (i = 0; i < 5000; i++) {
		observer_predict(&o, 70, DT);
		observer_correct(&o, 30, 0);
	}
	assert_true(o.load_hz_s > 0);
	assert_true(o.load_hz_s <= o.cfg.load_max_hz_s);
}

/*
 * A faster vibration allows a faster observer: at gain scale 2 one
 * reading moves the speed twice as far and the load 2^1.5 times as far;
 * a scale below 1 (or not a number) leaves the gains as configured.
 */
static void test_gain_scale_speeds_up_the_correction(void **state)
{
	struct observer base, fast, odd;
	double ds_base, dl_base;

	(void)state;
	new_observer(&base, 45);
	new_observer(&fast, 45);
	new_observer(&odd, 45);
	observer_set_gain_scale(&fast, 2);
	observer_set_gain_scale(&odd, NAN);
	observer_set_gain_scale(&odd, 0.5);
	observer_predict(&base, 45, DT);
	observer_predict(&fast, 45, DT);
	observer_predict(&odd, 45, DT);
	observer_correct(&base, 44, 0);
	observer_correct(&fast, 44, 0);
	observer_correct(&odd, 44, 0);
	ds_base = base.speed_hz - 45;
	dl_base = base.load_hz_s;
	assert_true(ds_base < 0 && dl_base > 0);
	assert_float_equal(fast.speed_hz - 45, 2 * ds_base, 1e-4);
	assert_float_equal(fast.load_hz_s, 2 * sqrt(2) * dl_base, 1e-3);
	assert_float_equal(odd.speed_hz, base.speed_hz, 1e-12);
	assert_float_equal(odd.load_hz_s, base.load_hz_s, 1e-12);
}

static void test_bad_inputs_change_nothing(void **state)
{
	struct observer o, before;

	(void)state;
	new_observer(&o, 45);
	observer_predict(&o, 45, DT);
	before = o;
	observer_predict(&o, 45, NAN);
	observer_predict(&o, 45, -1);
	assert_float_equal(observer_correct(&o, NAN, 0), 0, 0);
	assert_float_equal(o.speed_hz, before.speed_hz, 0);
	assert_float_equal(o.load_hz_s, before.load_hz_s, 0);
	assert_float_equal(o.shift_hz, before.shift_hz, 0);
	assert_int_equal(o.head, before.head);
	assert_int_equal(o.filled, before.filled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observer_rejects_bad_config),
		cmocka_unit_test(test_prediction_follows_the_drive_with_the_time_constant),
		cmocka_unit_test(test_late_readings_reveal_a_load_step),
		cmocka_unit_test(test_uncertain_reading_counts_for_less),
		cmocka_unit_test(test_held_load_does_not_wind_up),
		cmocka_unit_test(test_gain_scale_speeds_up_the_correction),
		cmocka_unit_test(test_bad_inputs_change_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
