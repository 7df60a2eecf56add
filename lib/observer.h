/* SPDX-License-Identifier: MIT */
/*
 * observer.h - rotor speed and load from the known drive and the
 * estimator's (late, sometimes disturbed) frequency reading
 *
 * A two-state predictor-corrector (Luenberger form, Kalman-style weighting
 * of each reading):
 *  - predict: the calibrated first-order motor, d f/dt = (f_free(duty) - f)
 *    / tau - load, with f_free the free-air speed of the duty actually
 *    driven and load the deceleration the calibration does not explain
 *    (tissue drag, a firmer press, a worn or drifted motor);
 *  - correct: the estimator's reading is a least-squares slope over its
 *    window, i.e. the speed about half a window ago, so it is compared with
 *    the observer's own speed that long ago (a short history), not with the
 *    present one. Each reading is weighted by its standard error: while the
 *    head rings (contact, a firmer press) the phase residual rises and the
 *    reading counts for less, and the model carries the speed.
 * The controller closes its loop on observer.speed_hz and feeds the load
 * forward; see docs/control.md.
 *
 * Pure logic: no I/O, no allocation; O(1) per call.
 */
#ifndef MASSAGED_OBSERVER_H
#define MASSAGED_OBSERVER_H

#include <stdbool.h>

/* history of predicted speeds, one per step; longer than any delay used */
#define OBSERVER_HISTORY	64

struct observer_config {
	double tau_s;		/* motor time constant, > 0 */
	double delay_s;		/* age of a reading (half the estimator
				 * window), 0 .. OBSERVER_HISTORY steps
				 */
	double speed_gain_per_s;	/* correction of the speed, 1/s */
	double load_gain_per_s2;	/* correction of the load, 1/s^2 */
	double stderr_ref_hz;	/* a reading with this standard error
				 * counts half; 0 = every reading in full
				 */
	double load_max_hz_s;	/* |load| ceiling, > 0 */
};

struct observer {
	struct observer_config cfg;
	double speed_hz;	/* the rotor's speed now */
	double load_hz_s;	/* unexplained deceleration, Hz/s */
	/* predicted speeds minus the corrections made up to then, so that a
	 * correction shifts the whole remembered trajectory in O(1)
	 */
	double history[OBSERVER_HISTORY];
	double shift_hz;	/* sum of corrections */
	unsigned int head;	/* next slot */
	unsigned int filled;	/* valid history entries */
	double dt_s;		/* of the last prediction */
	bool hold_rise, hold_fall;	/* see observer_hold_load() */
	double gain_scale;	/* see observer_set_gain_scale(), 1 at init */
};

void observer_config_default(struct observer_config *cfg);
/* 0, or -EINVAL for a bad @cfg. */
int observer_init(struct observer *o, const struct observer_config *cfg);
/* Forget everything: the rotor turns at @speed_hz, no load known. */
void observer_reset(struct observer *o, double speed_hz);
/*
 * Advance @dt_s with the drive of the last period, expressed as the
 * free-air speed @free_hz it leads to (from the calibration curve).
 */
void observer_predict(struct observer *o, double free_hz, double dt_s);
/*
 * Take in a valid reading @measured_hz (about delay_s old) with its
 * standard error @stderr_hz (0 = unknown: full weight). Returns the
 * innovation, measured minus expected, in Hz.
 */
double observer_correct(struct observer *o, double measured_hz,
			double stderr_hz);
/*
 * Anti-windup: while the drive is pinned at its ceiling (@rise) or at zero
 * (@fall), the load estimate must not grow (fall) further, as the
 * controller's integral does not: a target the motor cannot reach would
 * otherwise wind the load up, and the drive would stay pinned long after.
 */
void observer_hold_load(struct observer *o, bool rise, bool fall);
/*
 * Scale the correction gains by @scale (>= 1; anything else is taken as
 * 1): the speed gain by @scale, the load gain by @scale^1.5. The
 * controller raises the bandwidth with the vibration frequency, where
 * each turn of the head brings the reading up to date sooner.
 */
void observer_set_gain_scale(struct observer *o, double scale);
/* Free-air speed the drive must aim at to hold @speed_hz under the load. */
double observer_free_speed_for(const struct observer *o, double speed_hz);

#endif
