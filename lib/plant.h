/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * plant.h - simulated ERM vibration massager: motor, head and accelerometer
 *
 * The same source builds into userspace tests and into the kernel's
 * simulated board (kmod/massager-sim.ko), so it is freestanding: integer
 * and fixed-point arithmetic only, no floats, no libc, no allocation, and
 * deterministic for a given seed.
 *
 * Physics (see docs/plant.md for the equations and the sources of the
 * default figures):
 *  - a brushed DC motor fed by PWM duty from a supply: L di/dt = V - R i -
 *    Ke w, J dw/dt = Kt i - b w - Tc - T_load; vibration frequency is the
 *    rotor speed in rev/s;
 *  - an eccentric rotating mass whose force m e w^2 rotates in the x/y plane
 *    of the head, which is a mass on a soft handle in free air, and gains
 *    tissue mass, stiffness and damping when pressed onto a body; pressing
 *    also loads the rotor (bearing and tissue drag);
 *  - a 3-axis accelerometer on the head: rotating vector on x/y, gravity on
 *    z, Gaussian-like noise, quantisation to the LSB, clipping at the range;
 *  - faults: stall, sensor dropout and stuck output, bearing wear, supply
 *    sag.
 */
#ifndef MASSAGED_PLANT_H
#define MASSAGED_PLANT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#endif

#define PLANT_DUTY_MAX_PPM	1000000u
/* Internal integration step: 20 kHz, fast against the ~130 us electrical
 * and 30-100 ms mechanical time constants and >300 steps per 60 Hz cycle.
 */
#define PLANT_SUBSTEP_NS	50000u

enum plant_fault {
	PLANT_FAULT_STALL,		/* rotor blocked: load beyond stall torque */
	PLANT_FAULT_SENSOR_DROPOUT,	/* accelerometer delivers no samples */
	PLANT_FAULT_SENSOR_STUCK,	/* accelerometer repeats its last sample */
	PLANT_FAULT_COUNT,
};

/**
 * struct plant_params - physical parameters, SI with the unit in the name
 *
 * Defaults and real-world ranges are in plant_params_default() and
 * docs/plant.md; plant_params_validate() enforces the ranges.
 */
struct plant_params {
	/* supply and motor */
	int32_t supply_mv;		/* 3000 .. 24000 */
	int32_t resistance_mohm;	/* armature, 500 .. 20000 */
	int32_t inductance_uh;		/* armature, 50 .. 5000 */
	int32_t ke_uvs_per_rad;		/* back-EMF = torque constant, 1000 .. 200000 */
	int32_t inertia_gmm2;		/* rotor + eccentric mass, 100 .. 1000000 */
	int32_t friction_visc_nnms;	/* viscous, nN m per rad/s, 0 .. 1000000 */
	int32_t friction_coulomb_unm;	/* dry friction, 0 .. 100000 */
	/* eccentric mass and head */
	int32_t unbalance_gmm;		/* m * e, 1 .. 10000 */
	int32_t head_mass_g;		/* moving head, 20 .. 5000 */
	int32_t handle_stiffness_npm;	/* handle suspension, free air, 0 .. 1000000 */
	int32_t handle_damping_mnspm;	/* handle damping, mN s/m, 0 .. 1000000 */
	/* tissue in contact, per newton of pressing force */
	int32_t tissue_mass_g_per_n;	/* added moving mass, 0 .. 1000 */
	int32_t tissue_stiffness_npm_per_n; /* 0 .. 1000000 */
	int32_t tissue_damping_mnspm_per_n; /* 0 .. 1000000 */
	int32_t tissue_drag_unm_per_n;	/* load torque per newton, 0 .. 100000 */
	int32_t tissue_visc_nnms_per_n;	/* speed-dependent load per newton */
	/* accelerometer */
	int32_t sensor_lsb_ug;		/* 1000 .. 100000 (ADXL345: 3900) */
	int32_t sensor_range_mg;	/* full scale, 2000 .. 200000 */
	int32_t sensor_noise_ug;	/* RMS noise per axis, 0 .. 1000000 */
};

struct plant_sample {
	int16_t x, y, z;		/* raw sensor LSB */
};

/* Everything the simulation holds; treat as opaque outside plant.c. */
struct plant {
	struct plant_params p;
	/* derived Q32 coefficients for one substep */
	int64_t c_i_drive, c_i_decay, c_w, c_theta, c_head_acc, c_ug;
	/* motor */
	int64_t i_ua;			/* armature current */
	int64_t w_urad;			/* rotor speed, urad/s */
	uint32_t theta;			/* rotor angle, 2^32 per revolution */
	/* head, per axis x/y */
	int64_t x_nm[2], v_nmps[2], a_umps2[2];
	/* inputs */
	uint32_t duty_ppm;
	bool enabled;
	bool contact;
	int32_t pressure_mn;
	uint32_t supply_ppm;		/* supply sag: fraction of supply left */
	uint32_t wear_ppm;		/* extra friction from bearing wear */
	bool fault[PLANT_FAULT_COUNT];
	/* time and sensor */
	uint64_t now_ns;
	uint32_t carry_ns;
	uint64_t rng;
	struct plant_sample last;
};

/* Fill @p with a 12 V therapy motor: ~67 Hz free air at full duty. */
void plant_params_default(struct plant_params *p);
/* 0, or -EINVAL naming nothing: @p has a field outside its range. */
int plant_params_validate(const struct plant_params *p);

/* 0, or -EINVAL when @p is out of range. The motor starts at rest, off. */
int plant_init(struct plant *pl, const struct plant_params *p, uint64_t seed);

/* PWM duty, 0 .. PLANT_DUTY_MAX_PPM (clamped) and the motor-enable line. */
void plant_set_drive(struct plant *pl, uint32_t duty_ppm, bool enabled);
/* Head on a body with @pressure_mn of pressing force, or lifted off. */
void plant_set_contact(struct plant *pl, bool contact, int32_t pressure_mn);
void plant_set_fault(struct plant *pl, enum plant_fault fault, bool on);
/* Supply sag: the supply falls to @supply_ppm of nominal (0 .. 1e6). */
void plant_set_supply(struct plant *pl, uint32_t supply_ppm);
/* Bearing wear: friction grows by @wear_ppm of nominal (0 .. 10e6). */
void plant_set_wear(struct plant *pl, uint32_t wear_ppm);

/* Advance simulated time by @dt_ns (any length; whole substeps are run,
 * the remainder carried to the next call).
 */
void plant_advance(struct plant *pl, uint32_t dt_ns);

/* Read the accelerometer now: 0 with @ret filled, -EIO on sensor dropout. */
int plant_sample(struct plant *pl, struct plant_sample *ret);

/* Ground truth for tests and the simulated board's diagnostics. */
int32_t plant_freq_mhz(const struct plant *pl);
int32_t plant_current_ma(const struct plant *pl);
uint64_t plant_time_ns(const struct plant *pl);

#endif
