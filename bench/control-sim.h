/* SPDX-License-Identifier: MIT */
/*
 * control-sim.h - the control chain (plant -> estimator -> controller)
 * closed in simulated time, shared by the control benchmark and the
 * controller's unit tests so that both measure the same loop.
 */
#ifndef MASSAGED_CONTROL_SIM_H
#define MASSAGED_CONTROL_SIM_H

#include "calibration.h"
#include "controller.h"
#include "estimator.h"
#include "plant.h"

#define CONTROL_SIM_RATE_HZ	1000	/* control loop */
#define CONTROL_SIM_SAMPLE_HZ	3200	/* accelerometer, by default */
#define CONTROL_SIM_LSB_UG	3900
#define CONTROL_SIM_RANGE_LSB	4102	/* 16 g */

struct control_sim {
	struct plant plant;
	struct estimator est;
	struct controller ctl;
	struct estimate last;
	struct controller_output out;
	bool closed_loop;	/* false: the drive stays at open_duty */
	double open_duty;
	uint32_t sample_phase;	/* accelerometer clock against the loop's */
	uint32_t sample_hz;	/* accelerometer rate */
};

/*
 * Accelerometer rate of every control_sim_init() that follows, 100..3200
 * Hz (the benchmark's RATE_HZ: a chip's own rate such as the BMI160's
 * 1600 Hz); the estimator window is sized from it as the daemon sizes it.
 */
extern uint32_t control_sim_sample_hz;

/* Plant with @params (NULL = defaults), estimator at the sample rate. */
int control_sim_init(struct control_sim *s, const struct plant_params *params,
		     uint64_t seed);
/* Run the calibration procedure in free air; 0 with @ret filled. */
int control_sim_calibrate(struct control_sim *s, struct calibration *ret);
/* Closed loop from @cal with @cfg (NULL = defaults), target @freq_hz,
 * soft start from the present speed.
 */
int control_sim_start(struct control_sim *s, const struct calibration *cal,
		      const struct controller_config *cfg, double freq_hz);
/* One control period: sample, estimate, control, drive, advance. */
void control_sim_tick(struct control_sim *s);
double control_sim_freq_hz(const struct control_sim *s);

#endif
