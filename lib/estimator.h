/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * estimator.h - streaming frequency and amplitude estimator for the
 * vibration of an ERM massager head, fed with 3-axis accelerometer samples
 *
 * The rotating unbalance force makes the x/y acceleration a vector rotating
 * at the vibration frequency. Per sample, in O(1) time and without
 * allocation, I/O or logging (it runs in the SCHED_FIFO control loop):
 *  - the x/y DC (gravity, offsets) is removed with a sliding mean over a
 *    whole number of vibration periods (prefix sums, fractional length);
 *    while warming up, with the centre of a least-squares circle fit;
 *  - an elliptical path is whitened back to a circle by the Cholesky
 *    factor of the x/y covariance over whole periods;
 *  - the phase of the remaining vector (atan2) is unwrapped into an integer
 *    accumulator in units of 2^-32 revolution, so it never drifts;
 *  - the frequency is the least-squares slope of phase against sample index
 *    over the last window_samples, kept as exact 128-bit running sums; the
 *    regression residual measures the phase noise;
 *  - the amplitude is the RMS magnitude of the DC-free x/y vector over the
 *    same window.
 * Method, accuracy and latency: docs/control.md, section "Estimator".
 */
#ifndef MASSAGED_ESTIMATOR_H
#define MASSAGED_ESTIMATOR_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define ESTIMATOR_WINDOW_MAX		1024
/* Prefix-sum ring for the DC mean and the window sums; power of two,
 * longer than the window so a DC mean can span whole slow periods.
 */
#define ESTIMATOR_PREFIX_RING		2048
#define ESTIMATOR_RATE_MIN_HZ		100
#define ESTIMATOR_RATE_MAX_HZ		3200
#define ESTIMATOR_WINDOW_MIN		8
#define ESTIMATOR_DEFAULT_WINDOW_MS	64
#define ESTIMATOR_DEFAULT_STUCK_MS	20
#define ESTIMATOR_DEFAULT_MIN_AMPLITUDE_MMS2	500
#define ESTIMATOR_DEFAULT_MAX_PHASE_NOISE_MRAD	300
#define ESTIMATOR_DEFAULT_MAX_FREQ_STDERR_MHZ	500

/**
 * struct estimator_config - what the estimator needs to know
 * @sample_rate_hz: accelerometer output data rate, 100 .. 3200
 * @window_samples: regression and RMS window, 8 .. ESTIMATOR_WINDOW_MAX;
 *	0 selects ~64 ms worth (control-loop latency); accuracy needs more,
 *	see docs/control.md
 * @lsb_ug: sensor LSB in micro-g, e.g. 3900 (ADXL345 full resolution)
 * @range_lsb: |raw| >= this on any axis counts as clipped, e.g. 4095
 * @stuck_ms: identical samples for this long flag a stuck sensor (at
 *	least 3 samples are needed)
 * @min_amplitude_mms2: RMS amplitude below this means no vibration
 * @max_phase_noise_mrad: RMS regression residual above this is too noisy
 * @max_freq_stderr_mhz: standard error of the frequency (from the residual
 *	and the window length) above this is too noisy; 0 = default 500
 */
struct estimator_config {
	uint32_t sample_rate_hz;
	uint32_t window_samples;
	int32_t lsb_ug;
	int32_t range_lsb;
	uint32_t stuck_ms;
	uint32_t min_amplitude_mms2;
	uint32_t max_phase_noise_mrad;
	uint32_t max_freq_stderr_mhz;
};

/*
 * Bit flags; 0 when the estimate is valid.
 * WARMING_UP: fewer than two vibration cycles seen
 * CLIPPED: a clipped sample is in the window
 * NOISY: phase noise or frequency standard error too big
 * ONE_AXIS: x or y carries (almost) nothing, no rotation to measure: a dead
 *	axis most likely; there is no single-axis fallback
 */
enum estimate_flag {
	ESTIMATE_WARMING_UP = 1 << 0,
	ESTIMATE_NO_VIBRATION = 1 << 1,
	ESTIMATE_CLIPPED = 1 << 2,
	ESTIMATE_NOISY = 1 << 3,
	ESTIMATE_STUCK = 1 << 4,
	ESTIMATE_ONE_AXIS = 1 << 5,
};

/**
 * struct estimate - one reading of the estimator
 * @freq_hz: vibration frequency, positive whichever way the rotor turns
 * @amplitude_fast_ms2: amplitude_ms2 over the last quarter of the window
 *	(at least 8 samples): noisier, but quick to see a rotor stop
 * @amplitude_ms2: RMS magnitude of the x/y vibration vector, m/s^2 (a
 *	rotating vector of constant magnitude A reads A, each axis A/sqrt 2)
 * @phase_noise_mrad: RMS residual of the phase regression
 * @freq_stderr_hz: standard error of @freq_hz implied by that residual
 * @flags: enum estimate_flag bits, 0 = valid; the numbers are filled in
 *	either way but mean nothing unless valid
 * @samples: fed since init or reset
 */
struct estimate {
	double freq_hz;
	double amplitude_ms2;
	double amplitude_fast_ms2;	/* the same over the last quarter window */
	double phase_noise_mrad;
	double freq_stderr_hz;
	uint32_t flags;
	uint64_t samples;
};

/* Running sums up to a sample; they wrap modulo 2^64, differences over a
 * window are exact.
 */
struct estimator_prefix {
	uint64_t sum_x;
	uint64_t sum_y;
	uint64_t sum_xx;
	uint64_t sum_yy;
	uint64_t sum_xy;
	uint32_t clipped;	/* samples with any axis clipped */
};

/* Circle-fit sums used while warming up */
struct estimator_kasa {
	double x0, y0;
	double n, sx, sy, sxx, syy, sxy, sxr2, syr2, sr2;
};

/**
 * struct estimator - state; fixed size (about 104 KiB), embed it or make it
 * static (not on a small thread stack); no malloc
 *
 * Members are private to estimator.c.
 */
struct estimator {
	struct estimator_config cfg;
	uint32_t window;		/* regression window, samples */
	uint32_t stuck_samples;
	double amp_ms2_per_lsb;
	double min_amplitude_lsb;	/* cfg.min_amplitude_mms2, in LSB */
	uint64_t samples;
	/* prefix[i & mask]: sums over samples [0, i) */
	struct estimator_prefix prefix[ESTIMATOR_PREFIX_RING];
	/* DC of x/y and the period it is averaged over */
	double dc_x;
	double dc_y;
	/* whitening of an elliptical path: y' = (y - shear x) * scale_y */
	bool whiten;
	double whiten_shear;
	double whiten_scale_y;
	double period_samples;		/* 0 = unknown */
	struct estimator_kasa kasa;
	/* stuck detector */
	int16_t last[3];
	uint32_t same_run;
	/* phase, 2^-32 rev units */
	uint32_t phase_last_u32;
	int64_t phase_acc;
	int64_t warm_ref;		/* phase where the vibration began */
	bool warm_refit;		/* regression restarted at 1/2 turn */
	int64_t phase_ref;		/* origin of the sums below */
	int64_t phase[ESTIMATOR_WINDOW_MAX];
	uint32_t phase_head;
	uint32_t phase_count;
	__int128 sum_p;			/* sum (p - ref) */
	__int128 sum_tp;		/* sum t (p - ref), t = 0 oldest */
	__int128 sum_pp;		/* sum (p - ref)^2 */
};

void estimator_config_default(struct estimator_config *c,
			      uint32_t sample_rate_hz);
int estimator_init(struct estimator *e, const struct estimator_config *c);
void estimator_reset(struct estimator *e);
void estimator_feed(struct estimator *e, int16_t x, int16_t y, int16_t z);
void estimator_read(const struct estimator *e, struct estimate *ret);
bool estimate_valid(const struct estimate *est);
const char *estimate_flag_to_string(uint32_t flag);

#endif /* MASSAGED_ESTIMATOR_H */
