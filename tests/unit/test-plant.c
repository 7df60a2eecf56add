// SPDX-License-Identifier: MIT
/*
 * The plant must behave like a real ERM massager, or a controller tuned on
 * it will fail on hardware: these tests pin down the physics DOMAIN.md
 * gives (speed range, time constant, m e w^2, droop under pressure) and the
 * faults.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plant.h"

#define MS	1000000u

static void plant_new(struct plant *pl)
{
	struct plant_params p;

	plant_params_default(&p);
	assert_int_equal(plant_init(pl, &p, 42), 0);
}

static void run_ms(struct plant *pl, unsigned int ms)
{
	while (ms--)
		plant_advance(pl, MS);
}

static double freq_hz(const struct plant *pl)
{
	return plant_freq_mhz(pl) / 1000.0;
}

/* RMS of the x/y acceleration in LSB over @ms at 1 kHz */
static double xy_rms_lsb(struct plant *pl, unsigned int ms)
{
	struct plant_sample s;
	double sum = 0;
	unsigned int i;

	for (i = 0; i < ms; i++) {
		plant_advance(pl, MS);
		assert_int_equal(plant_sample(pl, &s), 0);
		sum += (double)s.x * s.x + (double)s.y * s.y;
	}
	return sqrt(sum / ms);
}

static void test_default_params_are_valid(void **state)
{
	struct plant_params p;

	(void)state;
	plant_params_default(&p);
	assert_int_equal(plant_params_validate(&p), 0);
}

static void test_out_of_range_params_are_refused(void **state)
{
	struct plant_params p;
	struct plant pl;

	(void)state;
	plant_params_default(&p);
	p.resistance_mohm = 0;
	assert_int_equal(plant_params_validate(&p), -EINVAL);
	assert_int_equal(plant_init(&pl, &p, 1), -EINVAL);
	plant_params_default(&p);
	p.supply_mv = 100000;
	assert_int_equal(plant_init(&pl, &p, 1), -EINVAL);
	plant_params_default(&p);
	p.inertia_gmm2 = -5;
	assert_int_equal(plant_init(&pl, &p, 1), -EINVAL);
}

static void test_motor_starts_at_rest_and_off(void **state)
{
	struct plant pl;

	(void)state;
	plant_new(&pl);
	run_ms(&pl, 200);
	assert_int_equal(plant_freq_mhz(&pl), 0);
	assert_int_equal(plant_current_ma(&pl), 0);
}

static void test_full_duty_free_air_speed_is_50_to_70_hz(void **state)
{
	struct plant pl;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 1500);
	assert_true(freq_hz(&pl) > 50.0 && freq_hz(&pl) < 70.0);
}

static void test_mechanical_time_constant_is_30_to_100_ms(void **state)
{
	struct plant pl;
	double final;
	unsigned int ms = 0;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 1500);
	final = freq_hz(&pl);

	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	while (freq_hz(&pl) < 0.632 * final && ms < 1000) {
		run_ms(&pl, 1);
		ms++;
	}
	assert_in_range(ms, 30, 100);
}

static void test_speed_rises_with_duty(void **state)
{
	struct plant pl;
	double last = 0;
	uint32_t duty;

	(void)state;
	for (duty = 300000; duty <= PLANT_DUTY_MAX_PPM; duty += 100000) {
		plant_new(&pl);
		plant_set_drive(&pl, duty, true);
		run_ms(&pl, 1000);
		assert_true(freq_hz(&pl) > last);
		last = freq_hz(&pl);
	}
}

static void test_amplitude_grows_with_square_of_speed(void **state)
{
	struct plant pl;
	double f1, a1, f2, a2, expected;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 500000, true);
	run_ms(&pl, 1000);
	f1 = freq_hz(&pl);
	a1 = xy_rms_lsb(&pl, 500);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 1000);
	f2 = freq_hz(&pl);
	a2 = xy_rms_lsb(&pl, 500);
	expected = (f2 / f1) * (f2 / f1);
	/* above the handle resonance the head is mass-dominated: F/M */
	assert_true(fabs(a2 / a1 - expected) / expected < 0.15);
}

static void test_free_air_amplitude_is_a_few_g_at_50_hz(void **state)
{
	struct plant pl;
	double peak_g;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 730000, true);
	run_ms(&pl, 1000);
	assert_true(fabs(freq_hz(&pl) - 50.0) < 3.0);
	/* rotating vector: |a| = RMS over x+y, in g */
	peak_g = xy_rms_lsb(&pl, 500) * 0.0039;
	assert_true(peak_g > 1.0 && peak_g < 6.0);
}

static void test_contact_lowers_amplitude(void **state)
{
	struct plant pl;
	double free_air, pressed;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 800000, true);
	run_ms(&pl, 1000);
	free_air = xy_rms_lsb(&pl, 300);
	plant_set_contact(&pl, true, 3000);
	run_ms(&pl, 1000);
	pressed = xy_rms_lsb(&pl, 300);
	assert_true(pressed < 0.8 * free_air);
	plant_set_contact(&pl, false, 0);
	run_ms(&pl, 1000);
	assert_true(xy_rms_lsb(&pl, 300) > 0.95 * free_air);
}

static void test_firm_press_droops_open_loop_speed_10_to_40_pct(void **state)
{
	struct plant pl;
	double light, firm, droop;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 800000, true);
	plant_set_contact(&pl, true, 3000);
	run_ms(&pl, 1500);
	light = freq_hz(&pl);
	plant_set_contact(&pl, true, 6000);
	run_ms(&pl, 1500);
	firm = freq_hz(&pl);
	droop = (light - firm) / light;
	assert_true(droop > 0.10 && droop < 0.40);
}

static void test_enable_off_coasts_down_without_current(void **state)
{
	struct plant pl;
	double spinning;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 500);
	spinning = freq_hz(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, false);
	run_ms(&pl, 100);
	assert_int_equal(plant_current_ma(&pl), 0);
	assert_true(freq_hz(&pl) < spinning);
	run_ms(&pl, 20000);
	assert_int_equal(plant_freq_mhz(&pl), 0);
}

static void test_stall_stops_rotor_and_draws_stall_current(void **state)
{
	struct plant pl;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 500);
	plant_set_fault(&pl, PLANT_FAULT_STALL, true);
	run_ms(&pl, 20);
	assert_int_equal(plant_freq_mhz(&pl), 0);
	/* V / R = 12 V / 3 ohm */
	assert_in_range(plant_current_ma(&pl), 3900, 4000);
}

static void test_sensor_dropout_returns_eio(void **state)
{
	struct plant pl;
	struct plant_sample s;

	(void)state;
	plant_new(&pl);
	plant_set_fault(&pl, PLANT_FAULT_SENSOR_DROPOUT, true);
	assert_int_equal(plant_sample(&pl, &s), -EIO);
	plant_set_fault(&pl, PLANT_FAULT_SENSOR_DROPOUT, false);
	assert_int_equal(plant_sample(&pl, &s), 0);
}

static void test_stuck_sensor_repeats_its_last_sample(void **state)
{
	struct plant pl;
	struct plant_sample a, b;
	int i;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 300);
	assert_int_equal(plant_sample(&pl, &a), 0);
	plant_set_fault(&pl, PLANT_FAULT_SENSOR_STUCK, true);
	for (i = 0; i < 50; i++) {
		run_ms(&pl, 1);
		assert_int_equal(plant_sample(&pl, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void test_samples_clip_at_sensor_range(void **state)
{
	struct plant_params p;
	struct plant pl;
	struct plant_sample s;
	int i, clipped = 0;

	(void)state;
	plant_params_default(&p);
	p.sensor_range_mg = 2000;	/* +-2 g, well below the head's swing */
	assert_int_equal(plant_init(&pl, &p, 7), 0);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	run_ms(&pl, 500);
	for (i = 0; i < 200; i++) {
		run_ms(&pl, 1);
		plant_sample(&pl, &s);
		assert_in_range(s.x + 1000, 1000 - 513, 1000 + 512);
		clipped += s.x == 512 || s.x == -513;
	}
	assert_true(clipped > 20);
}

static void test_noise_at_rest_matches_configured_rms(void **state)
{
	struct plant pl;
	struct plant_sample s;
	double sum = 0, rms_ug;
	int i;

	(void)state;
	plant_new(&pl);
	for (i = 0; i < 20000; i++) {
		plant_sample(&pl, &s);
		sum += (double)s.x * s.x;
	}
	rms_ug = sqrt(sum / 20000) * 3900;
	/* 4000 ug configured, plus quantisation of 3900 / sqrt(12) */
	assert_true(rms_ug > 4000 && rms_ug < 4800);
	assert_in_range(s.z, 250, 264);	/* 1 g on z */
}

static void test_same_seed_gives_same_run(void **state)
{
	struct plant a, b;
	struct plant_sample sa, sb;
	int i;

	(void)state;
	plant_new(&a);
	plant_new(&b);
	plant_set_drive(&a, 600000, true);
	plant_set_drive(&b, 600000, true);
	for (i = 0; i < 500; i++) {
		plant_advance(&a, 312500);
		plant_advance(&b, 312500);
		plant_sample(&a, &sa);
		plant_sample(&b, &sb);
		assert_memory_equal(&sa, &sb, sizeof(sa));
	}
	assert_int_equal(plant_time_ns(&a), 500 * 312500);
}

static void test_supply_sag_and_wear_slow_the_motor(void **state)
{
	struct plant pl;
	double nominal;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 800000, true);
	run_ms(&pl, 1000);
	nominal = freq_hz(&pl);
	plant_set_supply(&pl, 800000);
	run_ms(&pl, 1000);
	assert_true(freq_hz(&pl) < 0.85 * nominal);
	plant_set_supply(&pl, PLANT_DUTY_MAX_PPM);
	plant_set_wear(&pl, 3000000);
	run_ms(&pl, 1000);
	assert_true(freq_hz(&pl) < 0.97 * nominal);
}

static void test_force_vector_rotates_x_leads_y(void **state)
{
	struct plant pl;
	struct plant_sample s;
	double angle, last = 0, turned = 0;
	int i;

	(void)state;
	plant_new(&pl);
	plant_set_drive(&pl, 700000, true);
	run_ms(&pl, 1000);
	for (i = 0; i < 1000; i++) {
		double d;

		plant_advance(&pl, 100000);
		plant_sample(&pl, &s);
		angle = atan2(s.y, s.x);
		d = angle - last;
		if (i) {
			if (d > M_PI)
				d -= 2 * M_PI;
			if (d < -M_PI)
				d += 2 * M_PI;
			turned += d;
		}
		last = angle;
	}
	/* 0.1 s at ~48 Hz: the vector turns ~4.8 times, counter-clockwise */
	assert_true(fabs(turned / (2 * M_PI) - freq_hz(&pl) * 0.1) < 0.3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_params_are_valid),
		cmocka_unit_test(test_out_of_range_params_are_refused),
		cmocka_unit_test(test_motor_starts_at_rest_and_off),
		cmocka_unit_test(test_full_duty_free_air_speed_is_50_to_70_hz),
		cmocka_unit_test(test_mechanical_time_constant_is_30_to_100_ms),
		cmocka_unit_test(test_speed_rises_with_duty),
		cmocka_unit_test(test_amplitude_grows_with_square_of_speed),
		cmocka_unit_test(test_free_air_amplitude_is_a_few_g_at_50_hz),
		cmocka_unit_test(test_contact_lowers_amplitude),
		cmocka_unit_test(test_firm_press_droops_open_loop_speed_10_to_40_pct),
		cmocka_unit_test(test_enable_off_coasts_down_without_current),
		cmocka_unit_test(test_stall_stops_rotor_and_draws_stall_current),
		cmocka_unit_test(test_sensor_dropout_returns_eio),
		cmocka_unit_test(test_stuck_sensor_repeats_its_last_sample),
		cmocka_unit_test(test_samples_clip_at_sensor_range),
		cmocka_unit_test(test_noise_at_rest_matches_configured_rms),
		cmocka_unit_test(test_same_seed_gives_same_run),
		cmocka_unit_test(test_supply_sag_and_wear_slow_the_motor),
		cmocka_unit_test(test_force_vector_rotates_x_leads_y),
	};

	return cmocka_run_group_tests_name("plant", tests, NULL, NULL);
}
