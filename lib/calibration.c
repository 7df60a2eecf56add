// SPDX-License-Identifier: MIT
/*
 * calibration.c - measure and use the duty -> frequency curve
 */
#include <errno.h>
#include <math.h>

#include "calibration.h"

/* First point at which the motor turns: the curve below it is flat. */
static unsigned int calibration_first_spinning(const struct calibration *cal)
{
	unsigned int i;

	for (i = 0; i < cal->n_points; i++)
		if (cal->pt[i].freq_hz > 0)
			return i;
	return cal->n_points;
}

int calibration_validate(const struct calibration *cal)
{
	unsigned int i, first;

	if (cal->n_points < 2 || cal->n_points > CALIBRATION_POINTS_MAX)
		return -EINVAL;
	for (i = 0; i < cal->n_points; i++) {
		const struct calibration_point *p = &cal->pt[i];

		if (!isfinite(p->duty) || !isfinite(p->freq_hz) ||
		    !isfinite(cal->tau_s) || cal->tau_s < 0 || cal->tau_s > 1 ||
		    !isfinite(p->amplitude_ms2) || p->duty < 0 || p->duty > 1 ||
		    p->freq_hz < 0 || p->amplitude_ms2 < 0)
			return -EINVAL;
		if (i && p->duty <= cal->pt[i - 1].duty)
			return -EINVAL;
	}
	first = calibration_first_spinning(cal);
	if (cal->n_points - first < 2)
		return -EINVAL;
	for (i = first + 1; i < cal->n_points; i++)
		if (cal->pt[i].freq_hz <= cal->pt[i - 1].freq_hz)
			return -EINVAL;
	return 0;
}

static double lerp(double x, double x0, double x1, double y0, double y1)
{
	return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

double calibration_duty_for(const struct calibration *cal, double freq_hz)
{
	unsigned int i = calibration_first_spinning(cal);
	const struct calibration_point *pt = cal->pt;

	if (i + 1 >= cal->n_points)
		return 0;
	if (freq_hz <= pt[i].freq_hz)
		return pt[i].duty;
	for (; i + 1 < cal->n_points; i++)
		if (freq_hz <= pt[i + 1].freq_hz)
			return lerp(freq_hz, pt[i].freq_hz, pt[i + 1].freq_hz,
				    pt[i].duty, pt[i + 1].duty);
	return pt[cal->n_points - 1].duty;
}

double calibration_freq_at(const struct calibration *cal, double duty)
{
	const struct calibration_point *pt = cal->pt;
	unsigned int i;

	if (!cal->n_points || duty <= pt[0].duty)
		return cal->n_points ? pt[0].freq_hz : 0;
	for (i = 0; i + 1 < cal->n_points; i++)
		if (duty <= pt[i + 1].duty)
			return lerp(duty, pt[i].duty, pt[i + 1].duty,
				    pt[i].freq_hz, pt[i + 1].freq_hz);
	return pt[cal->n_points - 1].freq_hz;
}

double calibration_amplitude_at(const struct calibration *cal, double freq_hz)
{
	unsigned int i = calibration_first_spinning(cal);
	const struct calibration_point *pt = cal->pt, *last;

	if (i >= cal->n_points)
		return 0;
	/* outside the curve the force, and so the amplitude, goes with w^2 */
	if (freq_hz <= pt[i].freq_hz)
		return pt[i].amplitude_ms2 * pow(freq_hz / pt[i].freq_hz, 2);
	for (; i + 1 < cal->n_points; i++)
		if (freq_hz <= pt[i + 1].freq_hz)
			return lerp(freq_hz, pt[i].freq_hz, pt[i + 1].freq_hz,
				    pt[i].amplitude_ms2, pt[i + 1].amplitude_ms2);
	last = &pt[cal->n_points - 1];
	return last->amplitude_ms2 * pow(freq_hz / last->freq_hz, 2);
}

double calibration_min_freq_hz(const struct calibration *cal)
{
	unsigned int i = calibration_first_spinning(cal);

	return i < cal->n_points ? cal->pt[i].freq_hz : 0;
}

double calibration_max_freq_hz(const struct calibration *cal)
{
	return cal->n_points ? cal->pt[cal->n_points - 1].freq_hz : 0;
}

void calibration_config_default(struct calibration_config *cfg)
{
	*cfg = (struct calibration_config) {
		.n_points = 12,
		.duty_min = 0.12,
		.duty_max = 1.0,
		.settle_s = 0.4,	/* 8 mechanical time constants */
		.measure_s = 0.3,
	};
}

int calibration_run_init(struct calibration_run *run,
			 const struct calibration_config *cfg)
{
	if (cfg->n_points < 4 || cfg->n_points > CALIBRATION_POINTS_MAX ||
	    !(cfg->duty_min > 0) || !(cfg->duty_max <= 1) ||
	    !(cfg->duty_min < cfg->duty_max) || !(cfg->settle_s >= 0.05) ||
	    !(cfg->measure_s >= 0.05) || cfg->settle_s > 10 ||
	    cfg->measure_s > 10)
		return -EINVAL;
	*run = (struct calibration_run) { .cfg = *cfg };
	return 0;
}

double calibration_run_total_s(const struct calibration_config *cfg)
{
	return cfg->n_points * (cfg->settle_s + cfg->measure_s);
}

static double calibration_step_duty(const struct calibration_run *run)
{
	const struct calibration_config *c = &run->cfg;

	return c->duty_min + (c->duty_max - c->duty_min) * run->step /
				     (c->n_points - 1);
}

/* Keep one reading per CALIBRATION_TRACE_S of the settle phase. */
static void calibration_trace(struct calibration_run *run, double freq_hz,
			      bool valid)
{
	if (run->t_s < run->trace_t_s ||
	    run->n_trace >= CALIBRATION_TRACE_MAX)
		return;
	run->trace_hz[run->n_trace++] = valid ? freq_hz : NAN;
	run->trace_t_s += CALIBRATION_TRACE_S;
}

/*
 * Time constant of the step just measured: when the speed first got 63.2 %
 * of the way from the previous point to this one. Only steps between two
 * spinning points with a clear change count.
 */
static void calibration_time_step(struct calibration_run *run)
{
	const struct calibration_point *prev, *now;
	double mark;
	unsigned int i;

	if (!run->step)
		return;
	prev = &run->result.pt[run->step - 1];
	now = &run->result.pt[run->step];
	if (prev->freq_hz <= 0 || now->freq_hz - prev->freq_hz < 2)
		return;
	mark = prev->freq_hz + 0.632 * (now->freq_hz - prev->freq_hz);
	for (i = 0; i < run->n_trace; i++) {
		if (run->trace_hz[i] >= mark) {
			run->tau_sum_s += i * CALIBRATION_TRACE_S;
			run->n_tau++;
			return;
		}
	}
}

int calibration_run_step(struct calibration_run *run, double dt_s,
			 double freq_hz, double amplitude_ms2, bool valid,
			 double *ret_duty)
{
	struct calibration_point *pt;

	*ret_duty = 0;
	if (run->phase == CALIBRATION_DONE)
		return 1;
	if (run->phase == CALIBRATION_FAILED)
		return run->error;
	if (!(dt_s >= 0) || dt_s > 1)
		dt_s = 0;

	run->t_s += dt_s;
	if (run->phase == CALIBRATION_SETTLING) {
		calibration_trace(run, freq_hz, valid);
		if (run->t_s >= run->cfg.settle_s) {
			run->phase = CALIBRATION_MEASURING;
			run->t_s = 0;
			run->sum_freq = run->sum_amp = 0;
			run->n_valid = run->n_seen = 0;
		}
		*ret_duty = calibration_step_duty(run);
		return 0;
	}

	run->n_seen++;
	if (valid) {
		run->sum_freq += freq_hz;
		run->sum_amp += amplitude_ms2;
		run->n_valid++;
	}
	if (run->t_s < run->cfg.measure_s) {
		*ret_duty = calibration_step_duty(run);
		return 0;
	}

	pt = &run->result.pt[run->step];
	pt->duty = calibration_step_duty(run);
	/* a step where most readings are invalid did not turn the motor */
	if (run->n_valid * 2 > run->n_seen) {
		pt->freq_hz = run->sum_freq / run->n_valid;
		pt->amplitude_ms2 = run->sum_amp / run->n_valid;
	} else {
		pt->freq_hz = 0;
		pt->amplitude_ms2 = 0;
	}
	calibration_time_step(run);
	run->result.n_points = ++run->step;
	run->t_s = 0;
	run->n_trace = 0;
	run->trace_t_s = 0;

	if (run->step < run->cfg.n_points) {
		run->phase = CALIBRATION_SETTLING;
		*ret_duty = calibration_step_duty(run);
		return 0;
	}
	if (pt->freq_hz <= 0)
		run->error = -EIO;
	else if (calibration_validate(&run->result) < 0)
		run->error = -ERANGE;
	if (run->error < 0) {
		run->phase = CALIBRATION_FAILED;
		return run->error;
	}
	run->result.tau_s = run->n_tau ? run->tau_sum_s / run->n_tau : 0;
	run->phase = CALIBRATION_DONE;
	return 1;
}
