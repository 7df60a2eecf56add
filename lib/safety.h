/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * safety.h - the massager's safety rules, as pure functions of their inputs
 *
 * Everything here is a decision, never an action: time comes in as now_ns
 * (CLOCK_MONOTONIC), the verdict goes out, and the daemon acts on it.  No
 * I/O, no allocation, no logging, no libm; safe to call from the control
 * loop.  docs/safety.md ("Safety rules") maps each rule to the hazard it
 * answers and to the other layers (kernel watchdog, e-stop, duty ceiling)
 * that back it up.
 *
 * Conventions: functions return 0 or a negative errno; output parameters
 * start with ret_; units are in the names (freq_mhz is milli-hertz, so
 * 45 Hz is 45000; *_permille is 0..1000).
 */
#ifndef MASSAGED_SAFETY_H
#define MASSAGED_SAFETY_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The therapy band (DOMAIN.md "Frequencies"): 20-60 Hz relaxes muscle. */
#define SAFETY_DEFAULT_MIN_FREQ_MHZ	20000u
#define SAFETY_DEFAULT_MAX_FREQ_MHZ	60000u
/* No configuration may go above 80 Hz. */
#define SAFETY_ABS_MAX_FREQ_MHZ		80000u
/*
 * Below 10 Hz an ERM motor does not turn steadily and nothing in the
 * protocols uses it (hand-held devices start at 17 Hz).
 */
#define SAFETY_ABS_MIN_FREQ_MHZ		10000u
/*
 * 100-200 Hz makes muscle contract (tonic vibration reflex).  It is refused
 * by name, independently of the absolute limit, so that a future change of
 * SAFETY_ABS_MAX_FREQ_MHZ cannot open it.
 */
#define SAFETY_CONTRACTION_MIN_FREQ_MHZ	100000u
#define SAFETY_CONTRACTION_MAX_FREQ_MHZ	200000u

#define SAFETY_PERMILLE_MAX		1000u

/*
 * Absolute ceilings on what an administrator may configure.  A session or
 * a site cap can be made shorter, never unbounded.
 */
#define SAFETY_ABS_MAX_SITE_MS		(30u * 60u * 1000u)
#define SAFETY_ABS_MAX_SESSION_MS	(2u * 60u * 60u * 1000u)
/* Longer than this without seeing the motor is not supervision. */
#define SAFETY_ABS_MAX_SENSOR_LOSS_MS	1000u
#define SAFETY_ABS_MAX_STALL_MS		1000u
#define SAFETY_ABS_MAX_WARMUP_MS	5000u
#define SAFETY_ABS_MAX_OVERSPEED_MS	1000u

/*
 * Estimator quality flags: copies of enum estimate_flag in lib/estimator.h
 * so that this header stands alone; a static assertion in safety.c keeps
 * the bit values equal.
 */
enum safety_estimate_flag {
	SAFETY_EST_WARMING_UP	= 1u << 0,
	SAFETY_EST_NO_VIBRATION	= 1u << 1,
	SAFETY_EST_CLIPPED	= 1u << 2,
	SAFETY_EST_NOISY	= 1u << 3,
	SAFETY_EST_STUCK	= 1u << 4,
};

/**
 * struct safety_limits - the configurable rules
 *
 * Defaults are in safety_limits_default(); safety_limits_validate() says
 * which field is wrong.  An administrator may narrow any of these, never
 * widen them past the SAFETY_ABS_* ceilings.
 */
struct safety_limits {
	/* therapy band, milli-hertz; default 20-60 Hz, never above 80 Hz */
	uint32_t min_freq_mhz;
	uint32_t max_freq_mhz;
	/* highest intensity a program may ask for, 1..1000 */
	uint32_t max_intensity_permille;

	/*
	 * Motor thermal budget (I^2 t with first-order cooling): heat rises
	 * with drive^2 and decays with thermal_tau_ms.  The budget is the heat
	 * reached after thermal_trip_full_ms at full drive from cold; after a
	 * trip the motor stays locked out until the heat has fallen to
	 * thermal_resume_permille of the budget.
	 */
	uint32_t thermal_tau_ms;
	uint32_t thermal_trip_full_ms;
	uint32_t thermal_resume_permille;

	/*
	 * Auto-off.  Default 15 min on one site: the longest published
	 * protocol in DOMAIN.md (NCT02393521, neck points, 45-50 Hz, 15 min).
	 */
	uint32_t max_continuous_site_ms;
	/* driven time in one session (since safety_monitor_session_begin()) */
	uint32_t max_session_ms;

	/* supervision */
	uint32_t sensor_loss_ms;	/* no usable estimate while driving */
	uint32_t warmup_ms;		/* estimator warm-up tolerated after start */
	uint32_t stall_ms;		/* controller reports stall this long */
	uint32_t overspeed_grace_ms;	/* measured above 80 Hz this long */

	/* lifting the head off the body pauses (true) or stops (false) */
	bool lost_contact_pause;
};

enum safety_action {
	SAFETY_OK,
	SAFETY_PAUSE,	/* ramp the drive down, keep the session */
	SAFETY_STOP,	/* motor off; latched until a person acknowledges */
};

enum safety_reason {
	SAFETY_REASON_NONE,
	/* target checks */
	SAFETY_REASON_BELOW_BAND,
	SAFETY_REASON_ABOVE_BAND,
	SAFETY_REASON_CONTRACTION_BAND,
	SAFETY_REASON_ABOVE_ABSOLUTE,
	SAFETY_REASON_INTENSITY,
	SAFETY_REASON_STEP_DURATION,
	SAFETY_REASON_SESSION_DURATION,
	/* supervisor */
	SAFETY_REASON_ESTOP,
	SAFETY_REASON_WATCHDOG,
	SAFETY_REASON_CLOCK,
	SAFETY_REASON_SUPERVISION_GAP,
	SAFETY_REASON_THERMAL,
	SAFETY_REASON_THERMAL_LOCKOUT,
	SAFETY_REASON_STALL,
	SAFETY_REASON_SENSOR_STUCK,
	SAFETY_REASON_SENSOR_LOSS,
	SAFETY_REASON_NO_VIBRATION,
	SAFETY_REASON_OVERSPEED,
	SAFETY_REASON_SITE_CAP,
	SAFETY_REASON_SESSION_CAP,
	SAFETY_REASON_LOST_CONTACT,
	SAFETY_REASON_TARGET_UNREACHABLE,
	_SAFETY_REASON_MAX,
};

/* Static human text for @reason; never NULL. */
const char *safety_reason_to_string(enum safety_reason reason);

/* Fill @l with the product defaults (see safety.c for the figures). */
void safety_limits_default(struct safety_limits *l);

/*
 * 0 if @l is usable.  -ERANGE when a value is outside its absolute range
 * (above 80 Hz, in the contraction band, intensity above 1000, a duration
 * beyond its SAFETY_ABS_* ceiling); -EINVAL when a value is zero or the
 * fields contradict each other (min_freq_mhz >= max_freq_mhz).  On error
 * *ret_field (if not NULL) names the offending field as spelled in struct
 * safety_limits; on success it is set to NULL.
 */
int safety_limits_validate(const struct safety_limits *l,
			   const char **ret_field);

/*
 * Can a program ask for @freq_mhz at @intensity_permille?  0, or -ERANGE
 * with *ret_reason saying why (BELOW_BAND, ABOVE_BAND, CONTRACTION_BAND,
 * ABOVE_ABSOLUTE, INTENSITY).  The contraction band and the absolute limit
 * are checked before the configured band, so the most serious reason wins.
 */
int safety_check_target(const struct safety_limits *l, uint32_t freq_mhz,
			uint32_t intensity_permille,
			enum safety_reason *ret_reason);

/*
 * One program step of continuous vibration on one site: 0, or -ERANGE
 * (STEP_DURATION) when it is zero or longer than max_continuous_site_ms.
 */
int safety_check_step_duration(const struct safety_limits *l,
			       uint64_t duration_ms,
			       enum safety_reason *ret_reason);

/*
 * Total vibration time of a program: 0, or -ERANGE (SESSION_DURATION) when
 * it is zero or longer than max_session_ms.
 */
int safety_check_session_total(const struct safety_limits *l,
			       uint64_t total_ms,
			       enum safety_reason *ret_reason);

/*
 * Format the reason a target was refused, with the numbers, e.g.
 * "120 Hz is in the 100-200 Hz contraction band; therapy runs at 20-60 Hz".
 * snprintf() semantics: returns the length that would have been written,
 * or a negative errno (-EINVAL for a NULL buffer with nonzero size).
 */
int safety_format_target_refusal(char *buf, size_t size,
				 const struct safety_limits *l,
				 enum safety_reason reason, uint32_t freq_mhz,
				 uint32_t intensity_permille);

/**
 * struct safety_thermal - motor heat, in milliseconds at full drive
 *
 * heat_ms follows d(heat)/dt = drive^2 - heat / tau: at full drive it
 * tends to tau, at half drive to tau / 4.  Treat as opaque.
 */
struct safety_thermal {
	double heat_ms;
	bool tripped;	/* over budget, and not yet below the resume level */
};

void safety_thermal_init(struct safety_thermal *t);
/*
 * All safety_thermal_* functions take limits that passed
 * safety_limits_validate(); zero time constants are not guarded here.
 *
 * Advance by @dt_ns at a constant @drive_permille (duty, or current as a
 * fraction of stall current).  Exact for any @dt_ns, so a long gap neither
 * overflows nor loses the heat.  Returns true if the motor is over budget
 * or still locked out.
 */
bool safety_thermal_update(struct safety_thermal *t,
			   const struct safety_limits *l,
			   uint32_t drive_permille, uint64_t dt_ns);
/*
 * After an unclean restart the heat of the previous run is unknown: treat
 * the budget as spent, so the motor is locked out for the full cool-down
 * (tau * ln(1000 / thermal_resume_permille), 3.5 min by default).
 */
void safety_thermal_assume_hot(struct safety_thermal *t,
			       const struct safety_limits *l);
/* Heat budget left, 0..1000 permille (0 when tripped). */
uint32_t safety_thermal_headroom_permille(const struct safety_thermal *t,
					  const struct safety_limits *l);
/* Time until a trip if driven at full drive from now; 0 when tripped. */
uint64_t safety_thermal_full_drive_left_ms(const struct safety_thermal *t,
					   const struct safety_limits *l);
/* Time at zero drive until a lockout ends; 0 when not locked out. */
uint64_t safety_thermal_cooldown_ms(const struct safety_thermal *t,
				    const struct safety_limits *l);

/**
 * struct safety_input - what the supervisor sees on each control tick
 */
struct safety_input {
	uint64_t now_ns;		/* CLOCK_MONOTONIC */
	bool driving;			/* the daemon is driving the motor */
	uint32_t duty_permille;		/* commanded drive, 0..1000 */
	/*
	 * The daemon decides what counts as valid.  With lib/estimator.h's
	 * convention (valid = no flag set) a clipped or noisy window that
	 * lasts sensor_loss_ms is a STOP; if the daemon passes such estimates
	 * as valid, the monitor accepts them as supervision.  WARMING_UP,
	 * NO_VIBRATION and STUCK never count as supervision here.
	 */
	bool estimate_valid;
	uint32_t estimate_flags;	/* enum safety_estimate_flag */
	uint32_t freq_mhz;		/* measured, meaningful if valid */
	bool stall_detected;		/* from the controller */
	bool in_contact;		/* head on a body */
	bool kernel_estop;		/* e-stop asserted (kernel reports) */
	bool kernel_watchdog_trip;	/* the kernel's watchdog fired */
	/* the controller cannot reach the target as things are (drive at
	 * its ceiling, speed short): it holds held_mhz instead
	 */
	bool target_unreachable;
	uint32_t held_mhz;
};

struct safety_verdict {
	enum safety_action action;
	enum safety_reason reason;
	uint32_t thermal_headroom_permille;
	uint64_t thermal_cooldown_ms;	/* 0 unless locked out */
	uint64_t site_left_ms;		/* vibration left on this site */
	uint64_t session_left_ms;	/* vibration left in this session */
};

/* The supervisor's state; treat as opaque outside safety.c. */
struct safety_monitor {
	struct safety_limits limits;
	struct safety_thermal thermal;
	bool have_time;
	uint64_t last_ns;
	bool was_driving;
	uint32_t last_duty_permille;
	uint64_t drive_start_ns;
	uint64_t last_good_ns;
	bool stalling;
	uint64_t stall_since_ns;
	bool overspeed;
	uint64_t overspeed_since_ns;
	uint64_t site_drive_ns;
	uint64_t session_drive_ns;
	bool estop_asserted;
	bool latched;
	enum safety_reason latched_reason;
	uint64_t latched_at_ns;
	/* the thermal budget of these limits, kept: an exp_neg() a record */
	double budget_ms;
	uint32_t budget_tau_ms, budget_trip_full_ms;
};

/*
 * 0, or -EINVAL when @l does not validate.  The monitor starts cold, with
 * no STOP latched and a fresh session.
 */
int safety_monitor_init(struct safety_monitor *m,
			const struct safety_limits *l);

/*
 * One supervision tick.  Always fills @ret.  Returns 0, or -EINVAL for
 * NULL arguments (with ret, if given, set to STOP).  A STOP latches: later
 * ticks keep returning it with the first reason until safety_acknowledge().
 * Time going backwards is a STOP (SAFETY_REASON_CLOCK): CLOCK_MONOTONIC
 * cannot do it, so the caller is broken.
 */
int safety_evaluate(struct safety_monitor *m, const struct safety_input *in,
		    struct safety_verdict *ret);

/*
 * A person acknowledged the STOP.  0, or -EBUSY while the e-stop is still
 * asserted (release it first).  Acknowledging does not restart anything,
 * does not end a thermal lockout and does not reset the site or session
 * time: safety_may_start() still decides.
 */
int safety_acknowledge(struct safety_monitor *m);

/*
 * May a person start the motor now (as of the last evaluated tick)?
 * 0, -EPERM (a STOP is latched, acknowledge first), -EBUSY (e-stop
 * asserted), -EAGAIN (thermal lockout; safety_thermal_cooldown_ms() says
 * how long) or -ETIME (site or session cap reached: change site or begin a
 * new session).  *ret_reason says which rule refused.
 */
int safety_may_start(const struct safety_monitor *m,
		     enum safety_reason *ret_reason);

/*
 * The target is out of the motor's reach (a press firmer than it can
 * carry at that speed, a sagging supply) and it holds @held_mhz instead:
 * SAFETY_OK, the session goes on at the held frequency, while that is
 * within the therapy band; SAFETY_PAUSE (TARGET_UNREACHABLE) below it.
 * Either way the daemon reports it (docs/safety.md, "Unreachable target").
 */
enum safety_action safety_unreachable_action(const struct safety_limits *l,
					     uint32_t held_mhz);

/* The head moved to another site: the per-site vibration time restarts. */
void safety_monitor_site_changed(struct safety_monitor *m);
/* A new session begins: site and session vibration times restart. */
void safety_monitor_session_begin(struct safety_monitor *m);
/*
 * The daemon could not prove the last run ended cleanly (it crashed, or
 * it restarted within the cool-down time): start in thermal lockout.
 */
void safety_monitor_assume_hot(struct safety_monitor *m);

#endif
