/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * safety.c - the massager's safety rules; see safety.h and docs/safety.md
 *
 * Default figures and why:
 *  - band 20-60 Hz, never above 80 Hz, never 100-200 Hz: DOMAIN.md.
 *  - thermal: a small brushed therapy motor (a few watts, ~30 g of copper
 *    and iron in a plastic housing) has a winding-to-ambient thermal time
 *    constant of minutes; we take 5 min.  The budget is the heat reached
 *    after 10 min at full drive from cold.  With tau = 5 min that budget is
 *    tau * (1 - e^-2) = 86.5 % of the full-drive steady state, so the model
 *    trips only above sqrt(0.865) = 93 % drive held for a long time: half
 *    drive settles at 25 % of tau and never trips.  After a trip the motor
 *    is locked out until the heat falls to 50 % of the budget, which takes
 *    tau * ln 2 = 3.5 min from the trip point.
 *  - 15 min per site: the neck protocol (NCT02393521), the longest one in
 *    DOMAIN.md; the clinical norm is 30 s to 3 min.  60 min per session.
 *  - 100 ms of sensor loss or stall: 5 cycles at 50 Hz, about one to three
 *    mechanical time constants of the motor; long enough to ride out one
 *    dropped estimate, short against any harm.  500 ms of estimator
 *    warm-up covers spin-up (30-100 ms time constant) plus the estimator's
 *    window.  250 ms above 80 Hz before a STOP rides out an overshoot.
 */
#include <stdio.h>

#include "estimator.h"
#include "safety.h"

#define NSEC_PER_MSEC	1000000ull

_Static_assert(SAFETY_ABS_MAX_FREQ_MHZ < SAFETY_CONTRACTION_MIN_FREQ_MHZ,
	       "the absolute limit must stay below the contraction band");
_Static_assert((int)SAFETY_EST_WARMING_UP == (int)ESTIMATE_WARMING_UP &&
	       (int)SAFETY_EST_NO_VIBRATION == (int)ESTIMATE_NO_VIBRATION &&
	       (int)SAFETY_EST_CLIPPED == (int)ESTIMATE_CLIPPED &&
	       (int)SAFETY_EST_NOISY == (int)ESTIMATE_NOISY &&
	       (int)SAFETY_EST_STUCK == (int)ESTIMATE_STUCK,
	       "safety's estimate flags must equal lib/estimator.h's");
_Static_assert(SAFETY_DEFAULT_MAX_FREQ_MHZ <= SAFETY_ABS_MAX_FREQ_MHZ,
	       "the default band must be inside the absolute limit");

static const char *const reason_text[_SAFETY_REASON_MAX] = {
	[SAFETY_REASON_NONE] = "no safety rule applies",
	[SAFETY_REASON_BELOW_BAND] =
		"frequency is below this station's therapy band",
	[SAFETY_REASON_ABOVE_BAND] =
		"frequency is above this station's therapy band",
	[SAFETY_REASON_CONTRACTION_BAND] =
		"frequency is in the 100-200 Hz contraction band (tonic vibration reflex); therapy runs at 20-60 Hz",
	[SAFETY_REASON_ABOVE_ABSOLUTE] =
		"frequency is above the absolute 80 Hz limit",
	[SAFETY_REASON_INTENSITY] =
		"intensity is above this station's limit",
	[SAFETY_REASON_STEP_DURATION] =
		"step duration is zero or longer than the continuous vibration allowed on one site",
	[SAFETY_REASON_SESSION_DURATION] =
		"program is empty or longer than the vibration allowed in one session",
	[SAFETY_REASON_ESTOP] = "emergency stop pressed",
	[SAFETY_REASON_WATCHDOG] =
		"the kernel's watchdog stopped the motor: the control loop did not keep up",
	[SAFETY_REASON_CLOCK] =
		"monotonic time went backwards: the supervisor cannot trust its timers",
	[SAFETY_REASON_SUPERVISION_GAP] =
		"the motor ran without supervision for longer than the sensor-loss limit",
	[SAFETY_REASON_THERMAL] =
		"motor thermal budget exhausted; it must cool down",
	[SAFETY_REASON_THERMAL_LOCKOUT] =
		"motor is still cooling down after a thermal stop",
	[SAFETY_REASON_STALL] = "motor stalled",
	[SAFETY_REASON_SENSOR_STUCK] =
		"accelerometer output is stuck; the vibration cannot be measured",
	[SAFETY_REASON_SENSOR_LOSS] =
		"no valid vibration measurement while driving the motor",
	[SAFETY_REASON_NO_VIBRATION] =
		"motor is driven but no vibration is measured",
	[SAFETY_REASON_OVERSPEED] =
		"measured vibration is above the absolute 80 Hz limit",
	[SAFETY_REASON_SITE_CAP] =
		"continuous vibration time on this site reached its limit; move to another site",
	[SAFETY_REASON_SESSION_CAP] =
		"vibration time for this session reached its limit",
	[SAFETY_REASON_LOST_CONTACT] = "head lifted off the body",
	[SAFETY_REASON_TARGET_UNREACHABLE] =
		"the motor cannot reach the therapy band under this press",
};

const char *safety_reason_to_string(enum safety_reason reason)
{
	if ((unsigned int)reason >= _SAFETY_REASON_MAX || !reason_text[reason])
		return "unknown safety reason";
	return reason_text[reason];
}

void safety_limits_default(struct safety_limits *l)
{
	*l = (struct safety_limits){
		.min_freq_mhz = SAFETY_DEFAULT_MIN_FREQ_MHZ,
		.max_freq_mhz = SAFETY_DEFAULT_MAX_FREQ_MHZ,
		.max_intensity_permille = SAFETY_PERMILLE_MAX,
		.thermal_tau_ms = 5u * 60u * 1000u,
		.thermal_trip_full_ms = 10u * 60u * 1000u,
		.thermal_resume_permille = 500u,
		.max_continuous_site_ms = 15u * 60u * 1000u,
		.max_session_ms = 60u * 60u * 1000u,
		.sensor_loss_ms = 100u,
		/* a start pressed onto the body (6 N) spins up slowly and reads
		 * valid only after ~0.5 s; the controller judges a stall from
		 * the start after 1 s (controller.c, stall_grace_s)
		 */
		.warmup_ms = 1000u,
		/* the controller has already debounced its stall flag for
		 * 20 ms on an 18-sample window: 10 more keeps stall-to-off
		 * well under 100 ms even on a loaded machine
		 */
		.stall_ms = 10u,
		.overspeed_grace_ms = 250u,
		.lost_contact_pause = true,
	};
}

static bool in_contraction_band(uint64_t freq_mhz)
{
	return freq_mhz >= SAFETY_CONTRACTION_MIN_FREQ_MHZ &&
	       freq_mhz <= SAFETY_CONTRACTION_MAX_FREQ_MHZ;
}

/* 0 -> -EINVAL, outside lo..hi -> -ERANGE. */
static int check_range(uint32_t v, uint32_t lo, uint32_t hi)
{
	if (v == 0)
		return -EINVAL;
	if (v < lo || v > hi)
		return -ERANGE;
	return 0;
}

static int check_freq_limit(uint32_t freq_mhz)
{
	if (freq_mhz == 0)
		return -EINVAL;
	if (in_contraction_band(freq_mhz))
		return -ERANGE;
	if (freq_mhz < SAFETY_ABS_MIN_FREQ_MHZ ||
	    freq_mhz > SAFETY_ABS_MAX_FREQ_MHZ)
		return -ERANGE;
	return 0;
}

int safety_limits_validate(const struct safety_limits *l,
			   const char **ret_field)
{
	const char *field = NULL;
	int r = 0;

#define CHECK(name, expr)					\
	do {							\
		if (r == 0) {					\
			r = (expr);				\
			if (r < 0)				\
				field = name;			\
		}						\
	} while (0)

	if (!l) {
		r = -EINVAL;
		goto out;
	}

	CHECK("min_freq_mhz", check_freq_limit(l->min_freq_mhz));
	CHECK("max_freq_mhz", check_freq_limit(l->max_freq_mhz));
	if (r == 0 && l->min_freq_mhz >= l->max_freq_mhz) {
		r = -EINVAL;
		field = "min_freq_mhz";
	}
	CHECK("max_intensity_permille",
	      check_range(l->max_intensity_permille, 1, SAFETY_PERMILLE_MAX));
	CHECK("thermal_tau_ms",
	      check_range(l->thermal_tau_ms, 1000, 2u * 60u * 60u * 1000u));
	CHECK("thermal_trip_full_ms",
	      check_range(l->thermal_trip_full_ms, 1000,
			  2u * 60u * 60u * 1000u));
	CHECK("thermal_resume_permille",
	      check_range(l->thermal_resume_permille, 1,
			  SAFETY_PERMILLE_MAX - 1));
	CHECK("max_continuous_site_ms",
	      check_range(l->max_continuous_site_ms, 1,
			  SAFETY_ABS_MAX_SITE_MS));
	CHECK("max_session_ms",
	      check_range(l->max_session_ms, 1, SAFETY_ABS_MAX_SESSION_MS));
	CHECK("sensor_loss_ms",
	      check_range(l->sensor_loss_ms, 1, SAFETY_ABS_MAX_SENSOR_LOSS_MS));
	CHECK("warmup_ms",
	      check_range(l->warmup_ms, 1, SAFETY_ABS_MAX_WARMUP_MS));
	CHECK("stall_ms", check_range(l->stall_ms, 1, SAFETY_ABS_MAX_STALL_MS));
	CHECK("overspeed_grace_ms",
	      check_range(l->overspeed_grace_ms, 1,
			  SAFETY_ABS_MAX_OVERSPEED_MS));
#undef CHECK
out:
	if (ret_field)
		*ret_field = field;
	return r;
}

static int refuse(enum safety_reason reason, enum safety_reason *ret_reason)
{
	if (ret_reason)
		*ret_reason = reason;
	return reason == SAFETY_REASON_NONE ? 0 : -ERANGE;
}

int safety_check_target(const struct safety_limits *l, uint32_t freq_mhz,
			uint32_t intensity_permille,
			enum safety_reason *ret_reason)
{
	enum safety_reason reason = SAFETY_REASON_NONE;

	if (!l)
		return -EINVAL;

	/* Most serious first; the contraction band is refused by name. */
	if (in_contraction_band(freq_mhz))
		reason = SAFETY_REASON_CONTRACTION_BAND;
	else if (freq_mhz > SAFETY_ABS_MAX_FREQ_MHZ)
		reason = SAFETY_REASON_ABOVE_ABSOLUTE;
	else if (freq_mhz > l->max_freq_mhz)
		reason = SAFETY_REASON_ABOVE_BAND;
	else if (freq_mhz < l->min_freq_mhz ||
		 freq_mhz < SAFETY_ABS_MIN_FREQ_MHZ)
		reason = SAFETY_REASON_BELOW_BAND;
	else if (intensity_permille > l->max_intensity_permille ||
		 intensity_permille > SAFETY_PERMILLE_MAX)
		reason = SAFETY_REASON_INTENSITY;

	return refuse(reason, ret_reason);
}

int safety_check_step_duration(const struct safety_limits *l,
			       uint64_t duration_ms,
			       enum safety_reason *ret_reason)
{
	if (!l)
		return -EINVAL;
	if (duration_ms == 0 || duration_ms > l->max_continuous_site_ms ||
	    duration_ms > SAFETY_ABS_MAX_SITE_MS)
		return refuse(SAFETY_REASON_STEP_DURATION, ret_reason);
	return refuse(SAFETY_REASON_NONE, ret_reason);
}

int safety_check_session_total(const struct safety_limits *l,
			       uint64_t total_ms,
			       enum safety_reason *ret_reason)
{
	if (!l)
		return -EINVAL;
	if (total_ms == 0 || total_ms > l->max_session_ms ||
	    total_ms > SAFETY_ABS_MAX_SESSION_MS)
		return refuse(SAFETY_REASON_SESSION_DURATION, ret_reason);
	return refuse(SAFETY_REASON_NONE, ret_reason);
}

/* "45", "45.5", "0.125": milli-hertz as hertz without trailing zeros. */
static void format_hz(char buf[24], uint32_t freq_mhz)
{
	uint32_t frac = freq_mhz % 1000u;

	if (frac == 0) {
		snprintf(buf, 24, "%u", freq_mhz / 1000u);
		return;
	}
	if (frac % 100u == 0)
		snprintf(buf, 24, "%u.%u", freq_mhz / 1000u, frac / 100u);
	else if (frac % 10u == 0)
		snprintf(buf, 24, "%u.%02u", freq_mhz / 1000u, frac / 10u);
	else
		snprintf(buf, 24, "%u.%03u", freq_mhz / 1000u, frac);
}

int safety_format_target_refusal(char *buf, size_t size,
				 const struct safety_limits *l,
				 enum safety_reason reason, uint32_t freq_mhz,
				 uint32_t intensity_permille)
{
	char f[24], lo[24], hi[24], abs_max[24];

	if ((!buf && size) || !l)
		return -EINVAL;

	format_hz(f, freq_mhz);
	format_hz(lo, l->min_freq_mhz);
	format_hz(hi, l->max_freq_mhz);
	format_hz(abs_max, SAFETY_ABS_MAX_FREQ_MHZ);

	switch (reason) {
	case SAFETY_REASON_CONTRACTION_BAND:
		return snprintf(buf, size,
				"%s Hz is in the %u-%u Hz contraction band; therapy runs at %s-%s Hz",
				f, SAFETY_CONTRACTION_MIN_FREQ_MHZ / 1000u,
				SAFETY_CONTRACTION_MAX_FREQ_MHZ / 1000u, lo,
				hi);
	case SAFETY_REASON_ABOVE_ABSOLUTE:
		return snprintf(buf, size,
				"%s Hz is above the absolute %s Hz limit; therapy runs at %s-%s Hz",
				f, abs_max, lo, hi);
	case SAFETY_REASON_ABOVE_BAND:
		return snprintf(buf, size,
				"%s Hz is above this station's band of %s-%s Hz",
				f, lo, hi);
	case SAFETY_REASON_BELOW_BAND:
		return snprintf(buf, size,
				"%s Hz is below this station's band of %s-%s Hz",
				f, lo, hi);
	case SAFETY_REASON_INTENSITY:
		return snprintf(buf, size,
				"intensity %u.%u %% is above this station's limit of %u.%u %%",
				intensity_permille / 10u,
				intensity_permille % 10u,
				l->max_intensity_permille / 10u,
				l->max_intensity_permille % 10u);
	default:
		return snprintf(buf, size, "%s",
				safety_reason_to_string(reason));
	}
}

/*
 * e^-x for x >= 0 without libm: halve the argument until it is small, a
 * Taylor polynomial there, then square back.  Relative error ~1e-12.
 */
static double exp_neg(double x)
{
	unsigned int halvings = 0;
	double r;

	if (!(x >= 0.0))
		return 1.0;
	if (x > 700.0)
		return 0.0;
	while (x > 0.125) {
		x /= 2.0;
		halvings++;
	}
	r = 1.0 - x * (1.0 - x / 2.0 * (1.0 - x / 3.0 * (1.0 - x / 4.0 *
	    (1.0 - x / 5.0 * (1.0 - x / 6.0 * (1.0 - x / 7.0 *
	    (1.0 - x / 8.0)))))));
	while (halvings--)
		r *= r;
	return r;
}

/* ln(x) for x >= 1 without libm: x = 2^k * m, ln m = 2 atanh((m-1)/(m+1)). */
static double ln_ge1(double x)
{
	const double ln2 = 0.69314718055994530942;
	unsigned int k = 0;
	double z, z2, term, sum = 0.0;

	if (!(x > 1.0))
		return 0.0;
	while (x > 2.0 && k < 2000) {
		x /= 2.0;
		k++;
	}
	z = (x - 1.0) / (x + 1.0);	/* 0 .. 1/3 */
	z2 = z * z;
	term = z;
	for (unsigned int n = 1; n < 60; n += 2) {
		sum += term / n;
		term *= z2;
	}
	return k * ln2 + 2.0 * sum;
}

static double thermal_budget_ms(const struct safety_limits *l)
{
	double tau = l->thermal_tau_ms;

	return tau * (1.0 - exp_neg((double)l->thermal_trip_full_ms / tau));
}

static double thermal_resume_ms(const struct safety_limits *l,
				double budget_ms)
{
	return budget_ms * l->thermal_resume_permille / SAFETY_PERMILLE_MAX;
}

static uint64_t ms_ceil(double ms)
{
	if (!(ms > 0.0))
		return 0;
	if (ms >= 1.8e19)
		return UINT64_MAX;
	return (uint64_t)ms + ((double)(uint64_t)ms < ms ? 1 : 0);
}

void safety_thermal_init(struct safety_thermal *t)
{
	*t = (struct safety_thermal){ 0 };
}

/*
 * The thermal functions with the budget given: it depends on the limits
 * alone and costs an exp_neg() of a large argument, so the monitor keeps
 * it rather than computing it three times a record.
 */
static bool thermal_update(struct safety_thermal *t,
			   const struct safety_limits *l, double budget_ms,
			   uint32_t drive_permille, uint64_t dt_ns)
{
	double tau = l->thermal_tau_ms, d, steady, decay;

	if (drive_permille > SAFETY_PERMILLE_MAX)
		drive_permille = SAFETY_PERMILLE_MAX;
	d = (double)drive_permille / SAFETY_PERMILLE_MAX;
	steady = d * d * tau;
	/* Exact solution for constant drive over dt: no step-size error. */
	decay = exp_neg((double)dt_ns / NSEC_PER_MSEC / tau);
	t->heat_ms = steady + (t->heat_ms - steady) * decay;
	if (t->heat_ms < 0.0)
		t->heat_ms = 0.0;

	if (t->heat_ms >= budget_ms)
		t->tripped = true;
	else if (t->tripped && t->heat_ms <= thermal_resume_ms(l, budget_ms))
		t->tripped = false;
	return t->tripped;
}

static uint32_t thermal_headroom_permille(const struct safety_thermal *t,
					  double budget_ms)
{
	double left;

	if (t->tripped || t->heat_ms >= budget_ms)
		return 0;
	left = (budget_ms - t->heat_ms) / budget_ms * SAFETY_PERMILLE_MAX;
	if (left > SAFETY_PERMILLE_MAX)
		return SAFETY_PERMILLE_MAX;
	return (uint32_t)left;
}

static uint64_t thermal_cooldown_ms(const struct safety_thermal *t,
				    const struct safety_limits *l,
				    double budget_ms)
{
	double resume;

	if (!t->tripped)
		return 0;
	resume = thermal_resume_ms(l, budget_ms);
	if (t->heat_ms <= resume)
		return 0;
	/* heat(t) = heat0 e^(-t/tau) falls to resume at: */
	return ms_ceil(l->thermal_tau_ms * ln_ge1(t->heat_ms / resume));
}

bool safety_thermal_update(struct safety_thermal *t,
			   const struct safety_limits *l,
			   uint32_t drive_permille, uint64_t dt_ns)
{
	return thermal_update(t, l, thermal_budget_ms(l), drive_permille,
			      dt_ns);
}

void safety_thermal_assume_hot(struct safety_thermal *t,
			       const struct safety_limits *l)
{
	t->heat_ms = thermal_budget_ms(l);
	t->tripped = true;
}

uint32_t safety_thermal_headroom_permille(const struct safety_thermal *t,
					  const struct safety_limits *l)
{
	return thermal_headroom_permille(t, thermal_budget_ms(l));
}

uint64_t safety_thermal_full_drive_left_ms(const struct safety_thermal *t,
					   const struct safety_limits *l)
{
	double tau = l->thermal_tau_ms, budget = thermal_budget_ms(l);

	if (t->tripped || t->heat_ms >= budget)
		return 0;
	/* heat(t) = tau + (heat0 - tau) e^(-t/tau) reaches budget at: */
	return (uint64_t)(tau * ln_ge1((tau - t->heat_ms) / (tau - budget)));
}

uint64_t safety_thermal_cooldown_ms(const struct safety_thermal *t,
				    const struct safety_limits *l)
{
	return thermal_cooldown_ms(t, l, thermal_budget_ms(l));
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t ms_to_ns(uint32_t ms)
{
	return (uint64_t)ms * NSEC_PER_MSEC;
}

/* Has @since + @len_ns passed at @now? Safe at the ends of uint64_t. */
static bool elapsed(uint64_t now, uint64_t since, uint64_t len_ns)
{
	return now >= since && now - since >= len_ns;
}

static uint64_t left_ms(uint64_t cap_ms, uint64_t used_ns)
{
	uint64_t used_ms = used_ns / NSEC_PER_MSEC;

	return used_ms >= cap_ms ? 0 : cap_ms - used_ms;
}

int safety_monitor_init(struct safety_monitor *m,
			const struct safety_limits *l)
{
	int r;

	if (!m)
		return -EINVAL;
	r = safety_limits_validate(l, NULL);
	if (r < 0)
		return -EINVAL;

	*m = (struct safety_monitor){ .limits = *l };
	safety_thermal_init(&m->thermal);
	return 0;
}

/* thermal_budget_ms() of the monitor's limits, again only if they change */
static double monitor_budget_ms(struct safety_monitor *m)
{
	const struct safety_limits *l = &m->limits;

	if (m->budget_tau_ms != l->thermal_tau_ms ||
	    m->budget_trip_full_ms != l->thermal_trip_full_ms) {
		m->budget_ms = thermal_budget_ms(l);
		m->budget_tau_ms = l->thermal_tau_ms;
		m->budget_trip_full_ms = l->thermal_trip_full_ms;
	}
	return m->budget_ms;
}

static void latch(struct safety_monitor *m, enum safety_reason reason,
		  uint64_t now_ns)
{
	if (m->latched)
		return;
	m->latched = true;
	m->latched_reason = reason;
	m->latched_at_ns = now_ns;
}

static bool usable_estimate(const struct safety_input *in)
{
	return in->estimate_valid &&
	       !(in->estimate_flags & (SAFETY_EST_WARMING_UP |
				       SAFETY_EST_NO_VIBRATION |
				       SAFETY_EST_STUCK));
}

int safety_evaluate(struct safety_monitor *m, const struct safety_input *in,
		    struct safety_verdict *ret)
{
	const struct safety_limits *l;
	enum safety_reason pause_reason = SAFETY_REASON_NONE;
	bool pause = false, newly_tripped, was_tripped;
	uint64_t now, dt_ns = 0;
	double budget_ms;

	if (!m || !in) {
		if (ret)
			*ret = (struct safety_verdict){
				.action = SAFETY_STOP,
				.reason = SAFETY_REASON_NONE,
			};
		return -EINVAL;
	}
	l = &m->limits;
	now = in->now_ns;

	/* Time. */
	if (m->have_time && now < m->last_ns) {
		latch(m, SAFETY_REASON_CLOCK, now);
	} else {
		if (m->have_time)
			dt_ns = now - m->last_ns;
		m->last_ns = now;
		m->have_time = true;
	}

	/* What happened since the last tick, at the drive it had. */
	was_tripped = m->thermal.tripped;
	budget_ms = monitor_budget_ms(m);
	thermal_update(&m->thermal, l, budget_ms,
		       m->was_driving ? m->last_duty_permille : 0, dt_ns);
	newly_tripped = m->thermal.tripped && !was_tripped;
	if (m->was_driving) {
		m->site_drive_ns = add_sat(m->site_drive_ns, dt_ns);
		m->session_drive_ns = add_sat(m->session_drive_ns, dt_ns);
	}

	if (in->driving && !m->was_driving) {
		m->drive_start_ns = now;
		m->last_good_ns = now;
		m->stalling = false;
	}

	/* Order matters only for which reason latches first. */
	m->estop_asserted = in->kernel_estop;
	if (in->kernel_estop)
		latch(m, SAFETY_REASON_ESTOP, now);
	if (in->kernel_watchdog_trip)
		latch(m, SAFETY_REASON_WATCHDOG, now);
	if (m->was_driving && dt_ns > ms_to_ns(l->sensor_loss_ms))
		latch(m, SAFETY_REASON_SUPERVISION_GAP, now);

	if (newly_tripped)
		latch(m, SAFETY_REASON_THERMAL, now);
	else if (m->thermal.tripped && in->driving)
		latch(m, SAFETY_REASON_THERMAL_LOCKOUT, now);

	if (in->driving && in->stall_detected) {
		if (!m->stalling) {
			m->stalling = true;
			m->stall_since_ns = now;
		}
		if (elapsed(now, m->stall_since_ns, ms_to_ns(l->stall_ms)))
			latch(m, SAFETY_REASON_STALL, now);
	} else {
		m->stalling = false;
	}

	if (in->driving && (in->estimate_flags & SAFETY_EST_STUCK))
		latch(m, SAFETY_REASON_SENSOR_STUCK, now);

	if (in->driving) {
		uint64_t base = add_sat(m->drive_start_ns,
					ms_to_ns(l->warmup_ms));

		if (usable_estimate(in))
			m->last_good_ns = now;
		if (m->last_good_ns > base)
			base = m->last_good_ns;
		if (elapsed(now, base, ms_to_ns(l->sensor_loss_ms)))
			latch(m, in->estimate_flags & SAFETY_EST_NO_VIBRATION ?
					 SAFETY_REASON_NO_VIBRATION :
					 SAFETY_REASON_SENSOR_LOSS,
			      now);
	}

	/* A runaway shows even when the daemon believes it is not driving. */
	if (in->estimate_valid && !(in->estimate_flags & SAFETY_EST_STUCK) &&
	    in->freq_mhz > SAFETY_ABS_MAX_FREQ_MHZ) {
		if (!m->overspeed) {
			m->overspeed = true;
			m->overspeed_since_ns = now;
		}
		if (elapsed(now, m->overspeed_since_ns,
			    ms_to_ns(l->overspeed_grace_ms)))
			latch(m, SAFETY_REASON_OVERSPEED, now);
	} else {
		m->overspeed = false;
	}

	if (in->driving || m->was_driving) {
		if (m->site_drive_ns >= ms_to_ns(l->max_continuous_site_ms))
			latch(m, SAFETY_REASON_SITE_CAP, now);
		if (m->session_drive_ns >= ms_to_ns(l->max_session_ms))
			latch(m, SAFETY_REASON_SESSION_CAP, now);
	}

	if (in->driving && !in->in_contact) {
		if (l->lost_contact_pause)
			pause = true;
		else
			latch(m, SAFETY_REASON_LOST_CONTACT, now);
	}
	if (in->driving && in->target_unreachable && !pause &&
	    safety_unreachable_action(l, in->held_mhz) == SAFETY_PAUSE)
		pause_reason = SAFETY_REASON_TARGET_UNREACHABLE;

	m->was_driving = in->driving;
	m->last_duty_permille = in->duty_permille > SAFETY_PERMILLE_MAX ?
					SAFETY_PERMILLE_MAX :
					in->duty_permille;

	if (ret) {
		*ret = (struct safety_verdict){
			.action = SAFETY_OK,
			.reason = SAFETY_REASON_NONE,
			.thermal_headroom_permille =
				thermal_headroom_permille(&m->thermal,
							  budget_ms),
			.thermal_cooldown_ms =
				thermal_cooldown_ms(&m->thermal, l, budget_ms),
			.site_left_ms = left_ms(l->max_continuous_site_ms,
						m->site_drive_ns),
			.session_left_ms = left_ms(l->max_session_ms,
						   m->session_drive_ns),
		};
		if (m->latched) {
			ret->action = SAFETY_STOP;
			ret->reason = m->latched_reason;
		} else if (pause) {
			ret->action = SAFETY_PAUSE;
			ret->reason = SAFETY_REASON_LOST_CONTACT;
		} else if (pause_reason != SAFETY_REASON_NONE) {
			ret->action = SAFETY_PAUSE;
			ret->reason = pause_reason;
		}
	}
	return 0;
}

enum safety_action safety_unreachable_action(const struct safety_limits *l,
					     uint32_t held_mhz)
{
	/*
	 * Short of the prescription but within the band is still the
	 * relaxing band, at less intensity than prescribed (the amplitude
	 * goes with w^2): going on treats the patient, and the report keeps
	 * the record true. Below the band's floor it is no therapy setting
	 * any more; a person lightens the press and resumes.
	 */
	return held_mhz >= l->min_freq_mhz ? SAFETY_OK : SAFETY_PAUSE;
}

int safety_acknowledge(struct safety_monitor *m)
{
	if (!m)
		return -EINVAL;
	if (m->estop_asserted)
		return -EBUSY;
	m->latched = false;
	m->latched_reason = SAFETY_REASON_NONE;
	m->stalling = false;
	m->overspeed = false;
	return 0;
}

int safety_may_start(const struct safety_monitor *m,
		     enum safety_reason *ret_reason)
{
	enum safety_reason reason = SAFETY_REASON_NONE;
	int r = 0;

	if (!m)
		return -EINVAL;

	if (m->latched) {
		reason = m->latched_reason;
		r = -EPERM;
	} else if (m->estop_asserted) {
		reason = SAFETY_REASON_ESTOP;
		r = -EBUSY;
	} else if (m->thermal.tripped) {
		reason = SAFETY_REASON_THERMAL_LOCKOUT;
		r = -EAGAIN;
	} else if (m->site_drive_ns >=
		   ms_to_ns(m->limits.max_continuous_site_ms)) {
		reason = SAFETY_REASON_SITE_CAP;
		r = -ETIME;
	} else if (m->session_drive_ns >= ms_to_ns(m->limits.max_session_ms)) {
		reason = SAFETY_REASON_SESSION_CAP;
		r = -ETIME;
	}

	if (ret_reason)
		*ret_reason = reason;
	return r;
}

void safety_monitor_site_changed(struct safety_monitor *m)
{
	m->site_drive_ns = 0;
}

void safety_monitor_session_begin(struct safety_monitor *m)
{
	m->site_drive_ns = 0;
	m->session_drive_ns = 0;
}

void safety_monitor_assume_hot(struct safety_monitor *m)
{
	safety_thermal_assume_hot(&m->thermal, &m->limits);
}
