/* SPDX-License-Identifier: MIT */
/*
 * controller.h - hold the vibration frequency through contact and pressure
 *
 * Feedforward from the measured calibration curve plus PI on the frequency
 * error, with conditional-integration anti-windup, an output slew limit,
 * a soft start (the reference ramps up) and a soft stop (the drive ramps
 * down). It also judges contact from the amplitude signature against the
 * free-air amplitude the calibration recorded, and detects a stall.
 *
 * Pure logic: no I/O, no allocation, no logging; one call per control
 * period from the real-time thread.
 */
#ifndef MASSAGED_CONTROLLER_H
#define MASSAGED_CONTROLLER_H

#include <stdbool.h>

#include "calibration.h"
#include "observer.h"

struct controller_config {
	double kp_per_hz;	/* duty per Hz of error */
	double ki_per_hz_s;	/* duty per Hz s of error */
	double slew_per_s;	/* largest drive change per second */
	double ramp_hz_per_s;	/* soft start: reference slope */
	double soft_stop_s;	/* soft stop: full drive to zero in this time */
	double duty_max;	/* ceiling, <= the kernel's */
	/* Contact from the load (docs/control.md "Contact"): the speed the
	 * drive would give in free air, by the calibration, less the
	 * speed read, as it settles. Above contact_load_hz is contact,
	 * below liftoff_load_hz lifted off.
	 */
	double contact_load_hz;
	double liftoff_load_hz;
	/* and a lift-off needs the head's amplitude at least this share of
	 * the calibration's free-air amplitude at the speed read
	 */
	double liftoff_amplitude_ratio;
	double contact_s;	/* a change must hold this long */
	double stall_duty;	/* stall only judged at or above this drive */
	double stall_ratio;	/* fast amplitude / free-air amplitude at the
				 * reference below this: stalled */
	double stall_s;		/* for this long */
	double stall_grace_s;	/* from start, before a first valid estimate */
	double motor_tau_s;	/* time constant when the calibration has
				 * none; 0: no plausibility gate
				 */
	/* Speed observer (lib/observer.h): the loop closes on the model's
	 * speed, corrected by the readings, and the load it finds is fed
	 * forward. tau_s is taken from the calibration (less delay_s, its
	 * measured figure includes the estimator's lag) or motor_tau_s.
	 */
	bool use_observer;
	struct observer_config observer;
	/* The observer's gains and kp are tuned for gain_ref_hz; above it
	 * they grow with the reference (observer_set_gain_scale()), by at
	 * most gain_scale_max. The reading's lag and the head's ringing
	 * last a number of turns, not of milliseconds, so a faster
	 * vibration allows a faster loop; near the tissue's resonance (17 to
	 * 21 Hz on the plant) the head delays the reading most. 0: no
	 * scaling.
	 */
	double gain_ref_hz;
	double gain_scale_max;
	/* Unreachable target: the drive pinned at duty_max with the speed
	 * more than unreachable_hz below the target for unreachable_s
	 * (docs/control.md); cleared after the same time back within it
	 * or off the ceiling.
	 */
	double unreachable_hz;
	double unreachable_s;
};

enum controller_mode {
	CONTROLLER_IDLE,	/* drive 0 */
	CONTROLLER_RUNNING,	/* holding (or ramping to) the target */
	CONTROLLER_STOPPING,	/* soft stop under way */
};

struct controller_input {
	double dt_s;		/* time since the last step */
	double freq_hz;		/* estimator */
	double amplitude_ms2;	/* estimator, RMS */
	double amplitude_fast_ms2; /* estimator, RMS over a short window */
	bool valid;		/* the estimate may be used */
	double freq_stderr_hz;	/* estimator; 0 = unknown, full weight */
};

struct controller_output {
	double duty;		/* 0 .. duty_max, drive this now */
	double reference_hz;	/* where the soft start has got to */
	double load_hz;		/* the speed the load takes off, see above */
	bool in_contact;
	bool stalled;
	bool saturated;		/* at duty_max or the slew limit */
	/* the target is out of the motor's reach as things are (a firm
	 * press, a sagging supply): held_hz is what it holds instead
	 */
	bool unreachable;
	double held_hz;		/* the speed, averaged over ~0.2 s */
};

struct controller {
	struct controller_config cfg;
	struct calibration cal;
	double min_freq_hz;	/* calibration_min_freq_hz(&cal), kept */
	double min_spin_duty;	/* the duty that gives min_freq_hz, kept */
	enum controller_mode mode;
	double target_hz, reference_hz;
	double integral, duty;
	double measured_hz;	/* the estimate after the plausibility gate */
	double last_valid_hz;	/* the last valid estimate since start */
	bool in_contact, stalled;
	double contact_timer_s, stall_timer_s;
	/* contact: the free-air model of the reading, the load it finds */
	bool model_running;
	double model_hz, load_lag_hz, load_hz;
	double at_target_s;	/* since the soft start reached the target */
	double run_s;		/* since controller_start() */
	bool seen_valid;	/* a valid estimate since controller_start() */
	bool seen_spinning;	/* read at a speed a stall can be judged at */
	struct observer obs;
	bool obs_running;	/* seeded from a first valid estimate */
	double unread_s;	/* without a valid reading, while running */
	double duty_avg;	/* over ~0.2 s, for the reach */
	bool unreachable;
	double unreachable_timer_s;
	double held_hz;
};

/*
 * The estimator window the controller is tuned for: one vibration period
 * at 45 Hz (71 samples at 3200 Hz). A whole period averages out the head's
 * ringing and an elliptical path; shorter windows follow the ringing, not
 * the rotor (docs/control.md).
 */
#define CONTROLLER_WINDOW_HZ	45
static inline unsigned int controller_window_samples(unsigned int rate_hz)
{
	unsigned int n = (rate_hz + CONTROLLER_WINDOW_HZ / 2) /
			 CONTROLLER_WINDOW_HZ;

	return n < 8 ? 8 : n;
}

void controller_config_default(struct controller_config *cfg);
/* 0, or -EINVAL for a bad @cfg or @cal (see calibration_validate()). */
int controller_init(struct controller *c, const struct controller_config *cfg,
		    const struct calibration *cal);
/* 0, or -ERANGE above what the calibrated motor reaches, -EINVAL if < 0. */
int controller_set_target(struct controller *c, double freq_hz);
/*
 * Change the drive's ceiling (the intensity, 0 < @duty_max <= 1) while
 * running, without a restart; -EINVAL otherwise.
 */
int controller_set_duty_max(struct controller *c, double duty_max);
/* Soft start from the present speed @from_hz (0 from rest). */
void controller_start(struct controller *c, double from_hz);
void controller_stop(struct controller *c);
/* Drive to zero now, no ramp: for faults. */
void controller_halt(struct controller *c);
enum controller_mode controller_mode(const struct controller *c);
void controller_step(struct controller *c, const struct controller_input *in,
		     struct controller_output *ret);

#endif
