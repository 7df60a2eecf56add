// SPDX-License-Identifier: MIT
/*
 * observer.c - rotor speed and load from the drive and the estimator
 */
#include <errno.h>
#include <math.h>

#include "observer.h"

void observer_config_default(struct observer_config *cfg)
{
	*cfg = (struct observer_config) {
		.tau_s = 0.05,
		.delay_s = 0.018,
		.speed_gain_per_s = 120,
		.load_gain_per_s2 = 1500,
		.stderr_ref_hz = 0,
		.load_max_hz_s = 2000,
	};
}

int observer_init(struct observer *o, const struct observer_config *cfg)
{
	if (!isfinite(cfg->tau_s) || !(cfg->tau_s > 0) || cfg->tau_s > 1 ||
	    !isfinite(cfg->delay_s) || !(cfg->delay_s >= 0) ||
	    cfg->delay_s > 0.5 || !isfinite(cfg->speed_gain_per_s) ||
	    !(cfg->speed_gain_per_s >= 0) ||
	    !isfinite(cfg->load_gain_per_s2) ||
	    !(cfg->load_gain_per_s2 >= 0) ||
	    !isfinite(cfg->stderr_ref_hz) || !(cfg->stderr_ref_hz >= 0) ||
	    !isfinite(cfg->load_max_hz_s) || !(cfg->load_max_hz_s > 0))
		return -EINVAL;
	*o = (struct observer) { .cfg = *cfg, .gain_scale = 1 };
	return 0;
}

void observer_reset(struct observer *o, double speed_hz)
{
	o->speed_hz = isfinite(speed_hz) && speed_hz > 0 ? speed_hz : 0;
	o->load_hz_s = 0;
	o->shift_hz = 0;
	o->head = 0;
	o->filled = 0;
	o->dt_s = 0;
}

void observer_predict(struct observer *o, double free_hz, double dt_s)
{
	double target, k;

	if (!isfinite(dt_s) || !(dt_s > 0))
		return;
	if (!isfinite(free_hz) || free_hz < 0)
		free_hz = 0;
	o->dt_s = dt_s;
	/* exact for a constant drive over the step */
	target = free_hz - o->cfg.tau_s * o->load_hz_s;
	k = -expm1(-dt_s / o->cfg.tau_s);
	o->speed_hz += (target - o->speed_hz) * k;
	/* a load only brakes: it cannot turn the rotor backwards */
	if (o->speed_hz < 0)
		o->speed_hz = 0;
	o->history[o->head] = o->speed_hz - o->shift_hz;
	o->head = (o->head + 1) % OBSERVER_HISTORY;
	if (o->filled < OBSERVER_HISTORY)
		o->filled++;
}

/* Speed the observer held @age_s ago, as corrected since. */
static double observer_past_hz(const struct observer *o, double age_s)
{
	double steps, frac, a, b;
	unsigned int n, i0, i1;

	if (!o->filled || !(o->dt_s > 0))
		return o->speed_hz;
	steps = age_s / o->dt_s;
	if (!(steps < o->filled - 1))
		steps = o->filled - 1;
	n = (unsigned int)steps;
	frac = steps - n;
	/* history[head - 1] is now, history[head - 1 - n] is n steps ago */
	i0 = (o->head + 2 * OBSERVER_HISTORY - 1 - n) % OBSERVER_HISTORY;
	i1 = (i0 + OBSERVER_HISTORY - 1) % OBSERVER_HISTORY;
	a = o->history[i0];
	b = n + 1 < o->filled ? o->history[i1] : a;
	return a + (b - a) * frac + o->shift_hz;
}

double observer_correct(struct observer *o, double measured_hz,
			double stderr_hz)
{
	double innov, w = 1, ref = o->cfg.stderr_ref_hz, dt = o->dt_s, ds, dl;

	if (!isfinite(measured_hz) || !(dt > 0))
		return 0;
	innov = measured_hz - observer_past_hz(o, o->cfg.delay_s);
	if (ref > 0 && isfinite(stderr_hz) && stderr_hz > 0)
		w = ref * ref / (ref * ref + stderr_hz * stderr_hz);
	ds = w * o->gain_scale * o->cfg.speed_gain_per_s * dt * innov;
	if (ds > innov && innov > 0)
		ds = innov;
	if (ds < innov && innov < 0)
		ds = innov;
	o->speed_hz += ds;
	o->shift_hz += ds;
	/* the load gain grows slower than a pair of fixed damping would
	 * (scale^2): at scale^2 the load overshot after a lift-off, when the
	 * head's ringing has misled the readings
	 */
	dl = -w * o->gain_scale * sqrt(o->gain_scale) *
	     o->cfg.load_gain_per_s2 * dt * innov;
	if (!((dl > 0 && o->hold_rise) || (dl < 0 && o->hold_fall)))
		o->load_hz_s += dl;
	if (o->load_hz_s > o->cfg.load_max_hz_s)
		o->load_hz_s = o->cfg.load_max_hz_s;
	if (o->load_hz_s < -o->cfg.load_max_hz_s)
		o->load_hz_s = -o->cfg.load_max_hz_s;
	return innov;
}

void observer_hold_load(struct observer *o, bool rise, bool fall)
{
	o->hold_rise = rise;
	o->hold_fall = fall;
}

void observer_set_gain_scale(struct observer *o, double scale)
{
	o->gain_scale = isfinite(scale) && scale > 1 ? scale : 1;
}

double observer_free_speed_for(const struct observer *o, double speed_hz)
{
	return speed_hz + o->cfg.tau_s * o->load_hz_s;
}
