// SPDX-License-Identifier: MIT
/*
 * control-sim.c - the control chain closed in simulated time
 */
#include <errno.h>
#include <stddef.h>

#include "control-sim.h"

#define PERIOD_NS	(1000000000u / CONTROL_SIM_RATE_HZ)

uint32_t control_sim_sample_hz = CONTROL_SIM_SAMPLE_HZ;

int control_sim_init(struct control_sim *s, const struct plant_params *params,
		     uint64_t seed)
{
	struct estimator_config ec;
	struct plant_params def;
	int r;

	if (!params) {
		plant_params_default(&def);
		params = &def;
	}
	*s = (struct control_sim) { 0 };
	r = plant_init(&s->plant, params, seed);
	if (r < 0)
		return r;
	s->sample_hz = control_sim_sample_hz;
	estimator_config_default(&ec, s->sample_hz);
	ec.window_samples = controller_window_samples(s->sample_hz);
	ec.lsb_ug = CONTROL_SIM_LSB_UG;
	ec.range_lsb = CONTROL_SIM_RANGE_LSB;
	return estimator_init(&s->est, &ec);
}

static void control_sim_sense(struct control_sim *s)
{
	estimator_read(&s->est, &s->last);
}

/* Drive for one loop period, sampling the accelerometer at its own rate. */
static void control_sim_drive(struct control_sim *s, double duty)
{
	struct plant_sample smp;
	uint32_t left = PERIOD_NS, dt;

	plant_set_drive(&s->plant, (uint32_t)(duty * PLANT_DUTY_MAX_PPM + 0.5),
			duty > 0);
	/* sample_phase counts in 1/sample_hz ns units */
	while (left) {
		dt = (1000000000u - s->sample_phase) / s->sample_hz;
		if (dt == 0)
			dt = 1;
		if (dt > left)
			dt = left;
		plant_advance(&s->plant, dt);
		left -= dt;
		s->sample_phase += dt * s->sample_hz;
		if (s->sample_phase >= 1000000000u) {
			s->sample_phase -= 1000000000u;
			if (plant_sample(&s->plant, &smp) == 0)
				estimator_feed(&s->est, smp.x, smp.y, smp.z);
		}
	}
}

int control_sim_calibrate(struct control_sim *s, struct calibration *ret)
{
	struct calibration_config cfg;
	struct calibration_run run;
	double duty = 0;
	int r;

	calibration_config_default(&cfg);
	r = calibration_run_init(&run, &cfg);
	if (r < 0)
		return r;
	for (;;) {
		control_sim_sense(s);
		r = calibration_run_step(&run, 1.0 / CONTROL_SIM_RATE_HZ,
					 s->last.freq_hz,
					 s->last.amplitude_ms2,
					 estimate_valid(&s->last), &duty);
		if (r != 0)
			break;
		control_sim_drive(s, duty);
	}
	control_sim_drive(s, 0);
	if (r < 0)
		return r;
	*ret = run.result;
	return 0;
}

int control_sim_start(struct control_sim *s, const struct calibration *cal,
		      const struct controller_config *cfg, double freq_hz)
{
	struct controller_config def;
	int r;

	if (!cfg) {
		controller_config_default(&def);
		cfg = &def;
	}
	r = controller_init(&s->ctl, cfg, cal);
	if (r < 0)
		return r;
	r = controller_set_target(&s->ctl, freq_hz);
	if (r < 0)
		return r;
	controller_start(&s->ctl, control_sim_freq_hz(s));
	s->closed_loop = true;
	return 0;
}

void control_sim_tick(struct control_sim *s)
{
	struct controller_input in;

	control_sim_sense(s);
	in = (struct controller_input) {
		.dt_s = 1.0 / CONTROL_SIM_RATE_HZ,
		.freq_hz = s->last.freq_hz,
		.amplitude_ms2 = s->last.amplitude_ms2,
		.amplitude_fast_ms2 = s->last.amplitude_fast_ms2,
		.valid = estimate_valid(&s->last),
		.freq_stderr_hz = s->last.freq_stderr_hz,
	};
	controller_step(&s->ctl, &in, &s->out);
	control_sim_drive(s, s->closed_loop ? s->out.duty : s->open_duty);
}

double control_sim_freq_hz(const struct control_sim *s)
{
	return plant_freq_mhz(&s->plant) / 1000.0;
}
