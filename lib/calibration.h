/* SPDX-License-Identifier: MIT */
/*
 * calibration.h - the measured duty -> frequency curve of one massager
 *
 * Feedforward is only as good as this curve, and motors differ by tens of
 * percent, so it is measured on the device, in free air, never assumed:
 * calibration_run drives a staircase of duties, waits for each to settle,
 * averages the estimator's frequency and amplitude, and fits a monotone
 * piecewise-linear curve. The free-air amplitude it records is what
 * contact detection compares against.
 */
#ifndef MASSAGED_CALIBRATION_H
#define MASSAGED_CALIBRATION_H

#include <stdbool.h>
#include <stdint.h>

#define CALIBRATION_POINTS_MAX	32
/* settle-phase readings kept per step to time its response */
#define CALIBRATION_TRACE_MAX	256
#define CALIBRATION_TRACE_S	0.005

struct calibration_point {
	double duty;		/* 0 .. 1 */
	double freq_hz;		/* measured, 0 where the motor did not turn */
	double amplitude_ms2;	/* measured free-air RMS */
};

struct calibration {
	unsigned int n_points;
	struct calibration_point pt[CALIBRATION_POINTS_MAX];
	/* mechanical time constant from the staircase's step responses (as
	 * the estimator sees them, so including its lag); 0 if not measured
	 */
	double tau_s;
};

/* 0; -EINVAL for fewer than two spinning points, duty not ascending, or
 * frequency not rising with duty where the motor turns.
 */
int calibration_validate(const struct calibration *cal);
/* Duty that gives @freq_hz in free air, clamped to the curve's ends. */
double calibration_duty_for(const struct calibration *cal, double freq_hz);
/* Free-air frequency at @duty. */
double calibration_freq_at(const struct calibration *cal, double duty);
/* Free-air RMS amplitude expected at @freq_hz (m e w^2 beyond the curve). */
double calibration_amplitude_at(const struct calibration *cal, double freq_hz);
/* Lowest frequency at which the motor turned, 0 if none. */
double calibration_min_freq_hz(const struct calibration *cal);
/* Highest frequency the curve reaches. */
double calibration_max_freq_hz(const struct calibration *cal);

struct calibration_config {
	unsigned int n_points;	/* 4 .. CALIBRATION_POINTS_MAX */
	double duty_min;	/* first step, 0 < duty_min < duty_max */
	double duty_max;	/* last step, <= 1 */
	double settle_s;	/* wait per step before measuring */
	double measure_s;	/* averaging time per step */
};

enum calibration_phase {
	CALIBRATION_SETTLING,
	CALIBRATION_MEASURING,
	CALIBRATION_DONE,
	CALIBRATION_FAILED,
};

struct calibration_run {
	struct calibration_config cfg;
	enum calibration_phase phase;
	int error;		/* why it failed, once CALIBRATION_FAILED */
	unsigned int step;
	double t_s;
	double sum_freq, sum_amp;
	unsigned int n_valid, n_seen;
	/* the step response of the present step, one reading per 5 ms */
	double trace_hz[CALIBRATION_TRACE_MAX];
	unsigned int n_trace;
	double trace_t_s;
	double tau_sum_s;
	unsigned int n_tau;
	struct calibration result;
};

void calibration_config_default(struct calibration_config *cfg);
/* 0, or -EINVAL on a bad @cfg. */
int calibration_run_init(struct calibration_run *run,
			 const struct calibration_config *cfg);
/*
 * Feed one control period: @dt_s since the last call and the estimator's
 * reading. Sets *ret_duty to drive next. Returns 0 while running, 1 when
 * the result is ready (calibration_run.result), -EIO when the sensor gave
 * no valid reading at full drive, -ERANGE when the measured curve is not
 * monotone. On 1 or an error *ret_duty is 0.
 */
int calibration_run_step(struct calibration_run *run, double dt_s,
			 double freq_hz, double amplitude_ms2, bool valid,
			 double *ret_duty);
/* Total time the procedure takes, for progress reporting. */
double calibration_run_total_s(const struct calibration_config *cfg);

#endif
