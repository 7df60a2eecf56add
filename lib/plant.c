// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * plant.c - simulated ERM vibration massager (see plant.h, docs/plant.md)
 *
 * Freestanding: built into userspace tests and into massager-sim.ko.
 * All state is integer; each substep is a handful of 64-bit multiplies.
 */
#include "plant.h"

#ifdef __KERNEL__
#include <linux/math64.h>
#define plant_div(a, b)		div64_s64((a), (b))
#define plant_udiv(a, b)	div64_u64((a), (b))
#else
#define plant_div(a, b)		((int64_t)(a) / (int64_t)(b))
#define plant_udiv(a, b)	((uint64_t)(a) / (uint64_t)(b))
#endif

/* 2^64 * substep / (2 pi * 1e6): urad/s to 2^-32 rev per substep, in Q32 */
#define THETA_PER_URAD_Q32	146794525LL
/* 2^32 / (2 pi * 1000): urad/s to mHz, in Q32 */
#define MHZ_PER_URAD_Q32	683565LL
/* below this the rotor counts as standing and dry friction holds it */
#define STANDSTILL_URAD		100000LL
#define STANDARD_GRAVITY_UMPS2	9806650LL

static inline int64_t mul_q32(int64_t a, int64_t q32)
{
	return (a * q32) >> 32;
}

/* a * 2^32 / b for 0 <= a, 0 < b < 2^62, by shift-and-subtract so that no
 * 64-bit division helper is needed; the quotient must stay below 2^31.
 */
static int64_t ratio_q32(uint64_t a, uint64_t b)
{
	uint64_t q = 0, r = 0;
	int bit;

	for (bit = 63; bit >= -32; bit--) {
		r <<= 1;
		if (bit >= 0)
			r |= (a >> bit) & 1;
		q <<= 1;
		if (r >= b) {
			r -= b;
			q |= 1;
		}
	}
	return (int64_t)q;
}

void plant_params_default(struct plant_params *p)
{
	*p = (struct plant_params) {
		.supply_mv = 12000,
		.resistance_mohm = 3000,
		.inductance_uh = 500,		/* L/R = 0.17 ms */
		.ke_uvs_per_rad = 27000,	/* 12 V / Ke = 70 Hz unloaded */
		.inertia_gmm2 = 12000,		/* J R / Ke^2 = 49 ms */
		.friction_visc_nnms = 5000,
		.friction_coulomb_unm = 1000,
		.unbalance_gmm = 60,		/* 20 g at 3 mm */
		.head_mass_g = 250,
		.handle_stiffness_npm = 500,	/* ~7 Hz handle resonance */
		.handle_damping_mnspm = 5000,
		.tissue_mass_g_per_n = 20,
		.tissue_stiffness_npm_per_n = 1000,
		.tissue_damping_mnspm_per_n = 5000,
		.tissue_drag_unm_per_n = 3200,
		.tissue_visc_nnms_per_n = 4000,
		.sensor_lsb_ug = 3900,		/* ADXL345 full resolution */
		.sensor_range_mg = 16000,
		.sensor_noise_ug = 4000,
	};
}

#define IN_RANGE(v, lo, hi)	((v) >= (lo) && (v) <= (hi))

int plant_params_validate(const struct plant_params *p)
{
	if (!IN_RANGE(p->supply_mv, 3000, 24000) ||
	    !IN_RANGE(p->resistance_mohm, 500, 20000) ||
	    !IN_RANGE(p->inductance_uh, 50, 5000) ||
	    !IN_RANGE(p->ke_uvs_per_rad, 1000, 200000) ||
	    !IN_RANGE(p->inertia_gmm2, 100, 1000000) ||
	    !IN_RANGE(p->friction_visc_nnms, 0, 1000000) ||
	    !IN_RANGE(p->friction_coulomb_unm, 0, 100000) ||
	    !IN_RANGE(p->unbalance_gmm, 1, 10000) ||
	    !IN_RANGE(p->head_mass_g, 20, 5000) ||
	    !IN_RANGE(p->handle_stiffness_npm, 0, 1000000) ||
	    !IN_RANGE(p->handle_damping_mnspm, 0, 1000000) ||
	    !IN_RANGE(p->tissue_mass_g_per_n, 0, 1000) ||
	    !IN_RANGE(p->tissue_stiffness_npm_per_n, 0, 1000000) ||
	    !IN_RANGE(p->tissue_damping_mnspm_per_n, 0, 1000000) ||
	    !IN_RANGE(p->tissue_drag_unm_per_n, 0, 100000) ||
	    !IN_RANGE(p->tissue_visc_nnms_per_n, 0, 1000000) ||
	    !IN_RANGE(p->sensor_lsb_ug, 1000, 100000) ||
	    !IN_RANGE(p->sensor_range_mg, 2000, 200000) ||
	    !IN_RANGE(p->sensor_noise_ug, 0, 1000000))
		return -EINVAL;
	return 0;
}

/* Head mass and so the acceleration coefficient depend on contact. */
static void plant_update_head(struct plant *pl)
{
	int64_t mass_g = pl->p.head_mass_g;

	if (pl->contact)
		mass_g += plant_div((int64_t)pl->p.tissue_mass_g_per_n *
				    pl->pressure_mn, 1000);
	/* um/s^2 per uN: 1000 / mass_g */
	pl->c_head_acc = ratio_q32(1000, mass_g);
}

int plant_init(struct plant *pl, const struct plant_params *p, uint64_t seed)
{
	int64_t l_scaled, d_num;
	int r;

	r = plant_params_validate(p);
	if (r < 0)
		return r;

	*pl = (struct plant) { .p = *p };
	pl->supply_ppm = PLANT_DUTY_MAX_PPM;
	pl->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;

	/*
	 * Armature current, semi-implicit (stable for any L/R):
	 * i' = (i + dt/L (V - Ke w)) / (1 + dt R / L)
	 */
	l_scaled = (int64_t)p->inductance_uh * 1000000;
	d_num = l_scaled + (int64_t)PLANT_SUBSTEP_NS * p->resistance_mohm;
	pl->c_i_decay = ratio_q32(l_scaled, d_num);
	pl->c_i_drive = ratio_q32((uint64_t)PLANT_SUBSTEP_NS * 1000, d_num);
	/* rotor: dw [urad/s] = torque [nN m] * dt / (1000 J) */
	pl->c_w = ratio_q32(PLANT_SUBSTEP_NS, 1000LL * p->inertia_gmm2);
	pl->c_theta = THETA_PER_URAD_Q32;
	pl->c_ug = ratio_q32(1000000, STANDARD_GRAVITY_UMPS2);
	plant_update_head(pl);
	return 0;
}

void plant_set_drive(struct plant *pl, uint32_t duty_ppm, bool enabled)
{
	pl->duty_ppm = duty_ppm > PLANT_DUTY_MAX_PPM ? PLANT_DUTY_MAX_PPM :
						       duty_ppm;
	pl->enabled = enabled;
}

void plant_set_contact(struct plant *pl, bool contact, int32_t pressure_mn)
{
	if (pressure_mn < 0)
		pressure_mn = 0;
	if (pressure_mn > 200000)
		pressure_mn = 200000;
	pl->contact = contact;
	pl->pressure_mn = pressure_mn;
	plant_update_head(pl);
}

void plant_set_fault(struct plant *pl, enum plant_fault fault, bool on)
{
	if ((unsigned int)fault < PLANT_FAULT_COUNT)
		pl->fault[fault] = on;
}

void plant_set_supply(struct plant *pl, uint32_t supply_ppm)
{
	pl->supply_ppm = supply_ppm > PLANT_DUTY_MAX_PPM ? PLANT_DUTY_MAX_PPM :
							   supply_ppm;
}

void plant_set_wear(struct plant *pl, uint32_t wear_ppm)
{
	pl->wear_ppm = wear_ppm > 10000000 ? 10000000 : wear_ppm;
}

/* sin of a 2^-32 rev angle in Q30, 7th-order Taylor per quadrant (< 4e-6) */
static int64_t sin_q30(uint32_t angle)
{
	/* pi/2 in Q30 */
	const int64_t half_pi_q30 = 1686629713LL;
	uint32_t quadrant = angle >> 30;
	int64_t t = angle & 0x3fffffff, x, x2, s;

	if (quadrant & 1)
		t = 0x40000000 - t;
	x = (t * half_pi_q30) >> 30;
	x2 = (x * x) >> 30;
	/* every term is >= 0 here: unsigned division is the same, cheaper */
	s = (1LL << 30) - (int64_t)plant_udiv(x2, 42);
	s = (1LL << 30) - (int64_t)plant_udiv((x2 * s) >> 30, 20);
	s = (1LL << 30) - (int64_t)plant_udiv((x2 * s) >> 30, 6);
	s = (x * s) >> 30;
	return quadrant & 2 ? -s : s;
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/*
 * What a substep needs that only the inputs (drive, supply, contact, wear,
 * faults) change. They cannot change within one plant_advance() call, so
 * it works them out once, with the same integer expressions, and every
 * substep of the call gets bit for bit what it would compute itself.
 */
struct plant_loads {
	int64_t v_uv;	   /* applied voltage, 0 while disabled */
	int64_t drag_nnm;  /* dry friction, bearing and tissue */
	int64_t visc_nnms; /* viscous friction, bearing and tissue */
	int64_t k_npm;	   /* head suspension: handle and tissue */
	int64_t c_mnspm;
	bool stalled;
};

static void plant_loads(const struct plant *pl, struct plant_loads *ret)
{
	const struct plant_params *p = &pl->p;
	int64_t wear = PLANT_DUTY_MAX_PPM + pl->wear_ppm;

	/* electrical: low-side PWM with a flyback diode, current >= 0 */
	ret->v_uv = 0;
	if (pl->enabled)
		ret->v_uv = plant_div((int64_t)pl->duty_ppm * p->supply_mv /
					      1000 * pl->supply_ppm,
				      PLANT_DUTY_MAX_PPM);

	/* mechanical: friction and tissue load on the rotor */
	ret->drag_nnm =
		plant_div((int64_t)p->friction_coulomb_unm * 1000 * wear,
			  PLANT_DUTY_MAX_PPM);
	ret->visc_nnms = plant_div((int64_t)p->friction_visc_nnms * wear,
				   PLANT_DUTY_MAX_PPM);
	if (pl->contact) {
		ret->drag_nnm +=
			(int64_t)p->tissue_drag_unm_per_n * pl->pressure_mn;
		ret->visc_nnms += plant_div((int64_t)p->tissue_visc_nnms_per_n *
						    pl->pressure_mn,
					    1000);
	}
	ret->stalled = pl->fault[PLANT_FAULT_STALL];

	ret->k_npm = p->handle_stiffness_npm;
	ret->c_mnspm = p->handle_damping_mnspm;
	if (pl->contact) {
		ret->k_npm += plant_div((int64_t)p->tissue_stiffness_npm_per_n *
						pl->pressure_mn,
					1000);
		ret->c_mnspm +=
			plant_div((int64_t)p->tissue_damping_mnspm_per_n *
					  pl->pressure_mn,
				  1000);
	}
}

static void plant_substep(struct plant *pl, const struct plant_loads *ld)
{
	const struct plant_params *p = &pl->p;
	int64_t emf_uv, torque_nnm, force_un, w2, fx, fy;
	int axis;

	emf_uv = plant_div((int64_t)p->ke_uvs_per_rad * pl->w_urad, 1000000);
	if (pl->enabled)
		pl->i_ua = mul_q32(pl->i_ua, pl->c_i_decay) +
			   mul_q32(ld->v_uv - emf_uv, pl->c_i_drive);
	else
		pl->i_ua = 0;	/* enable off: bridge open, the rotor coasts */
	if (pl->i_ua < 0)
		pl->i_ua = 0;

	/* mechanical: drive torque against friction and tissue load */
	if (ld->stalled) {
		pl->w_urad = 0;
	} else {
		torque_nnm =
			plant_div((int64_t)p->ke_uvs_per_rad * pl->i_ua, 1000);
		if (abs64(pl->w_urad) < STANDSTILL_URAD &&
		    torque_nnm <= ld->drag_nnm) {
			pl->w_urad = 0;	/* static friction holds the rotor */
		} else {
			torque_nnm -=
				plant_div(ld->visc_nnms * pl->w_urad, 1000000);
			torque_nnm -=
				pl->w_urad >= 0 ? ld->drag_nnm : -ld->drag_nnm;
			pl->w_urad += mul_q32(torque_nnm, pl->c_w);
		}
	}
	pl->theta += (uint32_t)mul_q32(pl->w_urad, pl->c_theta);

	/* eccentric force m e w^2 [uN], rotating with the rotor */
	w2 = plant_div(pl->w_urad, 1000);
	/* from here >= 0: unsigned division is the same, cheaper */
	w2 = plant_udiv(w2 * w2, 1000); /* rad^2/s^2 * 1e3 */
	force_un = plant_udiv(w2 * p->unbalance_gmm, 1000);
	fx = (force_un * sin_q30(pl->theta + 0x40000000u)) >> 30;
	fy = (force_un * sin_q30(pl->theta)) >> 30;

	/* head: M a = F - c v - k x per axis, semi-implicit Euler */
	for (axis = 0; axis < 2; axis++) {
		int64_t f = axis ? fy : fx;

		f -= plant_div(ld->c_mnspm * pl->v_nmps[axis], 1000000);
		f -= plant_div(ld->k_npm * pl->x_nm[axis], 1000);
		pl->a_umps2[axis] = mul_q32(f, pl->c_head_acc);
		pl->v_nmps[axis] += plant_div(pl->a_umps2[axis] *
					      PLANT_SUBSTEP_NS, 1000000);
		pl->x_nm[axis] += plant_div(pl->v_nmps[axis] *
					    PLANT_SUBSTEP_NS, 1000000000);
	}
	pl->now_ns += PLANT_SUBSTEP_NS;
}

void plant_advance(struct plant *pl, uint32_t dt_ns)
{
	uint64_t left = (uint64_t)pl->carry_ns + dt_ns;
	struct plant_loads ld;

	if (left >= PLANT_SUBSTEP_NS)
		plant_loads(pl, &ld);
	while (left >= PLANT_SUBSTEP_NS) {
		plant_substep(pl, &ld);
		left -= PLANT_SUBSTEP_NS;
	}
	pl->carry_ns = (uint32_t)left;
}

/* xorshift64*: small, fast, and the same sequence in kernel and tests */
static uint64_t plant_rand(struct plant *pl)
{
	pl->rng ^= pl->rng >> 12;
	pl->rng ^= pl->rng << 25;
	pl->rng ^= pl->rng >> 27;
	return pl->rng * 0x2545f4914f6cdd1dULL;
}

/* zero-mean noise with @rms_ug RMS: a sum of four uniforms (Irwin-Hall) */
static int64_t plant_noise_ug(struct plant *pl, int32_t rms_ug)
{
	uint64_t r = plant_rand(pl);
	int64_t sum = (int64_t)(r & 0xffff) + ((r >> 16) & 0xffff) +
		      ((r >> 32) & 0xffff) + ((r >> 48) & 0xffff);

	/* the sum's mean is 131070, its standard deviation 37837 */
	return plant_div((sum - 131070) * rms_ug, 37837);
}

/* @full: the range in LSB, plant_full_lsb() */
static int16_t plant_to_lsb(const struct plant *pl, int64_t full, int64_t ug)
{
	int64_t lsb = pl->p.sensor_lsb_ug;
	int64_t raw = plant_div(ug + (ug >= 0 ? lsb / 2 : -lsb / 2), lsb);

	if (raw > full)
		raw = full;
	if (raw < -full - 1)
		raw = -full - 1;
	return (int16_t)raw;
}

static int64_t plant_full_lsb(const struct plant *pl)
{
	int64_t full = plant_div((int64_t)pl->p.sensor_range_mg * 1000,
				 pl->p.sensor_lsb_ug);

	return full > 32767 ? 32767 : full;
}

int plant_sample(struct plant *pl, struct plant_sample *ret)
{
	int32_t noise = pl->p.sensor_noise_ug;
	int64_t ug[3], full;
	int axis;

	if (pl->fault[PLANT_FAULT_SENSOR_DROPOUT])
		return -EIO;
	if (pl->fault[PLANT_FAULT_SENSOR_STUCK]) {
		*ret = pl->last;
		return 0;
	}
	for (axis = 0; axis < 2; axis++)
		ug[axis] = mul_q32(pl->a_umps2[axis], pl->c_ug);
	ug[2] = 1000000;	/* head level: gravity on z */
	for (axis = 0; axis < 3; axis++)
		ug[axis] += plant_noise_ug(pl, noise);

	full = plant_full_lsb(pl);
	pl->last.x = plant_to_lsb(pl, full, ug[0]);
	pl->last.y = plant_to_lsb(pl, full, ug[1]);
	pl->last.z = plant_to_lsb(pl, full, ug[2]);
	*ret = pl->last;
	return 0;
}

int32_t plant_freq_mhz(const struct plant *pl)
{
	return (int32_t)mul_q32(pl->w_urad, MHZ_PER_URAD_Q32);
}

int32_t plant_current_ma(const struct plant *pl)
{
	return (int32_t)plant_div(pl->i_ua, 1000);
}

uint64_t plant_time_ns(const struct plant *pl)
{
	return pl->now_ns;
}
