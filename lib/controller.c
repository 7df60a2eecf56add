// SPDX-License-Identifier: MIT
/*
 * controller.c - feedforward + PI frequency control, contact and stall
 */
#include <errno.h>
#include <math.h>

#include "controller.h"

void controller_config_default(struct controller_config *cfg)
{
	*cfg = (struct controller_config) {
		.kp_per_hz = 0.05,
		.ki_per_hz_s = 0.3,
		.slew_per_s = 50.0,
		.ramp_hz_per_s = 60.0,
		.soft_stop_s = 0.3,
		.duty_max = 1.0,
		.contact_load_hz = 0.6,
		.liftoff_load_hz = 0.3,
		.liftoff_amplitude_ratio = 0.8,
		.contact_s = 0.02,
		.stall_duty = 0.3,
		.stall_ratio = 0.1,
		.stall_s = 0.02,
		.stall_grace_s = 1.0,
		.motor_tau_s = 0.05,
		.use_observer = true,
		.gain_ref_hz = 20,
		.gain_scale_max = 2,
		.unreachable_hz = 0.5,
		.unreachable_s = 0.3,
	};
	observer_config_default(&cfg->observer);
}

static bool positive(double v)
{
	return isfinite(v) && v > 0;
}

int controller_init(struct controller *c, const struct controller_config *cfg,
		    const struct calibration *cal)
{
	struct observer_config obs_cfg;
	int r;

	if (!positive(cfg->slew_per_s) || !positive(cfg->ramp_hz_per_s) ||
	    !positive(cfg->soft_stop_s) || !positive(cfg->duty_max) ||
	    cfg->duty_max > 1 || !(cfg->kp_per_hz >= 0) ||
	    !(cfg->ki_per_hz_s >= 0) || !isfinite(cfg->kp_per_hz) ||
	    !isfinite(cfg->ki_per_hz_s) || !positive(cfg->contact_load_hz) ||
	    !(cfg->liftoff_load_hz <= cfg->contact_load_hz) ||
	    !isfinite(cfg->liftoff_load_hz) || cfg->contact_s > 1 ||
	    !(cfg->liftoff_amplitude_ratio >= 0) ||
	    !(cfg->liftoff_amplitude_ratio <= 1) ||
	    !(cfg->contact_s >= 0) || !(cfg->stall_s >= 0) ||
	    !(cfg->stall_ratio >= 0) || !(cfg->stall_duty >= 0) ||
	    !(cfg->stall_grace_s >= 0) || cfg->stall_grace_s > 10 ||
	    !(cfg->motor_tau_s >= 0) || cfg->motor_tau_s > 1 ||
	    !(cfg->gain_ref_hz >= 0) || !isfinite(cfg->gain_ref_hz) ||
	    !(cfg->gain_scale_max >= 1) || cfg->gain_scale_max > 10 ||
	    !positive(cfg->unreachable_hz) || !positive(cfg->unreachable_s) ||
	    cfg->unreachable_s > 1)
		return -EINVAL;
	r = calibration_validate(cal);
	if (r < 0)
		return r;
	*c = (struct controller) {
		.cfg = *cfg,
		.cal = *cal,
		.min_freq_hz = calibration_min_freq_hz(cal),
	};
	c->min_spin_duty = calibration_duty_for(cal, c->min_freq_hz);
	if (!cfg->use_observer)
		return 0;
	obs_cfg = cfg->observer;
	/* the calibration times the response as the estimator sees it, so
	 * its figure includes the reading's delay
	 */
	if (cal->tau_s > 0)
		obs_cfg.tau_s = fmax(cal->tau_s - obs_cfg.delay_s,
				     cal->tau_s / 2);
	else if (cfg->motor_tau_s > 0)
		obs_cfg.tau_s = cfg->motor_tau_s;
	return observer_init(&c->obs, &obs_cfg);
}

int controller_set_target(struct controller *c, double freq_hz)
{
	if (!isfinite(freq_hz) || freq_hz < 0)
		return -EINVAL;
	if (freq_hz > calibration_max_freq_hz(&c->cal))
		return -ERANGE;
	c->target_hz = freq_hz;
	return 0;
}

int controller_set_duty_max(struct controller *c, double duty_max)
{
	if (!(duty_max > 0) || duty_max > 1)
		return -EINVAL;
	/* takes effect at the next step, through the output's slew limit */
	c->cfg.duty_max = duty_max;
	if (c->integral > duty_max)
		c->integral = duty_max;
	return 0;
}

void controller_start(struct controller *c, double from_hz)
{
	if (c->mode == CONTROLLER_RUNNING)
		return;
	c->mode = CONTROLLER_RUNNING;
	c->reference_hz = isfinite(from_hz) && from_hz > 0 ? from_hz : 0;
	if (c->reference_hz > c->target_hz)
		c->reference_hz = c->target_hz;
	/* the drive goes on from where it is (slew-limited), so a restart
	 * during a soft stop is bumpless; the integral starts afresh
	 */
	c->integral = 0;
	c->stalled = false;
	c->stall_timer_s = 0;
	c->run_s = 0;
	c->seen_valid = false;
	c->seen_spinning = false;
	c->last_valid_hz = 0;
	c->obs_running = false;
	c->unreachable = false;
	c->unreachable_timer_s = 0;
	c->held_hz = 0;
	c->unread_s = 0;
}

void controller_stop(struct controller *c)
{
	if (c->mode == CONTROLLER_RUNNING)
		c->mode = CONTROLLER_STOPPING;
}

void controller_halt(struct controller *c)
{
	c->mode = CONTROLLER_IDLE;
	c->duty = 0;
	c->integral = 0;
}

enum controller_mode controller_mode(const struct controller *c)
{
	return c->mode;
}

/* smoothing of the load's lead (below) and of its output */
#define LOAD_LEAD_TAU_S		0.016
#define LOAD_SMOOTH_TAU_S	0.010
#define CONTACT_SETTLE_S	0.1

static double lowpass(double y, double x, double dt, double tau)
{
	return y + (x - y) * -expm1(-dt / tau);
}

/*
 * Contact from the load, not the amplitude. The calibration says what
 * speed each duty gives in free air, as the estimator reads it (with the
 * time constant it measured, which includes the reading's lag); a model
 * driven by the duty actually commanded follows that, and the reading
 * falls short of it by what a load takes off. A press loads the rotor
 * with its tissue drag: about 2.5 Hz per newton on the nominal motor at
 * any frequency of the band, where the head's amplitude moves by a few
 * per cent at 45 Hz and not monotonically with the press. The shortfall
 * itself settles with the motor's time constant; its lead,
 * (1 + tau s) / (1 + LOAD_LEAD_TAU_S s), is what it settles to, so a
 * lift-off is seen as soon as the rotor speeds up, not once the speed
 * has got there. The loop's own drive does not enter: the model is
 * driven by it as the rotor is. docs/control.md says where this stops
 * working (a supply that sagged since the calibration reads as load).
 */
static void controller_judge_contact(struct controller *c,
				     const struct controller_input *in,
				     double free_hz, double dt)
{
	double tau = c->cal.tau_s > 0 ? c->cal.tau_s : c->cfg.motor_tau_s;
	double shortfall, lead;
	bool looks_pressed;

	if (!(tau > 0))
		tau = 0.05;
	/* below the curve's lowest spinning duty the model knows nothing */
	if (c->duty < c->min_spin_duty || !(dt > 0)) {
		c->model_running = false;
		return;
	}
	if (!c->model_running) {
		if (!in->valid)
			return;
		/* from the first reading: nothing known of a load yet */
		c->model_hz = in->freq_hz;
		c->load_lag_hz = 0;
		c->load_hz = 0;
		c->model_running = true;
	}
	c->model_hz = lowpass(c->model_hz, free_hz, dt, tau);
	if (!in->valid)
		return;
	shortfall = c->model_hz - in->freq_hz;
	c->load_lag_hz = lowpass(c->load_lag_hz, shortfall, dt,
				 LOAD_LEAD_TAU_S);
	lead = c->load_lag_hz +
	       tau / LOAD_LEAD_TAU_S * (shortfall - c->load_lag_hz);
	c->load_hz = lowpass(c->load_hz, lead, dt, LOAD_SMOOTH_TAU_S);

	/*
	 * A soft start from rest accelerates the rotor faster than the
	 * first-order model follows; judged only from CONTACT_SETTLE_S
	 * after the target is reached, the state held until then (a start
	 * on the body is called contact once the ramp is over).
	 */
	if (c->mode != CONTROLLER_RUNNING || c->reference_hz < c->target_hz) {
		c->at_target_s = 0;
		return;
	}
	c->at_target_s += dt;
	if (c->at_target_s < CONTACT_SETTLE_S)
		return;
	looks_pressed = c->load_hz > (c->in_contact ? c->cfg.liftoff_load_hz :
						      c->cfg.contact_load_hz);
	/*
	 * Lifted off, the head moves as it did in free air at the rotor's
	 * speed: much less is no lift-off, whatever the reading says (near
	 * its tissue resonance a pressed head rings at 20-30 Hz while the
	 * rotor slows, and the reading follows the ringing).
	 */
	if (c->in_contact && !looks_pressed &&
	    in->amplitude_ms2 < c->cfg.liftoff_amplitude_ratio *
				calibration_amplitude_at(&c->cal, in->freq_hz))
		looks_pressed = true;
	if (looks_pressed == c->in_contact) {
		c->contact_timer_s = 0;
		return;
	}
	c->contact_timer_s += dt;
	if (c->contact_timer_s >= c->cfg.contact_s) {
		c->in_contact = looks_pressed;
		c->contact_timer_s = 0;
	}
}

/*
 * Drive without motion: the rotor is blocked or the head is jammed. The
 * short-window amplitude is compared with what the rotor's last measured
 * speed (within the curve's lowest spinning point and the reference) gives
 * in free air: pressing the head lowers it to ~0.35 of that, a stopped
 * rotor to the noise floor. Judging against the reference instead would
 * call a loaded soft start, where the rotor lags its ramp, a stall. After a
 * start a slow rotor on the body reads near the noise floor just as a
 * blocked one does (turning at ~10 Hz pressed on at 6 N, or still coasting
 * slowly from the last run), so a stall is only judged once the rotor has
 * been read turning at the curve's lowest spinning speed (or the target,
 * if lower), or the start grace has passed: a rotor blocked from the start
 * is caught at the end of the grace.
 */
static void controller_judge_stall(struct controller *c,
				   const struct controller_input *in)
{
	double expected, judge_hz;
	bool still;

	if (in->valid) {
		c->last_valid_hz = in->freq_hz;
		if (in->freq_hz >= fmin(c->min_freq_hz, c->target_hz))
			c->seen_spinning = true;
	}
	if (c->mode != CONTROLLER_RUNNING || c->duty < c->cfg.stall_duty ||
	    (!c->seen_spinning && c->run_s < c->cfg.stall_grace_s)) {
		c->stall_timer_s = 0;
		return;
	}
	judge_hz = fmin(fmax(c->last_valid_hz, c->min_freq_hz),
			c->reference_hz);
	expected = calibration_amplitude_at(&c->cal, judge_hz);
	still = !(in->amplitude_fast_ms2 >= c->cfg.stall_ratio * expected);
	c->stall_timer_s = still ? c->stall_timer_s + in->dt_s : 0;
	if (c->stall_timer_s >= c->cfg.stall_s)
		c->stalled = true;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

#define HELD_TAU_S	0.2
#define UNREACHABLE_DUTY_SLACK	0.05

/*
 * The target is out of reach when the drive sits at its ceiling and the
 * rotor still turns slower: more drive is what it would need and there is
 * none (a press the motor cannot carry at this speed, a sagging supply,
 * a lowered intensity). Judged once the soft start has reached the
 * target, on the drive and the speed averaged over HELD_TAU_S (within
 * UNREACHABLE_DUTY_SLACK of the ceiling), for unreachable_s so that a
 * press's transient, which pins the drive for some tens of ms, is not
 * one. Cleared as slowly, back within the margin or off the ceiling.
 */
static void controller_judge_reach(struct controller *c,
				   const struct controller_input *in,
				   double dt)
{
	const struct controller_config *cfg = &c->cfg;
	bool short_of = false;

	if (in->valid && dt > 0)
		c->held_hz = c->held_hz > 0 ?
			lowpass(c->held_hz, in->freq_hz, dt, HELD_TAU_S) :
			in->freq_hz;
	if (dt > 0)
		c->duty_avg = lowpass(c->duty_avg, c->duty, dt, HELD_TAU_S);
	if (c->mode != CONTROLLER_RUNNING || c->reference_hz < c->target_hz) {
		c->unreachable = false;
		c->unreachable_timer_s = 0;
		return;
	}
	/* averaged: a trembling hand takes the drive off its ceiling and
	 * the speed above and below the mean a few times a second
	 */
	if (c->held_hz > 0)
		short_of = c->duty_avg >= (1 - UNREACHABLE_DUTY_SLACK) *
					  cfg->duty_max &&
			   c->held_hz < c->target_hz - cfg->unreachable_hz;
	if (short_of == c->unreachable) {
		c->unreachable_timer_s = 0;
		return;
	}
	c->unreachable_timer_s += dt;
	if (c->unreachable_timer_s >= cfg->unreachable_s) {
		c->unreachable = short_of;
		c->unreachable_timer_s = 0;
	}
}

/* A start that reads nothing by then is turning too slowly to be read */
#define KICK_AFTER_S		0.65
#define KICK_PER_S		1.0

/*
 * Pressed onto the body before the start, a low target's free-air duty
 * may turn the rotor at 10-16 Hz only, where the head moves too little
 * (or rings too much) for the estimator: with no reading the loop would
 * hold that drive until the supervisor stops a motor it cannot see.
 * After KICK_AFTER_S without a valid reading since the start or the
 * last one (longer than a pressed start's warm-up, ~0.5 s; a sensor lost
 * while running is stopped by the supervisor long before), the drive
 * grows by KICK_PER_S through the integral, which the loop then owns:
 * the speed, and with it the amplitude (w^2), rises into what can be
 * read. It cannot overshoot the target by much: a load light enough for
 * that is read long before.
 */
static void controller_kick_start(struct controller *c,
				  const struct controller_input *in, double dt)
{
	c->unread_s = in->valid ? 0 : c->unread_s + dt;
	if (c->unread_s < KICK_AFTER_S || c->reference_hz < c->target_hz)
		return;
	c->integral = fmin(c->integral + KICK_PER_S * dt, c->cfg.duty_max);
}

/* How much faster than at gain_ref_hz the loop may be at the reference. */
static double controller_gain_scale(const struct controller *c)
{
	if (!(c->cfg.gain_ref_hz > 0))
		return 1;
	return clamp(c->reference_hz / c->cfg.gain_ref_hz, 1,
		     c->cfg.gain_scale_max);
}

/*
 * The rotor cannot speed up faster than the drive allows: at most towards
 * the free-air speed of the present duty with the motor's time constant.
 * When the head's dynamics change (contact, a firmer press) its ringing
 * shifts the accelerometer's phase and the estimate leaps upwards for a few
 * cycles while the rotor in fact slows; following that leap would cut the
 * drive exactly when the load grew. Slowing down is never gated: a load can
 * brake the rotor as hard as it likes.
 */
static double controller_gate(struct controller *c, double measured_hz,
			      double free_hz, double dt)
{
	double tau = c->cal.tau_s > 0 ? c->cal.tau_s : c->cfg.motor_tau_s;
	double rise_max;

	if (!(c->cfg.motor_tau_s > 0) || c->measured_hz <= 0) {
		c->measured_hz = measured_hz;
		return measured_hz;
	}
	rise_max = fmax(free_hz - c->measured_hz, 0) / tau;
	c->measured_hz = fmin(measured_hz, c->measured_hz + rise_max * dt +
				      0.05);
	return c->measured_hz;
}

/*
 * Run the observer over the last period (the drive it had is c->duty) and
 * take in the reading, gated as above. Returns the feedforward: the
 * free-air duty whose speed, less what the load the observer found takes
 * off, is the reference.
 */
static double controller_observe(struct controller *c,
				 const struct controller_input *in,
				 double free_hz, double dt)
{
	double m;

	if (c->obs_running)
		observer_predict(&c->obs, free_hz, dt);
	if (in->valid) {
		m = controller_gate(c, in->freq_hz, free_hz, dt);
		if (!c->obs_running) {
			observer_reset(&c->obs, m);
			c->obs_running = true;
		} else {
			observer_hold_load(&c->obs,
					   c->duty >= c->cfg.duty_max,
					   c->duty <= 0);
			observer_correct(&c->obs, m, in->freq_stderr_hz);
		}
	} else {
		c->measured_hz = 0;
	}
	if (!c->obs_running)
		return calibration_duty_for(&c->cal, c->reference_hz);
	return calibration_duty_for(&c->cal,
				    observer_free_speed_for(&c->obs,
							    c->reference_hz));
}

void controller_step(struct controller *c, const struct controller_input *in,
		     struct controller_output *ret)
{
	const struct controller_config *cfg = &c->cfg;
	double dt = isfinite(in->dt_s) && in->dt_s > 0 ? in->dt_s : 0;
	double want = 0, err, p_term, step_max, scale, free_hz;
	bool first_valid = in->valid && !c->seen_valid;
	bool saturated = false;

	if (in->valid)
		c->seen_valid = true;

	if (dt > 0.1)
		dt = 0.1;	/* a long gap must not wind anything up */
	if (c->mode == CONTROLLER_RUNNING)
		c->run_s += dt;
	/* the free-air speed of the last period's drive, for the contact
	 * model, the observer and the gate: worked out once
	 */
	free_hz = calibration_freq_at(&c->cal, c->duty);
	controller_judge_contact(c, in, free_hz, dt);
	controller_judge_stall(c, in);

	switch (c->mode) {
	case CONTROLLER_IDLE:
		c->duty = 0;
		break;
	case CONTROLLER_STOPPING:
		c->duty -= dt * cfg->duty_max / cfg->soft_stop_s;
		/* rounding must not leave a sliver of drive on */
		if (c->duty <= 1e-9) {
			c->duty = 0;
			c->mode = CONTROLLER_IDLE;
		}
		break;
	case CONTROLLER_RUNNING:
		/*
		 * A start that finds the rotor still turning (coasting from a
		 * calibration's full drive, or a stop just before) ramps on
		 * from the first reading of its speed, not from rest: from
		 * rest the loop would brake the rotor, and with the pad
		 * pressed on, stop it, which then reads as a stall.
		 */
		if (first_valid && in->freq_hz > c->reference_hz)
			c->reference_hz = fmin(in->freq_hz, c->target_hz);
		/* soft start: the reference climbs, the loop follows it */
		if (c->reference_hz < c->target_hz)
			c->reference_hz = fmin(c->target_hz, c->reference_hz +
					       cfg->ramp_hz_per_s * dt);
		else
			c->reference_hz = c->target_hz;

		controller_kick_start(c, in, dt);
		if (cfg->use_observer) {
			/* ki is not scaled: a faster integral overshot */
			scale = controller_gain_scale(c);
			observer_set_gain_scale(&c->obs, scale);
			want = controller_observe(c, in, free_hz, dt);
			if (c->obs_running) {
				err = c->reference_hz - c->obs.speed_hz;
				p_term = scale * cfg->kp_per_hz * err;
				want += p_term + c->integral;
				if (in->valid &&
				    !((want >= cfg->duty_max && err > 0) ||
				      (want <= 0 && err < 0)))
					c->integral += cfg->ki_per_hz_s * err *
						       dt;
				c->integral = clamp(c->integral,
						    -cfg->duty_max,
						    cfg->duty_max);
			} else {
				want += c->integral;
			}
		} else if (in->valid) {
			want = calibration_duty_for(&c->cal, c->reference_hz);
			err = c->reference_hz -
			      controller_gate(c, in->freq_hz,
					      calibration_freq_at(&c->cal,
								  c->duty),
					      dt);
			p_term = cfg->kp_per_hz * err;
			want += p_term + c->integral;
			/* integrate only where it does not push further into
			 * the limit (conditional-integration anti-windup)
			 */
			if (!((want >= cfg->duty_max && err > 0) ||
			      (want <= 0 && err < 0)))
				c->integral += cfg->ki_per_hz_s * err * dt;
			c->integral = clamp(c->integral, -cfg->duty_max,
					    cfg->duty_max);
		} else {
			want = calibration_duty_for(&c->cal, c->reference_hz);
			c->measured_hz = 0;
			want += c->integral;
		}
		if (want >= cfg->duty_max || want <= 0)
			saturated = true;
		want = clamp(want, 0, cfg->duty_max);
		step_max = cfg->slew_per_s * dt;
		if (fabs(want - c->duty) > step_max) {
			want = c->duty + (want > c->duty ? step_max : -step_max);
			saturated = true;
		}
		c->duty = want;
		break;
	}
	controller_judge_reach(c, in, dt);

	*ret = (struct controller_output) {
		.duty = c->duty,
		.reference_hz = c->mode == CONTROLLER_RUNNING ?
					c->reference_hz : 0,
		.load_hz = c->load_hz,
		.in_contact = c->in_contact,
		.stalled = c->stalled,
		.saturated = saturated,
		.unreachable = c->unreachable,
		.held_hz = c->held_hz,
	};
}
