// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests for lib/estimator.c against a synthetic accelerometer: a
 * vector rotating in x/y at the vibration frequency, optional gravity and
 * offsets on any axis, Gaussian noise from a seeded PRNG, rounding to the
 * LSB and clipping at the range.
 *
 * SNR is signal power over noise power in the x/y plane: a rotating vector
 * of magnitude A has power A^2, per-axis noise of deviation s adds 2 s^2.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/estimator.h"

#define LSB_UG		3900
#define LSB_MS2		(LSB_UG * 1e-6 * 9.80665)
#define G_LSB		(1e6 / LSB_UG)

struct signal {
	double rate_hz;
	double freq_hz;
	double amp_lsb;		/* magnitude of the rotating vector */
	double noise_lsb;	/* per-axis standard deviation */
	double offset_lsb[3];
	double phase_rad;
	double ellipse_y;	/* y axis of the path over x axis, 1 = circle */
	double ellipse_tilt_rad;	/* y lags x by 90 degrees minus this */
	int direction;		/* +1 counter-clockwise, -1 clockwise */
	int32_t range_lsb;
	uint64_t rng;
};

/* xorshift64*: deterministic and good enough for Box-Muller */
static double uniform(struct signal *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return ((s->rng * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

static double gaussian(struct signal *s)
{
	double u1 = uniform(s), u2 = uniform(s);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void signal_init(struct signal *s, double rate_hz, double freq_hz,
			double amp_ms2, double snr_db, uint64_t seed)
{
	*s = (struct signal){
		.rate_hz = rate_hz,
		.freq_hz = freq_hz,
		.amp_lsb = amp_ms2 / LSB_MS2,
		.direction = 1,
		.ellipse_y = 1.0,
		.range_lsb = 4095,
		.rng = seed * 0x9e3779b97f4a7c15ull + 1,
		.phase_rad = 0.3,
	};
	s->noise_lsb = isinf(snr_db) ? 0.0 :
		       s->amp_lsb / sqrt(2.0 * pow(10.0, snr_db / 10.0));
	/* gravity on z by default, as when the head lies flat */
	s->offset_lsb[2] = G_LSB;
}

static int16_t quantise(const struct signal *s, double v)
{
	v = nearbyint(v);
	if (v > s->range_lsb)
		v = s->range_lsb;
	if (v < -s->range_lsb)
		v = -s->range_lsb;
	return (int16_t)v;
}

static void signal_feed(struct signal *s, struct estimator *e,
			uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		double x = s->amp_lsb * cos(s->phase_rad);
		double y = s->direction * s->ellipse_y * s->amp_lsb *
			   sin(s->phase_rad + s->ellipse_tilt_rad);
		double n[3];

		for (int a = 0; a < 3; a++)
			n[a] = s->noise_lsb * gaussian(s);
		estimator_feed(e, quantise(s, x + s->offset_lsb[0] + n[0]),
			       quantise(s, y + s->offset_lsb[1] + n[1]),
			       quantise(s, s->offset_lsb[2] + n[2]));
		s->phase_rad += 2.0 * M_PI * s->freq_hz / s->rate_hz;
		if (s->phase_rad > 2.0 * M_PI)
			s->phase_rad -= 2.0 * M_PI;
	}
}

static uint32_t ms_to_samples(double rate_hz, double ms)
{
	return (uint32_t)ceil(rate_hz * ms / 1000.0);
}

static void init_or_die(struct estimator *e, uint32_t rate_hz,
			uint32_t window_samples)
{
	struct estimator_config c;

	estimator_config_default(&c, rate_hz);
	c.window_samples = window_samples;
	c.lsb_ug = LSB_UG;
	c.range_lsb = 4095;
	assert_int_equal(estimator_init(e, &c), 0);
}

/* The state is large (prefix sums): keep it off the test stack. */
static struct estimator est;

/*
 * Runs seconds of signal after a settling time, reading after every sample,
 * and returns the worst frequency error; every reading must be valid.
 */
static double worst_freq_error_hz(struct signal *s, struct estimator *e,
				  double settle_s, double run_s)
{
	uint32_t run = ms_to_samples(s->rate_hz, run_s * 1000.0);
	double worst = 0.0;
	struct estimate r;

	signal_feed(s, e, ms_to_samples(s->rate_hz, settle_s * 1000.0));
	for (uint32_t i = 0; i < run; i++) {
		signal_feed(s, e, 1);
		estimator_read(e, &r);
		assert_int_equal(r.flags, 0);
		if (fabs(r.freq_hz - s->freq_hz) > worst)
			worst = fabs(r.freq_hz - s->freq_hz);
	}
	return worst;
}

/*
 * 0.05 Hz at 20 dB needs a 256 ms window (256 samples at 1 kHz, 819 at
 * 3.2 kHz); the 64 ms default window gives 0.075 Hz RMS at 1 kHz and
 * 0.043 Hz at 3.2 kHz, worst readings about 4 times that.
 */
static void test_frequency_within_50mhz_at_20db_snr(void **state)
{
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };
	static const uint32_t rates_hz[] = { 1000, 3200 };
	uint64_t seed = 1;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			uint32_t rate = rates_hz[i];
			struct signal s;
			double worst;

			init_or_die(&est, rate, ms_to_samples(rate, 256.0));
			signal_init(&s, rate, freqs_hz[j], 20.0, 20.0, seed++);
			worst = worst_freq_error_hz(&s, &est, 0.5, 3.0);
			print_message("%4u Hz %2.0f Hz 256 ms: worst %.4f Hz\n",
				      rate, freqs_hz[j], worst);
			assert_true(worst < 0.05);
		}
	}
}

static void test_frequency_within_400mhz_at_20db_snr_default_window(
	void **state)
{
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };
	static const uint32_t rates_hz[] = { 1000, 3200 };
	uint64_t seed = 100;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			uint32_t rate = rates_hz[i];
			struct signal s;
			double worst;

			init_or_die(&est, rate, 0);
			signal_init(&s, rate, freqs_hz[j], 20.0, 20.0, seed++);
			worst = worst_freq_error_hz(&s, &est, 0.5, 3.0);
			print_message("%4u Hz %2.0f Hz 64 ms: worst %.4f Hz\n",
				      rate, freqs_hz[j], worst);
			/* about 4 sigma at 1 kHz (0.075 Hz RMS) */
			assert_true(worst < 0.4);
		}
	}
}

static void test_valid_within_two_cycles_of_start(void **state)
{
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };
	static const uint32_t rates_hz[] = { 1000, 3200 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			uint32_t rate = rates_hz[i];
			uint32_t two_cycles =
				(uint32_t)ceil(2.0 * rate / freqs_hz[j]);
			struct estimate r;
			struct signal s;

			init_or_die(&est, rate, 0);
			signal_init(&s, rate, freqs_hz[j], 20.0, INFINITY, 1);
			signal_feed(&s, &est, two_cycles - 4);
			estimator_read(&est, &r);
			assert_true(r.flags & ESTIMATE_WARMING_UP);
			/* the first samples go to the vibration gate and
			 * the circle fit (three points)
			 */
			signal_feed(&s, &est, 12);
			estimator_read(&est, &r);
			print_message("%4u Hz %2.0f Hz after %u samples: %.3f Hz flags %#x\n",
				      rate, freqs_hz[j], two_cycles + 8,
				      r.freq_hz, r.flags);
			assert_int_equal(r.flags, 0);
			assert_true(fabs(r.freq_hz - freqs_hz[j]) < 1.0);
		}
	}
}

/*
 * With 20 dB of noise the first points of the circle fit are poor and the
 * early turns are undercounted: the estimate becomes valid after 2.1 to 2.5
 * cycles rather than 2.
 */
static void test_valid_within_three_cycles_at_20db_snr_after_still(
	void **state)
{
	static const uint32_t rates_hz[] = { 1000, 3200 };
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			uint32_t rate = rates_hz[i], k;
			double cycle = rate / freqs_hz[j];
			double amp_lsb, noise_lsb;
			struct estimate r;
			struct signal s;

			init_or_die(&est, rate, 0);
			signal_init(&s, rate, freqs_hz[j], 20.0, 20.0,
				    60 + 3 * i + j);
			/* motor off for a second, sensor noise only (the 20 dB
			 * noise of the running motor, 2 m/s^2, would count as
			 * vibration)
			 */
			amp_lsb = s.amp_lsb;
			noise_lsb = s.noise_lsb;
			s.amp_lsb = 0.0;
			s.noise_lsb = 2.0;
			s.offset_lsb[0] = 0.4 * G_LSB;
			signal_feed(&s, &est, rate);
			estimator_read(&est, &r);
			assert_true(r.flags & ESTIMATE_NO_VIBRATION);

			s.amp_lsb = amp_lsb;
			s.noise_lsb = noise_lsb;
			for (k = 1; k <= 3 * cycle; k++) {
				signal_feed(&s, &est, 1);
				estimator_read(&est, &r);
				if (!r.flags)
					break;
			}
			print_message("%4u Hz %2.0f Hz: valid after %.2f cycles: %.3f Hz\n",
				      rate, freqs_hz[j], k / cycle, r.freq_hz);
			assert_int_equal(r.flags, 0);
			assert_true(fabs(r.freq_hz - freqs_hz[j]) < 1.0);
		}
	}
}

static void test_stuck_sensor_flagged_within_50ms(void **state)
{
	uint32_t within = ms_to_samples(1000, 50.0);
	struct estimate r;
	struct signal s;
	uint32_t i;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 45.0, 20.0, 20.0, 7);
	signal_feed(&s, &est, 500);
	estimator_read(&est, &r);
	assert_int_equal(r.flags, 0);

	for (i = 0; i < within; i++) {
		estimator_feed(&est, 100, -200, 256);
		estimator_read(&est, &r);
		if (r.flags & ESTIMATE_STUCK)
			break;
	}
	print_message("stuck flagged after %u ms\n", i + 1);
	assert_true(i < within);
	assert_false(estimate_valid(&r));
}

/* A frozen sample corrupts the slope at once: no valid reading may be off */
static void test_stuck_sensor_never_reads_valid_and_wrong(void **state)
{
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };
	static const uint32_t rates_hz[] = { 1000, 3200 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 3; j++) {
			struct estimate r;
			struct signal s;
			int16_t frozen[3];

			init_or_die(&est, rates_hz[i], 0);
			signal_init(&s, rates_hz[i], freqs_hz[j], 10.0, 20.0,
				    90 + 3 * i + j);
			signal_feed(&s, &est, rates_hz[i]);
			memcpy(frozen, est.last, sizeof(frozen));
			for (uint32_t k = 0; k < rates_hz[i] / 10; k++) {
				estimator_feed(&est, frozen[0], frozen[1],
					       frozen[2]);
				estimator_read(&est, &r);
				if (!estimate_valid(&r))
					assert_true(r.flags & ESTIMATE_STUCK);
				else
					assert_true(fabs(r.freq_hz -
							 freqs_hz[j]) < 0.5);
			}
		}
	}
}

/* Slow, small vibration: samples may repeat once or twice, not 20 ms */
static void test_small_slow_vibration_not_flagged_stuck(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 3200, 0);
	signal_init(&s, 3200, 20.0, 0.8, 40.0, 95);
	s.noise_lsb = 0.3;
	signal_feed(&s, &est, 3200);
	for (int k = 0; k < 3200; k++) {
		signal_feed(&s, &est, 1);
		estimator_read(&est, &r);
		assert_false(r.flags & ESTIMATE_STUCK);
	}
}

static void test_clipped_flagged_when_samples_saturate(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 45.0, 20.0, 20.0, 8);
	signal_feed(&s, &est, 500);
	estimator_read(&est, &r);
	assert_int_equal(r.flags, 0);

	/* a 20 g rotating vector on a +-4095 LSB (16 g) range */
	s.amp_lsb = 20.0 * G_LSB;
	signal_feed(&s, &est, 100);
	estimator_read(&est, &r);
	assert_true(r.flags & ESTIMATE_CLIPPED);

	/* clears once the clipped samples have left the window */
	s.amp_lsb = 2.0 * G_LSB;
	signal_feed(&s, &est, 500);
	estimator_read(&est, &r);
	assert_int_equal(r.flags, 0);
}

static void test_still_sensor_with_noise_flagged_no_vibration(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 45.0, 0.0, INFINITY, 9);
	s.noise_lsb = 2.0;	/* ~0.08 m/s^2 per axis */
	s.offset_lsb[0] = 0.3 * G_LSB;
	for (int i = 0; i < 20; i++) {
		signal_feed(&s, &est, 100);
		estimator_read(&est, &r);
		assert_true(r.flags & ESTIMATE_NO_VIBRATION);
		assert_false(estimate_valid(&r));
	}
}

static void test_too_noisy_flagged_at_minus_5db_snr(void **state)
{
	static const uint32_t rates_hz[] = { 1000, 3200 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct estimate r;
		struct signal s;

		init_or_die(&est, rates_hz[i], 0);
		signal_init(&s, rates_hz[i], 45.0, 20.0, -5.0, 10 + i);
		signal_feed(&s, &est, rates_hz[i] / 2);
		for (int k = 0; k < 20; k++) {
			signal_feed(&s, &est, rates_hz[i] / 100);
			estimator_read(&est, &r);
			assert_true(r.flags & ESTIMATE_NOISY);
		}
		print_message("%4u Hz -5 dB: phase noise %.0f mrad\n",
			      rates_hz[i], r.phase_noise_mrad);
	}
}

static void test_phase_noise_at_20db_snr_not_flagged(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 45.0, 20.0, 20.0, 12);
	signal_feed(&s, &est, 1000);
	estimator_read(&est, &r);
	print_message("20 dB: phase noise %.0f mrad (expect ~71)\n",
		      r.phase_noise_mrad);
	assert_int_equal(r.flags, 0);
	assert_true(r.phase_noise_mrad > 50.0 && r.phase_noise_mrad < 100.0);
}

static void test_frequency_step_settles_within_window(void **state)
{
	static const uint32_t rates_hz[] = { 1000, 3200 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		uint32_t rate = rates_hz[i];
		struct estimate r;
		struct signal s;

		init_or_die(&est, rate, 0);
		signal_init(&s, rate, 45.0, 20.0, 20.0, 20 + i);
		signal_feed(&s, &est, rate / 2);
		estimator_read(&est, &r);
		assert_true(fabs(r.freq_hz - 45.0) < 0.3);

		s.freq_hz = 35.0;
		signal_feed(&s, &est, est.window);
		estimator_read(&est, &r);
		print_message("%4u Hz one window (%u) after 45 -> 35 Hz: %.3f Hz\n",
			      rate, est.window, r.freq_hz);
		assert_int_equal(r.flags, 0);
		assert_true(fabs(r.freq_hz - 35.0) < 0.3);
	}
}

/*
 * With 20 dB of noise a 64 ms window reads the amplitude within about 3 %
 * (the noise adds 0.5 % of power bias and ~1 % of spread), a 256 ms
 * window within 2 %.
 */
static void test_amplitude_rms_within_2_percent(void **state)
{
	static const double amps_ms2[] = { 2.0, 10.0, 30.0 };
	static const double freqs_hz[] = { 20.0, 45.0, 60.0 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			struct estimate r;
			struct signal s;
			double err;

			init_or_die(&est, 1000, 256);
			signal_init(&s, 1000, freqs_hz[j], amps_ms2[i], 20.0,
				    30 + 3 * i + j);
			s.offset_lsb[0] = 0.5 * G_LSB;
			signal_feed(&s, &est, 1000);
			for (int k = 0; k < 20; k++) {
				signal_feed(&s, &est, 7);
				estimator_read(&est, &r);
				assert_int_equal(r.flags, 0);
				err = r.amplitude_ms2 / amps_ms2[i] - 1.0;
				if (fabs(err) >= 0.02)
					print_message("%.3f m/s^2 at %.0f Hz\n",
						      r.amplitude_ms2,
						      freqs_hz[j]);
				assert_true(fabs(err) < 0.02);
			}
			print_message("%4.1f m/s^2 %2.0f Hz: read %.3f m/s^2\n",
				      amps_ms2[i], freqs_hz[j],
				      r.amplitude_ms2);
		}
	}
}

static void test_gravity_on_any_axis_does_not_bias_frequency(void **state)
{
	(void)state;
	for (int axis = 0; axis < 3; axis++) {
		struct signal s;
		double worst;

		init_or_die(&est, 1000, 256);
		signal_init(&s, 1000, 45.0, 20.0, 20.0, 40 + axis);
		s.offset_lsb[2] = 0.0;
		s.offset_lsb[axis] = -G_LSB;
		if (axis < 2)	/* and an offset on the other in-plane axis */
			s.offset_lsb[1 - axis] = 0.2 * G_LSB;
		worst = worst_freq_error_hz(&s, &est, 0.5, 2.0);
		print_message("1 g on axis %d: worst %.4f Hz\n", axis, worst);
		assert_true(worst < 0.05);
	}
}

/*
 * A head mounted stiffer in one direction traces an ellipse: its angle
 * advances unevenly within a cycle. Whitening by the covariance over whole
 * periods maps it back to a circle.
 */
static void test_elliptical_path_does_not_bias_frequency(void **state)
{
	static const double ratios[] = { 0.6, 0.3 };
	static const double tilts_rad[] = { 0.0, 0.5 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < 2; j++) {
			struct signal s;
			double worst;

			init_or_die(&est, 1000, 256);
			signal_init(&s, 1000, 45.0, 20.0, 20.0,
				    80 + 2 * i + j);
			s.ellipse_y = ratios[i];
			s.ellipse_tilt_rad = tilts_rad[j];
			worst = worst_freq_error_hz(&s, &est, 1.0, 2.0);
			print_message("ellipse %.1f tilt %.1f: worst %.4f Hz\n",
				      ratios[i], tilts_rad[j], worst);
			assert_true(worst < 0.1);
		}
	}
}

static void test_dead_axis_flagged_one_axis(void **state)
{
	(void)state;
	for (int axis = 0; axis < 2; axis++) {
		struct estimate r;
		struct signal s;

		init_or_die(&est, 1000, 0);
		signal_init(&s, 1000, 45.0, 20.0, INFINITY, 110 + axis);
		s.offset_lsb[axis] = 37.0;
		for (int k = 0; k < 2000; k++) {
			double x = s.amp_lsb * cos(s.phase_rad);
			double y = s.amp_lsb * sin(s.phase_rad);

			/* the dead axis repeats its offset, the other lives */
			estimator_feed(&est, axis == 0 ? 37 : quantise(&s, x),
				       axis == 1 ? 37 : quantise(&s, y),
				       256 + (k & 1));
			s.phase_rad += 2.0 * M_PI * 45.0 / 1000.0;
			if (k < 100)
				continue;
			estimator_read(&est, &r);
			assert_true(r.flags & ESTIMATE_ONE_AXIS);
			assert_false(estimate_valid(&r));
		}
	}
}

static void test_clockwise_rotation_reads_positive_frequency(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 30.0, 20.0, 20.0, 50);
	s.direction = -1;
	signal_feed(&s, &est, 500);
	estimator_read(&est, &r);
	assert_int_equal(r.flags, 0);
	assert_true(fabs(r.freq_hz - 30.0) < 0.3);
}

static void test_reset_restarts_warm_up(void **state)
{
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 1000, 0);
	signal_init(&s, 1000, 45.0, 20.0, 20.0, 51);
	signal_feed(&s, &est, 500);
	estimator_reset(&est);
	estimator_read(&est, &r);
	assert_true(r.flags & ESTIMATE_WARMING_UP);
	assert_int_equal(r.samples, 0);
	signal_feed(&s, &est, 100);
	estimator_read(&est, &r);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.samples, 100);
}

static void test_long_run_keeps_accuracy(void **state)
{
	struct signal s;
	double worst;

	(void)state;
	/* 10 minutes at 3.2 kHz: the phase sums rebase many times */
	init_or_die(&est, 3200, ms_to_samples(3200, 256.0));
	signal_init(&s, 3200, 60.0, 20.0, 20.0, 52);
	worst = worst_freq_error_hz(&s, &est, 600.0, 1.0);
	print_message("after 10 min: worst %.4f Hz\n", worst);
	assert_true(worst < 0.05);
}

static void test_bad_config_rejected_with_einval(void **state)
{
	struct estimator_config good, c;

	(void)state;
	estimator_config_default(&good, 1000);
	assert_int_equal(estimator_init(&est, &good), 0);
	assert_int_equal(est.window, 64);

	assert_int_equal(estimator_init(NULL, &good), -EINVAL);
	assert_int_equal(estimator_init(&est, NULL), -EINVAL);
#define BAD(field, value)						\
	do {								\
		c = good;						\
		c.field = (value);					\
		assert_int_equal(estimator_init(&est, &c), -EINVAL);	\
	} while (0)
	BAD(sample_rate_hz, 0);
	BAD(sample_rate_hz, 99);
	BAD(sample_rate_hz, 3201);
	BAD(window_samples, 7);
	BAD(window_samples, ESTIMATOR_WINDOW_MAX + 1);
	BAD(lsb_ug, 0);
	BAD(lsb_ug, -3900);
	BAD(range_lsb, 0);
	BAD(range_lsb, 32768);
	BAD(stuck_ms, 0);
	BAD(max_phase_noise_mrad, 0);
	BAD(max_freq_stderr_mhz, 100001);
#undef BAD
	c = good;
	c.window_samples = ESTIMATOR_WINDOW_MAX;
	assert_int_equal(estimator_init(&est, &c), 0);
	c.window_samples = ESTIMATOR_WINDOW_MIN;
	assert_int_equal(estimator_init(&est, &c), 0);
}

static void test_default_config_valid_at_every_rate(void **state)
{
	struct estimator_config c;

	(void)state;
	for (uint32_t rate = ESTIMATOR_RATE_MIN_HZ;
	     rate <= ESTIMATOR_RATE_MAX_HZ; rate++) {
		estimator_config_default(&c, rate);
		assert_int_equal(estimator_init(&est, &c), 0);
		/* stuck within 50 ms even at 100 Hz (3 samples minimum) */
		assert_true(est.stuck_samples * 1000 <= 50 * rate);
	}
}

/*
 * A window too short for the noise gives a valid-looking residual but a
 * frequency off by hertz: the standard error of the slope catches it.
 */
static void test_short_window_at_20db_snr_flagged_noisy(void **state)
{
	uint32_t noisy = 0, reads = 0;
	double sq_err = 0.0, sq_stderr = 0.0;
	struct estimate r;
	struct signal s;

	(void)state;
	init_or_die(&est, 3200, ESTIMATOR_WINDOW_MIN);
	signal_init(&s, 3200, 45.0, 20.0, 20.0, 70);
	signal_feed(&s, &est, 3200);
	for (int i = 0; i < 3200; i++, reads++) {
		signal_feed(&s, &est, 1);
		estimator_read(&est, &r);
		if (r.flags & ESTIMATE_NOISY)
			noisy++;
		sq_err += (r.freq_hz - 45.0) * (r.freq_hz - 45.0);
		sq_stderr += r.freq_stderr_hz * r.freq_stderr_hz;
	}
	print_message("window 8 at 3.2 kHz: %.0f %% noisy, RMS error %.2f Hz, RMS stderr %.2f Hz\n",
		      100.0 * noisy / reads, sqrt(sq_err / reads),
		      sqrt(sq_stderr / reads));
	assert_true(noisy > reads * 95 / 100);
}

static void test_state_size_is_fixed(void **state)
{
	(void)state;
	/* O(1) memory: the whole state is one fixed-size struct, no heap */
	print_message("sizeof(struct estimator) = %zu\n",
		      sizeof(struct estimator));
	assert_true(sizeof(struct estimator) < 128 * 1024);
	assert_int_equal(sizeof(est.phase) / sizeof(est.phase[0]),
			 ESTIMATOR_WINDOW_MAX);
}

static void test_flags_have_messages(void **state)
{
	(void)state;
	assert_string_equal(estimate_flag_to_string(ESTIMATE_WARMING_UP),
			    "warming up");
	assert_string_equal(estimate_flag_to_string(ESTIMATE_NO_VIBRATION),
			    "no vibration");
	assert_string_equal(estimate_flag_to_string(ESTIMATE_CLIPPED),
			    "clipped");
	assert_string_equal(estimate_flag_to_string(ESTIMATE_NOISY),
			    "too noisy");
	assert_string_equal(estimate_flag_to_string(ESTIMATE_STUCK),
			    "sensor stuck");
	assert_string_equal(estimate_flag_to_string(ESTIMATE_ONE_AXIS),
			    "vibration on one axis only");
	assert_string_equal(estimate_flag_to_string(1u << 30), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frequency_within_50mhz_at_20db_snr),
		cmocka_unit_test(
			test_frequency_within_400mhz_at_20db_snr_default_window),
		cmocka_unit_test(test_valid_within_two_cycles_of_start),
		cmocka_unit_test(
			test_valid_within_three_cycles_at_20db_snr_after_still),
		cmocka_unit_test(test_stuck_sensor_flagged_within_50ms),
		cmocka_unit_test(test_stuck_sensor_never_reads_valid_and_wrong),
		cmocka_unit_test(test_small_slow_vibration_not_flagged_stuck),
		cmocka_unit_test(test_clipped_flagged_when_samples_saturate),
		cmocka_unit_test(
			test_still_sensor_with_noise_flagged_no_vibration),
		cmocka_unit_test(test_too_noisy_flagged_at_minus_5db_snr),
		cmocka_unit_test(test_phase_noise_at_20db_snr_not_flagged),
		cmocka_unit_test(test_frequency_step_settles_within_window),
		cmocka_unit_test(test_amplitude_rms_within_2_percent),
		cmocka_unit_test(
			test_gravity_on_any_axis_does_not_bias_frequency),
		cmocka_unit_test(test_elliptical_path_does_not_bias_frequency),
		cmocka_unit_test(test_dead_axis_flagged_one_axis),
		cmocka_unit_test(
			test_clockwise_rotation_reads_positive_frequency),
		cmocka_unit_test(test_reset_restarts_warm_up),
		cmocka_unit_test(test_long_run_keeps_accuracy),
		cmocka_unit_test(test_bad_config_rejected_with_einval),
		cmocka_unit_test(test_default_config_valid_at_every_rate),
		cmocka_unit_test(test_short_window_at_20db_snr_flagged_noisy),
		cmocka_unit_test(test_state_size_is_fixed),
		cmocka_unit_test(test_flags_have_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
