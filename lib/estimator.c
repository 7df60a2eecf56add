// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * estimator.c - streaming vibration frequency and amplitude estimator
 *
 * Runs inside the control loop: O(1) per sample, no allocation, no I/O, no
 * logging. See estimator.h for the method and docs/control.md for accuracy.
 */
#include <math.h>
#include <string.h>

#include "estimator.h"

#define PREFIX_MASK		(ESTIMATOR_PREFIX_RING - 1)
#define PHASE_UNITS_PER_REV	4294967296.0	/* 2^32 */
#define G_MS2			9.80665
/* Rebase the regression sums when the phase has run this far from their
 * origin, so (p - ref)^2 summed over a window stays far inside 128 bits.
 */
#define PHASE_REBASE_UNITS	((int64_t)1 << 40)
/* Shortest period the DC mean is aligned to; below 2 samples per cycle the
 * phase aliases anyway.
 */
#define PERIOD_MIN_SAMPLES	2.0
/* Two turns since reset end the warm-up */
#define WARM_UP_UNITS		((int64_t)2 << 32)
#define HALF_TURN_UNITS		((int64_t)1 << 31)
#define STUCK_MIN_SAMPLES	3
/* Expected step between samples above which three repeats mean stuck */
#define STUCK_FAST_STEP_LSB	4.0
/* Whiten only while both principal directions carry this share of power */
#define WHITEN_MIN_RATIO	0.01

_Static_assert((ESTIMATOR_PREFIX_RING & PREFIX_MASK) == 0,
	       "prefix ring must be a power of two");
_Static_assert(ESTIMATOR_PREFIX_RING > ESTIMATOR_WINDOW_MAX,
	       "prefix ring must hold a whole window and one more sample");
_Static_assert(ESTIMATOR_WINDOW_MAX <= 1 << 20,
	       "the sums of t and t^2 over a window must fit 64 bits");

void estimator_config_default(struct estimator_config *c,
			      uint32_t sample_rate_hz)
{
	*c = (struct estimator_config){
		.sample_rate_hz = sample_rate_hz,
		.window_samples = 0,
		.lsb_ug = 3900,
		.range_lsb = 4095,
		.stuck_ms = ESTIMATOR_DEFAULT_STUCK_MS,
		.min_amplitude_mms2 = ESTIMATOR_DEFAULT_MIN_AMPLITUDE_MMS2,
		.max_phase_noise_mrad = ESTIMATOR_DEFAULT_MAX_PHASE_NOISE_MRAD,
		.max_freq_stderr_mhz = ESTIMATOR_DEFAULT_MAX_FREQ_STDERR_MHZ,
	};
}

static uint32_t default_window_samples(uint32_t sample_rate_hz)
{
	uint32_t n = (sample_rate_hz * ESTIMATOR_DEFAULT_WINDOW_MS + 500) /
		     1000;

	if (n < ESTIMATOR_WINDOW_MIN)
		n = ESTIMATOR_WINDOW_MIN;
	if (n > ESTIMATOR_WINDOW_MAX)
		n = ESTIMATOR_WINDOW_MAX;
	return n;
}

int estimator_init(struct estimator *e, const struct estimator_config *c)
{
	uint32_t window, stuck;

	if (!e || !c)
		return -EINVAL;
	if (c->sample_rate_hz < ESTIMATOR_RATE_MIN_HZ ||
	    c->sample_rate_hz > ESTIMATOR_RATE_MAX_HZ)
		return -EINVAL;
	window = c->window_samples ?: default_window_samples(c->sample_rate_hz);
	if (window < ESTIMATOR_WINDOW_MIN || window > ESTIMATOR_WINDOW_MAX)
		return -EINVAL;
	/* 1 ug .. 1 g per LSB covers every accelerometer we may meet */
	if (c->lsb_ug <= 0 || c->lsb_ug > 1000000)
		return -EINVAL;
	if (c->range_lsb <= 0 || c->range_lsb > 32767)
		return -EINVAL;
	if (c->stuck_ms == 0 || c->stuck_ms > 10000)
		return -EINVAL;
	stuck = (uint32_t)(((uint64_t)c->stuck_ms * c->sample_rate_hz + 999) /
			   1000);
	/* two identical samples in a row happen on a quiet sensor */
	if (stuck < STUCK_MIN_SAMPLES)
		stuck = STUCK_MIN_SAMPLES;
	if (c->max_phase_noise_mrad == 0 || c->max_phase_noise_mrad > 100000)
		return -EINVAL;
	if (c->max_freq_stderr_mhz > 100000)
		return -EINVAL;

	e->cfg = *c;
	e->cfg.window_samples = window;
	if (!e->cfg.max_freq_stderr_mhz)
		e->cfg.max_freq_stderr_mhz =
			ESTIMATOR_DEFAULT_MAX_FREQ_STDERR_MHZ;
	e->window = window;
	e->stuck_samples = stuck;
	e->amp_ms2_per_lsb = c->lsb_ug * 1e-6 * G_MS2;
	e->min_amplitude_lsb = e->cfg.min_amplitude_mms2 / 1000.0 /
			       e->amp_ms2_per_lsb;
	estimator_reset(e);
	return 0;
}

void estimator_reset(struct estimator *e)
{
	e->samples = 0;
	memset(e->prefix, 0, sizeof(e->prefix));
	e->dc_x = 0.0;
	e->dc_y = 0.0;
	e->whiten = false;
	e->period_samples = 0.0;
	memset(e->last, 0, sizeof(e->last));
	e->same_run = 0;
	e->phase_last_u32 = 0;
	e->phase_acc = 0;
	e->warm_ref = 0;
	e->warm_refit = false;
	e->kasa.n = 0.0;
	e->phase_ref = 0;
	memset(e->phase, 0, sizeof(e->phase));
	e->phase_head = 0;
	e->phase_count = 0;
	e->sum_p = 0;
	e->sum_tp = 0;
	e->sum_pp = 0;
}

static const struct estimator_prefix *prefix_at(const struct estimator *e,
						 uint64_t i)
{
	return &e->prefix[i & PREFIX_MASK];
}

struct moments {
	double sx, sy, sxx, syy, sxy;
};

static void moments_between(const struct estimator_prefix *to,
			    const struct estimator_prefix *from, double weight,
			    bool squares, struct moments *m)
{
	m->sx += weight * (double)(int64_t)(to->sum_x - from->sum_x);
	m->sy += weight * (double)(int64_t)(to->sum_y - from->sum_y);
	if (!squares)
		return;
	m->sxx += weight * (double)(to->sum_xx - from->sum_xx);
	m->syy += weight * (double)(to->sum_yy - from->sum_yy);
	m->sxy += weight * (double)(int64_t)(to->sum_xy - from->sum_xy);
}

/* Sums over the last len_real samples, len_real may be fractional: the
 * sample just before the whole part is weighted by the fraction, so the
 * box has the exact length of k periods. Without @squares only sx, sy.
 */
static void moments_over(const struct estimator *e, double len_real,
			 bool squares, struct moments *ret)
{
	uint64_t n = e->samples, len = (uint64_t)len_real;
	const struct estimator_prefix *from = prefix_at(e, n - len);
	double frac = len_real - (double)len;

	*ret = (struct moments){ 0 };
	moments_between(prefix_at(e, n), from, 1.0, squares, ret);
	if (frac > 0.0 && len < n)
		moments_between(from, prefix_at(e, n - len - 1), frac, squares,
				ret);
}

/*
 * Mean of x/y over the longest whole number of periods that fits in the
 * window (at least one period), or over all samples while the period is
 * unknown or longer than the history.
 *
 * The covariance over the same periods whitens the vector: a head that
 * moves more along one direction than another traces an ellipse, whose
 * angle does not advance evenly; L^-1 of the Cholesky factor of the
 * covariance maps any ellipse back to a circle.
 */
/* floor() of a finite x in [0, 2^53): the same double, without a call */
static double floor_nonneg(double x)
{
	return (double)(int64_t)x;
}

static void dc_update(struct estimator *e)
{
	uint64_t avail = e->samples;
	double period = e->period_samples, len, cxx, cyy, cxy, a2, c2;
	struct moments m;
	bool periodic;

	if (avail > ESTIMATOR_PREFIX_RING - 1)
		avail = ESTIMATOR_PREFIX_RING - 1;

	periodic = period >= PERIOD_MIN_SAMPLES && period <= (double)avail;
	if (periodic) {
		double k = floor_nonneg((double)e->window / period);

		if (k < 1.0)
			k = 1.0;
		if (k * period > (double)avail)
			k = floor_nonneg((double)avail / period);
		len = k * period;
	} else {
		len = (double)avail;
	}

	/* the squares only if the covariance below is over the same box */
	moments_over(e, len, !periodic, &m);
	e->dc_x = m.sx / len;
	e->dc_y = m.sy / len;

	/* The shape changes slowly, noise in it adds phase ripple: take the
	 * covariance over as many whole periods as the ring holds.
	 */
	if (periodic) {
		len = floor_nonneg((double)avail / period) * period;
		moments_over(e, len, true, &m);
	}
	cxx = m.sxx / len - (m.sx / len) * (m.sx / len);
	cyy = m.syy / len - (m.sy / len) * (m.sy / len);
	cxy = m.sxy / len - (m.sx / len) * (m.sy / len);
	a2 = cxx;
	c2 = a2 > 0.0 ? cyy - cxy * cxy / a2 : 0.0;
	/* a line (one dead axis) cannot be whitened into a circle */
	e->whiten = a2 > WHITEN_MIN_RATIO * (cxx + cyy) &&
		    c2 > WHITEN_MIN_RATIO * (cxx + cyy);
	if (e->whiten) {
		e->whiten_shear = cxy / a2;
		e->whiten_scale_y = sqrt(a2 / c2);
	}
}

/*
 * While warming up there are too few whole periods for a mean to cancel the
 * vibration, so the DC is the centre of the least-squares circle (Kasa fit)
 * through every sample since reset: exact on a partial arc of a clean
 * rotating vector. Coordinates are relative to the first sample to keep the
 * sums small.
 */
static void kasa_add(struct estimator *e, int16_t x, int16_t y)
{
	struct estimator_kasa *k = &e->kasa;
	double dx, dy, r2;

	/* restart now and then so the sums stay small and current */
	if (k->n == 0.0 || k->n >= ESTIMATOR_PREFIX_RING)
		*k = (struct estimator_kasa){ .x0 = x, .y0 = y };
	dx = (double)x - k->x0;
	dy = (double)y - k->y0;
	r2 = dx * dx + dy * dy;
	k->n += 1.0;
	k->sx += dx;
	k->sy += dy;
	k->sxx += dx * dx;
	k->syy += dy * dy;
	k->sxy += dx * dy;
	k->sxr2 += dx * r2;
	k->syr2 += dy * r2;
	k->sr2 += r2;
}

/* Returns false while the fit is degenerate (too few or collinear points) */
static bool kasa_centre(const struct estimator *e, double *ret_x,
			double *ret_y)
{
	const struct estimator_kasa *k = &e->kasa;
	/* solve [sxx sxy sx; sxy syy sy; sx sy n] (D E F) = -(sxr2 syr2 sr2)
	 * by Cramer's rule; the centre is (-D/2, -E/2)
	 */
	double a = k->sxx, b = k->sxy, c = k->sx;
	double d = k->syy, f = k->sy, n = k->n;
	double u = -k->sxr2, v = -k->syr2, w = -k->sr2;
	double det = a * (d * n - f * f) - b * (b * n - f * c) +
		     c * (b * f - d * c);
	double scale = a * d * n;
	double dd, de;

	if (k->n < 3.0 || !(fabs(det) > 1e-9 * fabs(scale)) || scale == 0.0)
		return false;
	dd = u * (d * n - f * f) - b * (v * n - f * w) + c * (v * f - d * w);
	de = a * (v * n - w * f) - u * (b * n - f * c) + c * (b * w - v * c);
	*ret_x = k->x0 - dd / det / 2.0;
	*ret_y = k->y0 - de / det / 2.0;
	return true;
}

/* Closed-form sums of t and t^2 for t = 0 .. c - 1 and the centred
 * regression moments, exact in 128 bits (sxx, of t alone, in 64).
 */
struct regression {
	int64_t sxx;	/* c * sum t^2 - (sum t)^2, < 2^39 */
	__int128 sxy;	/* c * sum t p - sum t * sum p */
	__int128 syy;	/* c * sum p^2 - (sum p)^2 */
	uint32_t count;
};

static void regression_slope_moments(const struct estimator *e,
				     struct regression *ret)
{
	/* c <= ESTIMATOR_WINDOW_MAX: the sums of t and t^2 fit 64 bits */
	int64_t c = e->phase_count;
	int64_t st = c * (c - 1) / 2;
	int64_t stt = (c - 1) * c * (2 * c - 1) / 6;

	ret->count = e->phase_count;
	ret->sxx = c * stt - st * st;
	ret->sxy = c * e->sum_tp - st * e->sum_p;
}

static void regression_moments(const struct estimator *e,
			       struct regression *ret)
{
	regression_slope_moments(e, ret);
	ret->syy = e->phase_count * e->sum_pp - e->sum_p * e->sum_p;
}

/* Slope in revolutions per sample, signed. */
static double regression_slope_rev(const struct regression *r)
{
	if (r->count < 3 || r->sxx <= 0)
		return 0.0;
	return (double)r->sxy / (double)r->sxx / PHASE_UNITS_PER_REV;
}

/*
 * RMS residual about the fitted line, radians, and the standard error of
 * the slope it implies, revolutions per sample: s / sqrt(sum (t - mean)^2).
 */
static double regression_residual_rad(const struct regression *r,
				      double *ret_slope_stderr_rev)
{
	double sxx, sxy, syy, sse, s;

	*ret_slope_stderr_rev = 0.0;
	if (r->count < 3 || r->sxx <= 0)
		return 0.0;
	sxx = (double)r->sxx;
	sxy = (double)r->sxy;
	syy = (double)r->syy;
	sse = (syy - sxy * sxy / sxx) / (double)r->count;
	if (sse < 0.0)
		sse = 0.0;
	s = sqrt(sse / (double)(r->count - 2));
	/* sxx is count * sum (t - mean)^2 */
	*ret_slope_stderr_rev = s / sqrt(sxx / (double)r->count) /
				PHASE_UNITS_PER_REV;
	return s * (2.0 * M_PI) / PHASE_UNITS_PER_REV;
}

static void phase_rebase(struct estimator *e, int64_t ref)
{
	__int128 d = (__int128)ref - e->phase_ref;
	__int128 c = e->phase_count;
	__int128 st = c * (c - 1) / 2;

	/* sum (p - ref')^2 = sum (p - ref)^2 - 2 d sum (p - ref) + c d^2 */
	e->sum_pp += -2 * d * e->sum_p + c * d * d;
	e->sum_tp -= d * st;
	e->sum_p -= c * d;
	e->phase_ref = ref;
}

static void phase_push(struct estimator *e, int64_t phase)
{
	__int128 q;

	if (phase - e->phase_ref > PHASE_REBASE_UNITS ||
	    e->phase_ref - phase > PHASE_REBASE_UNITS)
		phase_rebase(e, phase);

	if (e->phase_count == e->window) {
		__int128 old = (__int128)e->phase[e->phase_head] - e->phase_ref;

		/* drop t = 0, then renumber t = 1 .. c - 1 to 0 .. c - 2 */
		e->sum_p -= old;
		e->sum_pp -= old * old;
		e->phase_count--;
		e->sum_tp -= e->sum_p;
	}

	q = (__int128)phase - e->phase_ref;
	e->phase[e->phase_head] = phase;
	if (++e->phase_head == e->window)
		e->phase_head = 0;
	e->sum_tp += (__int128)e->phase_count * q;
	e->sum_p += q;
	e->sum_pp += q * q;
	e->phase_count++;
}

static bool clipped(const struct estimator *e, int16_t v)
{
	return v >= e->cfg.range_lsb || v <= -e->cfg.range_lsb;
}

/*
 * Mean |v - dc|^2 of x/y over the window, LSB^2, and whether any sample in
 * it clipped. With use_dc the DC is the period-aligned estimate; without,
 * it is the window mean (a variance), which needs no estimate but leaves
 * up to 1/(pi cycles) of the vibration in the mean on short windows.
 */
static double window_power_over(const struct estimator *e, uint64_t len,
				bool use_dc, bool *ret_clipped)
{
	uint64_t n = e->samples;
	const struct estimator_prefix *now = prefix_at(e, n);
	const struct estimator_prefix *from = prefix_at(e, n - len);
	double sx = (double)(int64_t)(now->sum_x - from->sum_x);
	double sy = (double)(int64_t)(now->sum_y - from->sum_y);
	double sq = (double)(now->sum_xx - from->sum_xx) +
		    (double)(now->sum_yy - from->sum_yy);
	double dx, dy, power;

	if (ret_clipped)
		*ret_clipped = now->clipped != from->clipped;
	if (len == 0)
		return 0.0;
	dx = use_dc ? e->dc_x : sx / (double)len;
	dy = use_dc ? e->dc_y : sy / (double)len;
	/* sum |v - d|^2 = sum |v|^2 - 2 d . sum v + len |d|^2 */
	power = sq - 2.0 * (dx * sx + dy * sy) +
		(double)len * (dx * dx + dy * dy);
	return power > 0.0 ? power / (double)len : 0.0;
}

static double window_power(const struct estimator *e, bool use_dc,
			   bool *ret_clipped)
{
	uint64_t n = e->samples;

	return window_power_over(e, n < e->window ? n : e->window, use_dc,
				 ret_clipped);
}

/* The last quarter window, at least 8 samples: a stopped rotor shows here
 * long before it has filled the whole window.
 */
static double fast_power(const struct estimator *e, bool use_dc)
{
	uint64_t len = e->window / 4 < 8 ? 8 : e->window / 4;

	if (len > e->samples)
		len = e->samples;
	return window_power_over(e, len, use_dc, NULL);
}

static double min_amplitude_lsb(const struct estimator *e)
{
	return e->min_amplitude_lsb;
}

/* Whether the vibration reaches the minimum amplitude; needs no DC. */
static bool vibration_present(const struct estimator *e)
{
	double min_lsb = min_amplitude_lsb(e);

	return window_power(e, false, NULL) >= min_lsb * min_lsb;
}

/*
 * Whether x or y alone carries less than half the minimum amplitude (a
 * quarter of its power) over the window: no rotation to take a phase
 * from, most likely a dead axis. A rotating vector at the minimum
 * amplitude has half of its power on each axis.
 */
static bool one_axis(const struct estimator *e)
{
	uint64_t n = e->samples, len = n < e->window ? n : e->window;
	const struct estimator_prefix *now = prefix_at(e, n);
	const struct estimator_prefix *from = prefix_at(e, n - len);
	double sx, sy, vx, vy, min_lsb = min_amplitude_lsb(e);

	if (len == 0)
		return false;
	sx = (double)(int64_t)(now->sum_x - from->sum_x) / (double)len;
	sy = (double)(int64_t)(now->sum_y - from->sum_y) / (double)len;
	vx = (double)(now->sum_xx - from->sum_xx) / (double)len - sx * sx;
	vy = (double)(now->sum_yy - from->sum_yy) / (double)len - sy * sy;
	return (vx < min_lsb * min_lsb / 4.0) != (vy < min_lsb * min_lsb / 4.0);
}

static void regression_clear(struct estimator *e)
{
	e->phase_count = 0;
	e->phase_head = 0;
	e->sum_p = 0;
	e->sum_tp = 0;
	e->sum_pp = 0;
}

/* Forget the phase history: the next vibration warms up from scratch. */
static void phase_restart(struct estimator *e)
{
	regression_clear(e);
	e->warm_ref = e->phase_acc;
	e->warm_refit = false;
	e->kasa.n = 0.0;
	e->period_samples = 0.0;
}

static bool warming_up(const struct estimator *e)
{
	int64_t turns = e->phase_acc - e->warm_ref;

	return e->phase_count < 3 ||
	       (turns < WARM_UP_UNITS && turns > -WARM_UP_UNITS);
}

void estimator_feed(struct estimator *e, int16_t x, int16_t y, int16_t z)
{
	const struct estimator_prefix *p = prefix_at(e, e->samples);
	struct estimator_prefix *next = &e->prefix[(e->samples + 1) &
						   PREFIX_MASK];
	struct regression r;
	double angle_rad, slope, vx, vy;
	uint32_t u;

	/* stuck: the sensor repeats exactly the same triple */
	if (e->samples > 0 && x == e->last[0] && y == e->last[1] &&
	    z == e->last[2]) {
		if (e->same_run < UINT32_MAX)
			e->same_run++;
	} else {
		e->same_run = 1;
	}
	e->last[0] = x;
	e->last[1] = y;
	e->last[2] = z;

	next->sum_x = p->sum_x + (uint64_t)(int64_t)x;
	next->sum_y = p->sum_y + (uint64_t)(int64_t)y;
	next->sum_xx = p->sum_xx + (uint64_t)((int32_t)x * x);
	next->sum_yy = p->sum_yy + (uint64_t)((int32_t)y * y);
	next->sum_xy = p->sum_xy + (uint64_t)(int64_t)((int32_t)x * y);
	next->clipped = p->clipped +
			(clipped(e, x) || clipped(e, y) || clipped(e, z));
	e->samples++;

	if (!vibration_present(e)) {
		phase_restart(e);
		return;
	}

	if (warming_up(e)) {
		kasa_add(e, x, y);
		/* no centre yet: a phase now would only bias the fit */
		if (!kasa_centre(e, &e->dc_x, &e->dc_y))
			return;
		e->whiten = false;
	} else {
		dc_update(e);
	}

	/* Phase as a fraction of a turn in 2^-32 units: the wrapped difference
	 * of two such angles is the shortest step, which unwraps for free.
	 */
	vx = (double)x - e->dc_x;
	vy = (double)y - e->dc_y;
	if (e->whiten)
		vy = (vy - e->whiten_shear * vx) * e->whiten_scale_y;
	angle_rad = atan2(vy, vx);
	u = (uint32_t)(int64_t)llrint(angle_rad / (2.0 * M_PI) *
				      PHASE_UNITS_PER_REV);
	if (e->phase_count > 0)
		e->phase_acc += (int32_t)(u - e->phase_last_u32);
	e->phase_last_u32 = u;
	/* The circle fit through the first few noisy points of an arc is poor
	 * and their phases would bias the slope: once half a turn is in the
	 * fit, start the regression afresh. Noisy early phases may have
	 * miscounted that half turn, so the warm-up counts from here.
	 */
	if (!e->warm_refit && (e->phase_acc - e->warm_ref > HALF_TURN_UNITS ||
			       e->warm_ref - e->phase_acc > HALF_TURN_UNITS)) {
		regression_clear(e);
		e->warm_refit = true;
		e->warm_ref = e->phase_acc > e->warm_ref ?
			      e->phase_acc - HALF_TURN_UNITS :
			      e->phase_acc + HALF_TURN_UNITS;
	}
	phase_push(e, e->phase_acc);

	/* the slope alone: the residual is for estimator_read() */
	regression_slope_moments(e, &r);
	slope = fabs(regression_slope_rev(&r));
	e->period_samples = slope > 0.0 ? 1.0 / slope : 0.0;
}

/*
 * Identical samples for stuck_ms, or for three samples when the vibration
 * should move the vector by several LSB from one sample to the next: a
 * frozen sensor corrupts the slope within a few milliseconds, long before
 * stuck_ms (at 35 Hz and 1 kHz it read 1 Hz low after 5 ms).
 */
static bool stuck(const struct estimator *e, double amp_lsb)
{
	if (e->same_run >= e->stuck_samples)
		return true;
	if (e->same_run < STUCK_MIN_SAMPLES || e->period_samples <= 0.0)
		return false;
	return 2.0 * M_PI / e->period_samples * amp_lsb >= STUCK_FAST_STEP_LSB;
}

void estimator_read(const struct estimator *e, struct estimate *ret)
{
	bool warm = warming_up(e), clip;
	uint32_t flags = 0;
	struct regression r;
	double amp, noise_rad, stderr_hz;

	regression_moments(e, &r);
	noise_rad = regression_residual_rad(&r, &stderr_hz);
	stderr_hz *= e->cfg.sample_rate_hz;
	/* the period-aligned DC only exists once warmed up */
	amp = sqrt(window_power(e, !warm, &clip)) * e->amp_ms2_per_lsb;
	if (clip)
		flags |= ESTIMATE_CLIPPED;

	if (warm)
		flags |= ESTIMATE_WARMING_UP;
	if (amp * 1000.0 < (double)e->cfg.min_amplitude_mms2)
		flags |= ESTIMATE_NO_VIBRATION;
	else if (one_axis(e))
		flags |= ESTIMATE_ONE_AXIS;
	if (noise_rad * 1000.0 > (double)e->cfg.max_phase_noise_mrad ||
	    stderr_hz * 1000.0 > (double)e->cfg.max_freq_stderr_mhz)
		flags |= ESTIMATE_NOISY;
	if (stuck(e, amp / e->amp_ms2_per_lsb))
		flags |= ESTIMATE_STUCK;

	*ret = (struct estimate){
		.freq_hz = fabs(regression_slope_rev(&r)) *
			   e->cfg.sample_rate_hz,
		.amplitude_ms2 = amp,
		.amplitude_fast_ms2 = sqrt(fast_power(e, !warm)) *
				      e->amp_ms2_per_lsb,
		.phase_noise_mrad = noise_rad * 1000.0,
		.freq_stderr_hz = stderr_hz,
		.flags = flags,
		.samples = e->samples,
	};
}

bool estimate_valid(const struct estimate *est)
{
	return est->flags == 0;
}

const char *estimate_flag_to_string(uint32_t flag)
{
	switch (flag) {
	case 0:
		return "valid";
	case ESTIMATE_WARMING_UP:
		return "warming up";
	case ESTIMATE_NO_VIBRATION:
		return "no vibration";
	case ESTIMATE_CLIPPED:
		return "clipped";
	case ESTIMATE_NOISY:
		return "too noisy";
	case ESTIMATE_STUCK:
		return "sensor stuck";
	case ESTIMATE_ONE_AXIS:
		return "vibration on one axis only";
	default:
		return "unknown";
	}
}
