// SPDX-License-Identifier: MIT
/*
 * The safety rules decide when the motor must not run: these tests pin
 * down the band (DOMAIN.md "Frequencies"), the limits' validation, the
 * thermal model's trip and cool-down times, and each supervisor rule with
 * its timing, latching and behaviour at the ends of uint64_t time.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "safety.h"

#define MS	1000000ull
#define SEC	(1000ull * MS)

/* Within @pct percent of @expected. */
#define assert_within_pct(actual, expected, pct)			\
	do {								\
		double a_ = (double)(actual), e_ = (double)(expected);	\
		if (fabs(a_ - e_) > fabs(e_) * (pct) / 100.0)		\
			fail_msg("%s = %.3f, expected %.3f +/- %g %%",	\
				 #actual, a_, e_, (double)(pct));	\
	} while (0)

static struct safety_limits defaults(void)
{
	struct safety_limits l;

	safety_limits_default(&l);
	return l;
}

static void monitor_new(struct safety_monitor *m,
			const struct safety_limits *l)
{
	assert_int_equal(safety_monitor_init(m, l), 0);
}

/* Driving at full duty, in contact, with a clean 45 Hz estimate. */
static struct safety_input driving_ok(uint64_t now_ns)
{
	return (struct safety_input){
		.now_ns = now_ns,
		.driving = true,
		.duty_permille = 1000,
		.estimate_valid = true,
		.freq_mhz = 45000,
		.in_contact = true,
	};
}

static struct safety_input idle(uint64_t now_ns)
{
	return (struct safety_input){ .now_ns = now_ns, .in_contact = true };
}

static struct safety_verdict eval(struct safety_monitor *m,
				  struct safety_input in)
{
	struct safety_verdict v;

	assert_int_equal(safety_evaluate(m, &in, &v), 0);
	return v;
}

/* Drive cleanly from @from_ns to @to_ns in @step_ns ticks; expect OK. */
static void drive_ok_until(struct safety_monitor *m, uint64_t from_ns,
			   uint64_t to_ns, uint64_t step_ns)
{
	for (uint64_t t = from_ns; t <= to_ns; t += step_ns) {
		struct safety_verdict v = eval(m, driving_ok(t));

		if (v.action != SAFETY_OK)
			fail_msg("at %llu ms: %s",
				 (unsigned long long)(t / MS),
				 safety_reason_to_string(v.reason));
	}
}

/* --- target checks --------------------------------------------------- */

static void test_target_refuses_120hz_as_contraction_band(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;
	char msg[160];

	(void)state;
	assert_int_equal(safety_check_target(&l, 120000, 500, &reason),
			 -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_CONTRACTION_BAND);
	assert_int_equal(safety_format_target_refusal(msg, sizeof(msg), &l,
						      reason, 120000, 500) > 0,
			 1);
	assert_string_equal(msg, "120 Hz is in the 100-200 Hz contraction band; therapy runs at 20-60 Hz");
}

static void test_target_refuses_contraction_band_edges_by_name(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;

	(void)state;
	assert_int_equal(safety_check_target(&l, 100000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_CONTRACTION_BAND);
	assert_int_equal(safety_check_target(&l, 200000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_CONTRACTION_BAND);
	assert_int_equal(safety_check_target(&l, 99999, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_ABOVE_ABSOLUTE);
	assert_int_equal(safety_check_target(&l, 200001, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_ABOVE_ABSOLUTE);
}

static void test_target_refuses_90hz_as_above_absolute(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;
	char msg[160];

	(void)state;
	assert_int_equal(safety_check_target(&l, 90000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_ABOVE_ABSOLUTE);
	safety_format_target_refusal(msg, sizeof(msg), &l, reason, 90000, 500);
	assert_string_equal(msg, "90 Hz is above the absolute 80 Hz limit; therapy runs at 20-60 Hz");
}

static void test_target_refuses_15hz_as_below_band(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;

	(void)state;
	assert_int_equal(safety_check_target(&l, 15000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_BELOW_BAND);
	assert_int_equal(safety_check_target(&l, 0, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_BELOW_BAND);
}

static void test_target_accepts_45hz_and_band_edges(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason = SAFETY_REASON_STALL;

	(void)state;
	assert_int_equal(safety_check_target(&l, 45000, 1000, &reason), 0);
	assert_int_equal(reason, SAFETY_REASON_NONE);
	assert_int_equal(safety_check_target(&l, 20000, 0, NULL), 0);
	assert_int_equal(safety_check_target(&l, 60000, 500, NULL), 0);
	assert_int_equal(safety_check_target(&l, 60001, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_ABOVE_BAND);
}

static void test_target_refuses_intensity_above_limit(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;
	char msg[160];

	(void)state;
	l.max_intensity_permille = 800;
	assert_int_equal(safety_check_target(&l, 45000, 800, NULL), 0);
	assert_int_equal(safety_check_target(&l, 45000, 801, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_INTENSITY);
	safety_format_target_refusal(msg, sizeof(msg), &l, reason, 45000, 801);
	assert_string_equal(msg, "intensity 80.1 % is above this station's limit of 80.0 %");
}

static void test_target_narrowed_band_by_admin_is_enforced(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;
	char msg[160];

	(void)state;
	l.min_freq_mhz = 30000;
	l.max_freq_mhz = 47500;
	assert_int_equal(safety_limits_validate(&l, NULL), 0);
	assert_int_equal(safety_check_target(&l, 40000, 500, NULL), 0);
	assert_int_equal(safety_check_target(&l, 25000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_BELOW_BAND);
	assert_int_equal(safety_check_target(&l, 50000, 500, &reason), -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_ABOVE_BAND);
	safety_format_target_refusal(msg, sizeof(msg), &l, reason, 50000, 500);
	assert_string_equal(msg, "50 Hz is above this station's band of 30-47.5 Hz");
}

static void test_step_and_session_durations_are_checked(void **state)
{
	struct safety_limits l = defaults();
	enum safety_reason reason;

	(void)state;
	assert_int_equal(safety_check_step_duration(&l, 30000, NULL), 0);
	assert_int_equal(safety_check_step_duration(&l, 15 * 60 * 1000, NULL),
			 0);
	assert_int_equal(safety_check_step_duration(&l, 15 * 60 * 1000 + 1,
						    &reason),
			 -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_STEP_DURATION);
	assert_int_equal(safety_check_step_duration(&l, 0, &reason), -ERANGE);
	assert_int_equal(safety_check_step_duration(&l, UINT64_MAX, &reason),
			 -ERANGE);

	assert_int_equal(safety_check_session_total(&l, 60 * 60 * 1000, NULL),
			 0);
	assert_int_equal(safety_check_session_total(&l, 60 * 60 * 1000 + 1,
						    &reason),
			 -ERANGE);
	assert_int_equal(reason, SAFETY_REASON_SESSION_DURATION);
	assert_int_equal(safety_check_session_total(&l, 0, NULL), -ERANGE);
}

static void test_reason_strings_exist_for_every_reason(void **state)
{
	(void)state;
	for (int r = 0; r < _SAFETY_REASON_MAX; r++) {
		const char *s = safety_reason_to_string(r);

		assert_non_null(s);
		assert_true(strlen(s) > 5);
		assert_null(strstr(s, "unknown"));
	}
	assert_string_equal(safety_reason_to_string(_SAFETY_REASON_MAX),
			    "unknown safety reason");
	assert_string_equal(safety_reason_to_string(-1),
			    "unknown safety reason");
}

/* --- limits ----------------------------------------------------------- */

static void test_limits_defaults_are_valid_and_documented(void **state)
{
	struct safety_limits l = defaults();
	const char *field = "x";

	(void)state;
	assert_int_equal(safety_limits_validate(&l, &field), 0);
	assert_null(field);
	assert_int_equal(l.min_freq_mhz, 20000);
	assert_int_equal(l.max_freq_mhz, 60000);
	assert_int_equal(l.max_continuous_site_ms, 15 * 60 * 1000);
	assert_int_equal(l.sensor_loss_ms, 100);
	assert_true(l.lost_contact_pause);
}

static void test_limits_min_above_max_is_einval_naming_min(void **state)
{
	struct safety_limits l = defaults();
	const char *field;

	(void)state;
	l.min_freq_mhz = 50000;
	l.max_freq_mhz = 40000;
	assert_int_equal(safety_limits_validate(&l, &field), -EINVAL);
	assert_string_equal(field, "min_freq_mhz");
	l.max_freq_mhz = 50000;
	assert_int_equal(safety_limits_validate(&l, &field), -EINVAL);
	assert_string_equal(field, "min_freq_mhz");
}

static void test_limits_max_above_80hz_is_erange_naming_max(void **state)
{
	struct safety_limits l = defaults();
	const char *field;

	(void)state;
	l.max_freq_mhz = 80000;
	assert_int_equal(safety_limits_validate(&l, &field), 0);
	l.max_freq_mhz = 90000;
	assert_int_equal(safety_limits_validate(&l, &field), -ERANGE);
	assert_string_equal(field, "max_freq_mhz");
	l.max_freq_mhz = 150000;	/* contraction band, by name */
	assert_int_equal(safety_limits_validate(&l, &field), -ERANGE);
	assert_string_equal(field, "max_freq_mhz");
	l.max_freq_mhz = UINT32_MAX;
	assert_int_equal(safety_limits_validate(&l, &field), -ERANGE);
	assert_string_equal(field, "max_freq_mhz");
}

static void test_limits_min_below_absolute_is_erange(void **state)
{
	struct safety_limits l = defaults();
	const char *field;

	(void)state;
	l.min_freq_mhz = 5000;
	assert_int_equal(safety_limits_validate(&l, &field), -ERANGE);
	assert_string_equal(field, "min_freq_mhz");
	l.min_freq_mhz = 0;
	assert_int_equal(safety_limits_validate(&l, &field), -EINVAL);
	assert_string_equal(field, "min_freq_mhz");
}

static void test_limits_zero_durations_are_einval_naming_field(void **state)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
#define F(x) { #x, offsetof(struct safety_limits, x) }
		F(max_intensity_permille),
		F(thermal_tau_ms),
		F(thermal_trip_full_ms),
		F(thermal_resume_permille),
		F(max_continuous_site_ms),
		F(max_session_ms),
		F(sensor_loss_ms),
		F(warmup_ms),
		F(stall_ms),
		F(overspeed_grace_ms),
#undef F
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct safety_limits l = defaults();
		const char *field = NULL;
		uint32_t zero = 0, huge = UINT32_MAX;

		memcpy((char *)&l + fields[i].offset, &zero, sizeof(zero));
		assert_int_equal(safety_limits_validate(&l, &field), -EINVAL);
		assert_non_null(field);
		assert_string_equal(field, fields[i].name);

		/* and none of them may be unbounded */
		memcpy((char *)&l + fields[i].offset, &huge, sizeof(huge));
		assert_int_equal(safety_limits_validate(&l, &field), -ERANGE);
		assert_string_equal(field, fields[i].name);
	}
}

static void test_monitor_refuses_invalid_limits(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;

	(void)state;
	l.max_freq_mhz = 90000;
	assert_int_equal(safety_monitor_init(&m, &l), -EINVAL);
	assert_int_equal(safety_monitor_init(&m, NULL), -EINVAL);
	assert_int_equal(safety_limits_validate(NULL, NULL), -EINVAL);
}

/* --- thermal ---------------------------------------------------------- */

/* Expected trip time at constant drive d from cold, from the model. */
static double model_trip_ms(const struct safety_limits *l, double d)
{
	double tau = l->thermal_tau_ms;
	double budget = tau * (1 - exp(-(double)l->thermal_trip_full_ms / tau));

	if (d * d * tau <= budget)
		return INFINITY;
	return -tau * log(1 - budget / (d * d * tau));
}

static void test_thermal_full_drive_trips_at_budget_time(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;
	uint64_t t;

	(void)state;
	monitor_new(&m, &l);
	v = eval(&m, driving_ok(0));
	assert_int_equal(v.thermal_headroom_permille, 1000);
	assert_within_pct(safety_thermal_full_drive_left_ms(&m.thermal, &l),
			  600000, 0.01);

	for (t = 10 * MS;; t += 10 * MS) {
		v = eval(&m, driving_ok(t));
		if (v.action != SAFETY_OK)
			break;
		assert_true(t < 20 * 60 * SEC);
	}
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_THERMAL);
	assert_int_equal(v.thermal_headroom_permille, 0);
	assert_within_pct(t / MS, l.thermal_trip_full_ms, 1);
	assert_within_pct(t / MS, model_trip_ms(&l, 1.0), 1);
}

static void test_thermal_half_drive_never_trips(void **state)
{
	struct safety_limits l = defaults();
	struct safety_thermal th;

	(void)state;
	/* The model settles at drive^2 * tau: 25 % of tau < budget (86 %). */
	assert_true(isinf(model_trip_ms(&l, 0.5)));
	safety_thermal_init(&th);
	for (int s = 0; s < 10 * 3600; s++)
		assert_false(safety_thermal_update(&th, &l, 500, SEC));
	assert_within_pct(th.heat_ms, l.thermal_tau_ms / 4.0, 0.01);
	/* 1 - 0.25 / 0.8647 of the budget is left */
	assert_within_pct(safety_thermal_headroom_permille(&th, &l), 710.9, 0.5);
}

static void test_thermal_95_percent_drive_trips_when_model_says(void **state)
{
	struct safety_limits l = defaults();
	struct safety_thermal th;
	double expect_ms = model_trip_ms(&l, 0.95);
	uint64_t t_ms = 0;

	(void)state;
	assert_within_pct(expect_ms, 951700, 0.1);
	safety_thermal_init(&th);
	while (!safety_thermal_update(&th, &l, 950, 100 * MS)) {
		t_ms += 100;
		assert_true(t_ms < 3600 * 1000);
	}
	t_ms += 100;
	assert_within_pct(t_ms, expect_ms, 1);
}

static void test_thermal_trip_latches_until_cooled_below_resume(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;
	enum safety_reason reason;
	uint64_t t, trip_t, cool_ms;

	(void)state;
	monitor_new(&m, &l);
	for (t = 0;; t += 10 * MS) {
		v = eval(&m, driving_ok(t));
		if (v.action != SAFETY_OK)
			break;
	}
	assert_int_equal(v.reason, SAFETY_REASON_THERMAL);
	trip_t = t;
	/* heat ~ budget, resume at 50 %: tau ln 2 */
	cool_ms = v.thermal_cooldown_ms;
	assert_within_pct(cool_ms, 300000 * log(2), 1);

	/* the daemon turns the motor off; the STOP stays latched */
	v = eval(&m, idle(t += 10 * MS));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(safety_may_start(&m, &reason), -EPERM);
	assert_int_equal(safety_acknowledge(&m), 0);
	assert_int_equal(safety_may_start(&m, &reason), -EAGAIN);
	assert_int_equal(reason, SAFETY_REASON_THERMAL_LOCKOUT);

	/* acknowledged but hot: driving again is a STOP */
	v = eval(&m, driving_ok(t += 10 * MS));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_THERMAL_LOCKOUT);
	v = eval(&m, idle(t += 10 * MS));
	assert_int_equal(safety_acknowledge(&m), 0);

	/* still locked 1 % before the reported cool-down time... */
	v = eval(&m, idle(trip_t + cool_ms * MS * 99 / 100));
	assert_int_equal(v.action, SAFETY_OK);
	assert_true(v.thermal_cooldown_ms > 0);
	assert_within_pct(v.thermal_cooldown_ms, cool_ms / 100, 5);
	assert_int_equal(safety_may_start(&m, &reason), -EAGAIN);
	/* ...and free 1 % after it */
	v = eval(&m, idle(trip_t + cool_ms * MS * 101 / 100));
	assert_int_equal(v.thermal_cooldown_ms, 0);
	assert_int_equal(safety_may_start(&m, &reason), 0);
	assert_int_equal(reason, SAFETY_REASON_NONE);
	assert_true(v.thermal_headroom_permille >= 500);
}

static void test_thermal_cooldown_reported_is_accurate(void **state)
{
	struct safety_limits l = defaults();
	struct safety_thermal th;
	uint64_t cool_ms, t_ms = 0;

	(void)state;
	l.thermal_resume_permille = 200;
	safety_thermal_init(&th);
	while (!safety_thermal_update(&th, &l, 1000, 10 * MS))
		;
	cool_ms = safety_thermal_cooldown_ms(&th, &l);
	assert_within_pct(cool_ms, 300000 * log(5), 1);
	while (safety_thermal_update(&th, &l, 0, 10 * MS))
		t_ms += 10;
	t_ms += 10;
	assert_within_pct(t_ms, cool_ms, 0.1);
	assert_int_equal(safety_thermal_cooldown_ms(&th, &l), 0);
}

static void test_thermal_huge_dt_is_exact_not_overflowing(void **state)
{
	struct safety_limits l = defaults();
	struct safety_thermal th;

	(void)state;
	safety_thermal_init(&th);
	assert_true(safety_thermal_update(&th, &l, 1000, UINT64_MAX));
	assert_within_pct(th.heat_ms, l.thermal_tau_ms, 1e-6);
	assert_int_equal(safety_thermal_full_drive_left_ms(&th, &l), 0);
	assert_false(safety_thermal_update(&th, &l, 0, UINT64_MAX));
	assert_true(th.heat_ms < 1e-9);
	assert_int_equal(safety_thermal_headroom_permille(&th, &l), 1000);
	/* out-of-range drive counts as full drive, not as wrapped */
	assert_true(safety_thermal_update(&th, &l, UINT32_MAX, UINT64_MAX));
}

/* --- supervisor --------------------------------------------------------- */

static void test_stall_stops_after_stall_ms(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	for (uint64_t t = SEC + MS; t < SEC + (1 + l.stall_ms) * MS; t += MS) {
		in = driving_ok(t);
		in.stall_detected = true;
		v = eval(&m, in);
		assert_int_equal(v.action, SAFETY_OK);
	}
	in = driving_ok(SEC + (2 + l.stall_ms) * MS);
	in.stall_detected = true;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_STALL);
}

static void test_short_stall_blips_do_not_stop(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;

	(void)state;
	monitor_new(&m, &l);
	for (uint64_t t = 0; t < 5 * SEC; t += MS) {
		in = driving_ok(t);
		/* runs one millisecond shorter than stall_ms */
		in.stall_detected = t / MS % (l.stall_ms + 1) != 0;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
}

static void test_sensor_loss_stops_after_sensor_loss_ms_while_driving(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	for (uint64_t t = SEC + 10 * MS; t < SEC + 100 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.estimate_valid = false;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
	in = driving_ok(SEC + 100 * MS);
	in.estimate_valid = false;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SENSOR_LOSS);
}

static void test_sensor_loss_ignored_while_idle(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;

	(void)state;
	monitor_new(&m, &l);
	for (uint64_t t = 0; t < 10 * SEC; t += 10 * MS)
		assert_int_equal(eval(&m, idle(t)).action, SAFETY_OK);
	assert_int_equal(safety_may_start(&m, NULL), 0);
}

static void test_warming_up_tolerated_only_during_warmup(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;
	uint64_t t0 = 7 * SEC, t;

	(void)state;
	monitor_new(&m, &l);
	eval(&m, idle(0));
	/* warm-up (1000 ms) then the sensor-loss window (100 ms) */
	for (t = t0; t < t0 + 1100 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.estimate_flags = SAFETY_EST_WARMING_UP;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
	in = driving_ok(t);
	in.estimate_flags = SAFETY_EST_WARMING_UP;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SENSOR_LOSS);
}

static void test_no_vibration_while_driving_stops(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;
	uint64_t t;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	for (t = SEC + 10 * MS; t <= SEC + 100 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.estimate_flags = SAFETY_EST_NO_VIBRATION;
		v = eval(&m, in);
	}
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_NO_VIBRATION);
}

static void test_clipped_or_noisy_estimates_still_supervise(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;

	(void)state;
	monitor_new(&m, &l);
	for (uint64_t t = 0; t < 5 * SEC; t += 10 * MS) {
		in = driving_ok(t);
		in.estimate_flags = SAFETY_EST_CLIPPED | SAFETY_EST_NOISY;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
}

static void test_stuck_sensor_stops(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.estimate_flags = SAFETY_EST_STUCK;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SENSOR_STUCK);
}

static void test_lost_contact_pauses_without_latching(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.in_contact = false;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_PAUSE);
	assert_int_equal(v.reason, SAFETY_REASON_LOST_CONTACT);
	/* the daemon ramps down; idle without contact is fine */
	in = idle(SEC + 20 * MS);
	in.in_contact = false;
	assert_int_equal(eval(&m, in).action, SAFETY_OK);
	assert_int_equal(safety_may_start(&m, NULL), 0);
	drive_ok_until(&m, SEC + 30 * MS, 2 * SEC, 10 * MS);
}

static void test_lost_contact_stops_when_configured(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	l.lost_contact_pause = false;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.in_contact = false;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_LOST_CONTACT);
	v = eval(&m, driving_ok(SEC + 20 * MS));
	assert_int_equal(v.action, SAFETY_STOP);
}

/*
 * A target out of reach goes on at the frequency held while that is in
 * the therapy band (the session and the record say so), and pauses, not
 * stops, once even that falls below the band.
 */
static void test_unreachable_target_goes_on_in_band_and_pauses_below(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	assert_int_equal(safety_unreachable_action(&l, 54000), SAFETY_OK);
	assert_int_equal(safety_unreachable_action(&l, 20000), SAFETY_OK);
	assert_int_equal(safety_unreachable_action(&l, 19999), SAFETY_PAUSE);
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.target_unreachable = true;
	in.held_mhz = 54000;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_OK);
	in = driving_ok(SEC + 20 * MS);
	in.target_unreachable = true;
	in.held_mhz = 17000;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_PAUSE);
	assert_int_equal(v.reason, SAFETY_REASON_TARGET_UNREACHABLE);
	assert_string_not_equal(safety_reason_to_string(v.reason),
				"unknown safety reason");
	/* lifted off as well: the lift-off is the reason given */
	in.now_ns += 10 * MS;
	in.in_contact = false;
	v = eval(&m, in);
	assert_int_equal(v.reason, SAFETY_REASON_LOST_CONTACT);
	v = eval(&m, driving_ok(SEC + 40 * MS));
	assert_int_equal(v.action, SAFETY_OK);
}

static void test_site_cap_stops_at_the_cap(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;
	enum safety_reason reason;
	const uint64_t cap = 15 * 60 * SEC;

	(void)state;
	/* thermal would trip first at full drive: run at 80 % */
	monitor_new(&m, &l);
	for (uint64_t t = 0; t < cap; t += 50 * MS) {
		struct safety_input in = driving_ok(t);

		in.duty_permille = 800;
		v = eval(&m, in);
		assert_int_equal(v.action, SAFETY_OK);
	}
	assert_int_equal(v.site_left_ms, 50);
	v = eval(&m, driving_ok(cap));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SITE_CAP);
	assert_int_equal(v.site_left_ms, 0);

	eval(&m, idle(cap + 10 * MS));
	assert_int_equal(safety_acknowledge(&m), 0);
	assert_int_equal(safety_may_start(&m, &reason), -ETIME);
	assert_int_equal(reason, SAFETY_REASON_SITE_CAP);
	safety_monitor_site_changed(&m);
	assert_int_equal(safety_may_start(&m, &reason), 0);
	v = eval(&m, driving_ok(cap + 20 * MS));
	assert_int_equal(v.action, SAFETY_OK);
	/* the tick after the STOP still counts: the motor was commanded on */
	assert_int_equal(v.session_left_ms, 45 * 60 * 1000 - 10);
	assert_int_equal(v.site_left_ms, 15 * 60 * 1000);
}

static void test_session_cap_stops_at_the_cap(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;
	uint64_t t;

	(void)state;
	l.max_session_ms = 2000;
	monitor_new(&m, &l);
	for (t = 0; t < 2 * SEC; t += 10 * MS) {
		if (t == SEC)
			safety_monitor_site_changed(&m);
		assert_int_equal(eval(&m, driving_ok(t)).action, SAFETY_OK);
	}
	v = eval(&m, driving_ok(t));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SESSION_CAP);
	eval(&m, idle(t + 10 * MS));
	assert_int_equal(safety_acknowledge(&m), 0);
	assert_int_equal(safety_may_start(&m, NULL), -ETIME);
	safety_monitor_session_begin(&m);
	assert_int_equal(safety_may_start(&m, NULL), 0);
}

static void test_stop_latches_until_acknowledged(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;
	enum safety_reason reason;
	uint64_t t;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	for (t = SEC; t <= SEC + 200 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.stall_detected = true;
		v = eval(&m, in);
	}
	assert_int_equal(v.action, SAFETY_STOP);

	/* the fault clears; nothing resumes by itself, for an hour */
	for (; t < 3600 * SEC; t += SEC) {
		v = eval(&m, idle(t));
		assert_int_equal(v.action, SAFETY_STOP);
		assert_int_equal(v.reason, SAFETY_REASON_STALL);
	}
	/* a later, different fault does not overwrite the first reason */
	v = eval(&m, driving_ok(t));
	assert_int_equal(v.reason, SAFETY_REASON_STALL);
	assert_int_equal(safety_may_start(&m, &reason), -EPERM);
	assert_int_equal(reason, SAFETY_REASON_STALL);

	eval(&m, idle(t += 10 * MS));
	assert_int_equal(safety_acknowledge(&m), 0);
	assert_int_equal(safety_may_start(&m, NULL), 0);
	assert_int_equal(eval(&m, idle(t += 10 * MS)).action, SAFETY_OK);
	drive_ok_until(&m, t + 10 * MS, t + SEC, 10 * MS);
}

static void test_estop_stops_and_ack_waits_for_release(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;
	enum safety_reason reason;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.kernel_estop = true;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_ESTOP);

	in = idle(SEC + 20 * MS);
	in.kernel_estop = true;
	eval(&m, in);
	assert_int_equal(safety_acknowledge(&m), -EBUSY);
	assert_int_equal(safety_may_start(&m, &reason), -EPERM);

	eval(&m, idle(SEC + 30 * MS));	/* released */
	assert_int_equal(eval(&m, idle(SEC + 40 * MS)).action, SAFETY_STOP);
	assert_int_equal(safety_acknowledge(&m), 0);
	assert_int_equal(safety_may_start(&m, NULL), 0);
}

static void test_estop_while_idle_stops_too(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in = idle(0);

	(void)state;
	monitor_new(&m, &l);
	in.kernel_estop = true;
	assert_int_equal(eval(&m, in).action, SAFETY_STOP);
	assert_int_equal(safety_may_start(&m, NULL), -EPERM);
}

static void test_watchdog_trip_stops(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	in = driving_ok(SEC + 10 * MS);
	in.kernel_watchdog_trip = true;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_WATCHDOG);
}

static void test_overspeed_stops_after_grace(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in;
	struct safety_verdict v;
	uint64_t t;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 0, SEC, 10 * MS);
	/* a short overshoot is ridden out */
	for (t = SEC + 10 * MS; t < SEC + 200 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.freq_mhz = 85000;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
	drive_ok_until(&m, t, t + 100 * MS, 10 * MS);
	t += 110 * MS;
	for (uint64_t t0 = t; t < t0 + 250 * MS; t += 10 * MS) {
		in = driving_ok(t);
		in.freq_mhz = 85000;
		assert_int_equal(eval(&m, in).action, SAFETY_OK);
	}
	in = driving_ok(t);
	in.freq_mhz = 85000;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_OVERSPEED);
}

static void test_time_going_backwards_stops(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	drive_ok_until(&m, 5 * SEC, 6 * SEC, 10 * MS);
	v = eval(&m, driving_ok(6 * SEC - MS));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_CLOCK);
	/* even idle and backwards at 0 */
	v = eval(&m, idle(0));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_CLOCK);
}

static void test_huge_dt_while_driving_stops_without_overflow(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	assert_int_equal(eval(&m, driving_ok(0)).action, SAFETY_OK);
	v = eval(&m, driving_ok(UINT64_MAX));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_SUPERVISION_GAP);
	assert_int_equal(v.site_left_ms, 0);
	assert_int_equal(v.session_left_ms, 0);
	assert_int_equal(v.thermal_headroom_permille, 0);
	assert_true(v.thermal_cooldown_ms > 0);
	assert_true(v.thermal_cooldown_ms < 3600 * 1000);
	v = eval(&m, driving_ok(UINT64_MAX));	/* dt = 0 */
	assert_int_equal(v.action, SAFETY_STOP);
}

static void test_huge_dt_while_idle_is_fine(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;

	(void)state;
	monitor_new(&m, &l);
	assert_int_equal(eval(&m, idle(0)).action, SAFETY_OK);
	assert_int_equal(eval(&m, idle(UINT64_MAX - 2 * SEC)).action, SAFETY_OK);
	assert_int_equal(safety_may_start(&m, NULL), 0);
	/* starting near the end of time: the timers still work */
	drive_ok_until(&m, UINT64_MAX - 2 * SEC + 10 * MS,
		       UINT64_MAX - 500 * MS, 10 * MS);
	{
		struct safety_input in = driving_ok(UINT64_MAX - 400 * MS);
		struct safety_verdict v;

		in.estimate_valid = false;
		eval(&m, in);
		in.now_ns = UINT64_MAX - 300 * MS;
		v = eval(&m, in);
		assert_int_equal(v.action, SAFETY_STOP);
		/* gap of 100 ms and no estimate: either reason is right */
		assert_true(v.reason == SAFETY_REASON_SENSOR_LOSS ||
			    v.reason == SAFETY_REASON_SUPERVISION_GAP);
	}
	assert_int_equal(eval(&m, idle(UINT64_MAX)).action, SAFETY_STOP);
}

static void test_extreme_inputs_are_clamped_safely(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_input in = driving_ok(0);
	struct safety_verdict v;

	(void)state;
	monitor_new(&m, &l);
	in.duty_permille = UINT32_MAX;
	in.freq_mhz = UINT32_MAX;
	in.estimate_flags = UINT32_MAX & ~(uint32_t)SAFETY_EST_STUCK;
	v = eval(&m, in);
	assert_int_equal(v.action, SAFETY_OK);	/* within warm-up and grace */
	assert_int_equal(safety_evaluate(NULL, &in, &v), -EINVAL);
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(safety_evaluate(&m, NULL, NULL), -EINVAL);
	assert_int_equal(safety_acknowledge(NULL), -EINVAL);
	assert_int_equal(safety_may_start(NULL, NULL), -EINVAL);
}

static void test_unclean_restart_starts_in_thermal_lockout(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	struct safety_verdict v;
	enum safety_reason reason;

	(void)state;
	monitor_new(&m, &l);
	safety_monitor_assume_hot(&m);
	assert_int_equal(safety_may_start(&m, &reason), -EAGAIN);
	assert_int_equal(reason, SAFETY_REASON_THERMAL_LOCKOUT);
	v = eval(&m, idle(0));
	assert_within_pct(v.thermal_cooldown_ms, 300000 * log(2), 0.1);
	v = eval(&m, driving_ok(10 * MS));
	assert_int_equal(v.action, SAFETY_STOP);
	assert_int_equal(v.reason, SAFETY_REASON_THERMAL_LOCKOUT);
}

/* xorshift64: deterministic, no libc state */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_inputs_never_resume_a_stop_by_itself(void **state)
{
	struct safety_limits l = defaults();
	struct safety_monitor m;
	uint64_t seed = 0x9e3779b97f4a7c15ull, now = 0;
	bool stopped = false;
	enum safety_reason stop_reason = SAFETY_REASON_NONE;
	unsigned int stops = 0;

	(void)state;
	l.lost_contact_pause = false;
	monitor_new(&m, &l);
	for (int i = 0; i < 200000; i++) {
		uint64_t r = rnd(&seed);
		struct safety_input in = driving_ok(0);
		struct safety_verdict v;

		if (r % 5000 == 0)
			now -= MS;		/* rare clock fault */
		else
			now += (r >> 8) % (30 * MS);
		in.now_ns = now;
		in.driving = (r >> 40) % 8 != 0;
		in.duty_permille = (r >> 16) % 1100;
		in.estimate_valid = (r >> 20) % 16 != 0;
		in.estimate_flags = (r >> 24) % 64 == 0 ? (r >> 30) & 31 : 0;
		in.freq_mhz = (r >> 44) % 64 == 0 ? 90000 : 45000;
		in.stall_detected = (r >> 50) % 32 == 0;
		in.in_contact = (r >> 52) % 64 != 0;
		in.kernel_estop = (r >> 56) % 2048 == 0;
		in.kernel_watchdog_trip = (r >> 58) % 4096 == 1;

		v = eval(&m, in);
		if (in.kernel_estop)
			assert_int_equal(v.action, SAFETY_STOP);
		if (v.action != SAFETY_OK)
			assert_int_not_equal(v.reason, SAFETY_REASON_NONE);
		if (stopped) {
			assert_int_equal(v.action, SAFETY_STOP);
			assert_int_equal(v.reason, stop_reason);
		} else if (v.action == SAFETY_STOP) {
			stopped = true;
			stop_reason = v.reason;
			stops++;
		}
		assert_true(v.thermal_headroom_permille <= 1000);

		/* now and then a person acknowledges, and starts a session */
		if (stopped && (r >> 12) % 64 == 0 &&
		    safety_acknowledge(&m) == 0) {
			stopped = false;
			safety_monitor_session_begin(&m);
		}
	}
	assert_true(stops > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_refuses_120hz_as_contraction_band),
		cmocka_unit_test(test_target_refuses_contraction_band_edges_by_name),
		cmocka_unit_test(test_target_refuses_90hz_as_above_absolute),
		cmocka_unit_test(test_target_refuses_15hz_as_below_band),
		cmocka_unit_test(test_target_accepts_45hz_and_band_edges),
		cmocka_unit_test(test_target_refuses_intensity_above_limit),
		cmocka_unit_test(test_target_narrowed_band_by_admin_is_enforced),
		cmocka_unit_test(test_step_and_session_durations_are_checked),
		cmocka_unit_test(test_reason_strings_exist_for_every_reason),
		cmocka_unit_test(test_limits_defaults_are_valid_and_documented),
		cmocka_unit_test(test_limits_min_above_max_is_einval_naming_min),
		cmocka_unit_test(test_limits_max_above_80hz_is_erange_naming_max),
		cmocka_unit_test(test_limits_min_below_absolute_is_erange),
		cmocka_unit_test(test_limits_zero_durations_are_einval_naming_field),
		cmocka_unit_test(test_monitor_refuses_invalid_limits),
		cmocka_unit_test(test_thermal_full_drive_trips_at_budget_time),
		cmocka_unit_test(test_thermal_half_drive_never_trips),
		cmocka_unit_test(test_thermal_95_percent_drive_trips_when_model_says),
		cmocka_unit_test(test_thermal_trip_latches_until_cooled_below_resume),
		cmocka_unit_test(test_thermal_cooldown_reported_is_accurate),
		cmocka_unit_test(test_thermal_huge_dt_is_exact_not_overflowing),
		cmocka_unit_test(test_stall_stops_after_stall_ms),
		cmocka_unit_test(test_short_stall_blips_do_not_stop),
		cmocka_unit_test(test_sensor_loss_stops_after_sensor_loss_ms_while_driving),
		cmocka_unit_test(test_sensor_loss_ignored_while_idle),
		cmocka_unit_test(test_warming_up_tolerated_only_during_warmup),
		cmocka_unit_test(test_no_vibration_while_driving_stops),
		cmocka_unit_test(test_clipped_or_noisy_estimates_still_supervise),
		cmocka_unit_test(test_stuck_sensor_stops),
		cmocka_unit_test(test_lost_contact_pauses_without_latching),
		cmocka_unit_test(test_lost_contact_stops_when_configured),
		cmocka_unit_test(test_unreachable_target_goes_on_in_band_and_pauses_below),
		cmocka_unit_test(test_site_cap_stops_at_the_cap),
		cmocka_unit_test(test_session_cap_stops_at_the_cap),
		cmocka_unit_test(test_stop_latches_until_acknowledged),
		cmocka_unit_test(test_estop_stops_and_ack_waits_for_release),
		cmocka_unit_test(test_estop_while_idle_stops_too),
		cmocka_unit_test(test_watchdog_trip_stops),
		cmocka_unit_test(test_overspeed_stops_after_grace),
		cmocka_unit_test(test_time_going_backwards_stops),
		cmocka_unit_test(test_huge_dt_while_driving_stops_without_overflow),
		cmocka_unit_test(test_huge_dt_while_idle_is_fine),
		cmocka_unit_test(test_extreme_inputs_are_clamped_safely),
		cmocka_unit_test(test_unclean_restart_starts_in_thermal_lockout),
		cmocka_unit_test(test_random_inputs_never_resume_a_stop_by_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
