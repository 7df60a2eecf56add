// SPDX-License-Identifier: MIT
/*
 * bench-bodies - therapy on a population of simulated bodies and hands
 *
 * Each session draws a station (motor and head within +-20 % of the
 * nominal plant, supply 80-105 %), a body (tissue per newton of press
 * across the range of docs/plant.md) and a practitioner's hand (a target
 * in 20-60 Hz, presses of 1-8 N reached by ramps of 80-400 ms, a tremor of
 * 6-12 Hz at +-5-20 % of the press, a change of press, a lift-off and a
 * re-contact at random times) from a fixed seed. The station calibrates
 * once on its own motor in free air; the session then runs closed loop
 * and, for comparison, open loop at the calibration's duty for the target,
 * through the same lib code the daemon runs (bench/control-sim.c, the
 * controller's contact, dose and unreachable-target judgement, and
 * lib/safety's verdict). Truth is the plant's.
 *
 * RATE_HZ= in the environment sets the accelerometer's rate (default
 * 3200). Prints a line per group of conditions, a line per tremor
 * frequency, and last the summary; docs/control.md reads it. To look
 * closer: BODIES_LIST=1 prints each session's draw and figures on
 * stderr, BODIES_TRACE=<n> session n's closed-loop run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-sim.h"
#include "safety.h"

#define SESSIONS	240
#define RUN_S		13.0
#define TICK_S		(1.0 / CONTROL_SIM_RATE_HZ)
#define WARM_S		1.0	/* in_band and contact from here on */
#define BAND_HZ		1.0
#define SETTLE_S	0.3	/* after a press or a lift, not in_band */
#define CONTACT_GRACE_S	0.1	/* after a true change, not judged */
#define TOUCH_MN	1000	/* a light touch: pressed from here */
#define NOTICE_S	1.0	/* an unreachable target must be known by */
#define REACH_MARGIN_HZ	0.5

/* xorshift64*: the population is the same on every run */
static uint64_t rng = 0x6a09e667f3bcc909ULL;

static double uniform(double lo, double hi)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return lo + (hi - lo) * ((rng * 0x2545f4914f6cdd1dULL) >> 11) *
			    (1.0 / 9007199254740992.0);
}

static int32_t scaled(int32_t v, double lo, double hi)
{
	return (int32_t)(v * uniform(lo, hi) + 0.5);
}

/* One pressure segment: from t0 the press ramps to mn over ramp_s. */
struct segment {
	double t0, ramp_s;
	int32_t mn;
};

#define SEGMENTS_MAX	6

struct session {
	struct plant_params params;
	uint32_t supply_ppm;
	double target_hz, tremor_hz, tremor_depth, tremor_phase;
	struct segment seg[SEGMENTS_MAX];	/* in time order */
	unsigned int n_seg;
	int32_t start_mn;	/* pressed before the start (0: free air) */
	double sag_at;		/* the supply sags from then on (< 0: never) */
	uint32_t sag_ppm;	/* to this, of the supply it calibrated at */
};

static void draw_session(struct session *s)
{
	struct plant_params *p = &s->params;
	double t, lift;

	memset(s, 0, sizeof(*s));
	plant_params_default(p);
	/* station: motor and head within +-20 % of the nominal */
	p->resistance_mohm = scaled(p->resistance_mohm, 0.8, 1.2);
	p->inductance_uh = scaled(p->inductance_uh, 0.8, 1.2);
	p->ke_uvs_per_rad = scaled(p->ke_uvs_per_rad, 0.8, 1.2);
	p->inertia_gmm2 = scaled(p->inertia_gmm2, 0.8, 1.2);
	p->friction_visc_nnms = scaled(p->friction_visc_nnms, 0.8, 1.2);
	p->friction_coulomb_unm = scaled(p->friction_coulomb_unm, 0.8, 1.2);
	p->unbalance_gmm = scaled(p->unbalance_gmm, 0.8, 1.2);
	p->head_mass_g = scaled(p->head_mass_g, 0.8, 1.2);
	p->handle_stiffness_npm = scaled(p->handle_stiffness_npm, 0.8, 1.2);
	p->handle_damping_mnspm = scaled(p->handle_damping_mnspm, 0.8, 1.2);
	/* body: docs/plant.md "tissue, per N of press", its range */
	p->tissue_mass_g_per_n = scaled(p->tissue_mass_g_per_n, 0.5, 1.5);
	p->tissue_stiffness_npm_per_n =
		scaled(p->tissue_stiffness_npm_per_n, 0.5, 2.0);
	p->tissue_damping_mnspm_per_n =
		scaled(p->tissue_damping_mnspm_per_n, 0.5, 2.0);
	p->tissue_drag_unm_per_n = scaled(p->tissue_drag_unm_per_n, 0.7, 1.3);
	p->tissue_visc_nnms_per_n =
		scaled(p->tissue_visc_nnms_per_n, 0.7, 1.3);
	s->supply_ppm = (uint32_t)(uniform(0.80, 1.05) * 1000000);

	/* one station in five: the supply sags 10-20 % after calibrating */
	s->sag_at = -1;
	if (uniform(0, 1) < 0.2) {
		s->sag_at = uniform(0, 6);
		s->sag_ppm = (uint32_t)(uniform(0.80, 0.90) * s->supply_ppm);
	}
	s->target_hz = uniform(20, 60);
	s->tremor_hz = uniform(6, 12);
	s->tremor_depth = uniform(0.05, 0.20);
	s->tremor_phase = uniform(0, 2 * M_PI);

	/* the usual case: the pad is placed, then the session starts */
	t = uniform(1.2, 2.5);
	if (uniform(0, 1) < 0.7) {
		s->start_mn = (int32_t)(uniform(1, 8) * 1000);
	} else {
		s->seg[s->n_seg++] = (struct segment) {
			t, uniform(0.08, 0.4), (int32_t)(uniform(1, 8) * 1000)
		};
	}
	/* a change of press, firmer or lighter */
	t = uniform(3.0, 4.5);
	if (uniform(0, 1) < 0.6)
		s->seg[s->n_seg++] = (struct segment) {
			t, uniform(0.08, 0.4), (int32_t)(uniform(1, 8) * 1000)
		};
	/* a lift-off (a hand lifts in 30-80 ms) and a re-contact */
	lift = uniform(5.5, 8.5);
	s->seg[s->n_seg++] = (struct segment) { lift, uniform(0.03, 0.08), 0 };
	s->seg[s->n_seg++] = (struct segment) {
		lift + uniform(0.5, 1.5), uniform(0.08, 0.4),
		(int32_t)(uniform(1, 8) * 1000)
	};
}

/* The hand's press at @t, without tremor, in mN. */
static double press_mn(const struct session *s, double t)
{
	double from = s->start_mn, x;
	unsigned int i;

	for (i = 0; i < s->n_seg; i++) {
		const struct segment *g = &s->seg[i];

		if (t < g->t0)
			break;
		x = (t - g->t0) / g->ramp_s;
		if (x >= 1) {
			from = g->mn;
			continue;
		}
		/* a smooth (raised-cosine) ramp, as a hand presses */
		return from + (g->mn - from) * (1 - cos(M_PI * x)) / 2;
	}
	return from;
}

/*
 * The truth: pressed from a light touch (TOUCH_MN) up, lifted off at no
 * press at all. In between, while a hand's ramp passes, either call is
 * right.
 */
enum truth { TRUTH_LIFTED, TRUTH_BETWEEN, TRUTH_PRESSED };

static enum truth truth_at(const struct session *s, double t)
{
	double p = press_mn(s, t);

	return p >= TOUCH_MN ? TRUTH_PRESSED : p <= 0 ? TRUTH_LIFTED :
							TRUTH_BETWEEN;
}

static bool truly_pressed(const struct session *s, double t)
{
	return truth_at(s, t) == TRUTH_PRESSED;
}

static void apply_hand(struct control_sim *cs, const struct session *s,
		       double t)
{
	double p = press_mn(s, t);

	if (p <= 0) {
		plant_set_contact(&cs->plant, false, 0);
		return;
	}
	p *= 1 + s->tremor_depth * sin(2 * M_PI * s->tremor_hz * t +
				       s->tremor_phase);
	plant_set_contact(&cs->plant, true, (int32_t)p);
}

/* Steady speed of this motor at full drive under @mn (0: free air). */
static double reach_hz(const struct session *s, int32_t mn,
		       uint32_t supply_ppm)
{
	struct plant pl;
	int i;

	if (plant_init(&pl, &s->params, 1) < 0)
		return 0;
	plant_set_supply(&pl, supply_ppm);
	plant_set_contact(&pl, mn > 0, mn);
	plant_set_drive(&pl, PLANT_DUTY_MAX_PPM, true);
	for (i = 0; i < 100; i++)
		plant_advance(&pl, 10000000);	/* 1 s */
	return plant_freq_mhz(&pl) / 1000.0;
}

/* reach[sagged][segment]: reach_hz() of each settled press */
typedef double reach_table[2][SEGMENTS_MAX + 1];

/* The full-drive speed the hand's settled press at @t leaves. */
static double reach_at(const struct session *s, const reach_table reach,
		       double t)
{
	unsigned int i, k = 0;

	for (i = 0; i < s->n_seg; i++)
		if (t >= s->seg[i].t0)
			k = i + 1;
	return reach[s->sag_at >= 0 && t >= s->sag_at][k];
}

/* A ripple at one frequency: the amplitude of its Fourier component. */
#define LOCKIN_RING	256

/*
 * v less its mean over one tremor period, whose response at the tremor
 * frequency is zero: the press's droop and slow drift are taken out, the
 * ripple is kept whole.
 */
struct lockin {
	double c, s;
	unsigned int n;
	double ring[LOCKIN_RING], sum;
	unsigned int period, head, filled;
};

static void lockin_init(struct lockin *l, double period_ticks)
{
	memset(l, 0, sizeof(*l));
	l->period = (unsigned int)(period_ticks + 0.5);
}

/* @judged: a sample to count, else only the mean is fed */
static void lockin_add(struct lockin *l, double v, double w_t, bool judged)
{
	l->sum += v - l->ring[l->head];
	l->ring[l->head] = v;
	l->head = (l->head + 1) % l->period;
	if (l->filled < l->period) {
		l->filled++;
		return;
	}
	if (!judged)
		return;
	v -= l->sum / l->period;
	l->c += v * cos(w_t);
	l->s += v * sin(w_t);
	l->n++;
}

static double lockin_amplitude(const struct lockin *l)
{
	return l->n ? 2 * hypot(l->c, l->s) / l->n : 0;
}

struct run {
	/* in_band over the judged time */
	unsigned int band_n, band_in;
	struct lockin ripple;
	/* closed loop only */
	unsigned int contact_n, contact_ok;
	unsigned int false_pauses, missed_liftoffs, liftoffs;
	double dose_true, dose_rec;
	unsigned int unreachable, unreachable_unreported;
};

static bool settling(const struct session *s, double t)
{
	unsigned int i;

	for (i = 0; i < s->n_seg; i++)
		if (t >= s->seg[i].t0 &&
		    t < s->seg[i].t0 + s->seg[i].ramp_s + SETTLE_S)
			return true;
	return false;
}

/* Time since the truth last was something else, up to the grace. */
static double since_true_change(const struct session *s, double t)
{
	double dt = 0.001, u;
	enum truth now = truth_at(s, t);

	for (u = t; u > 0 && t - u < CONTACT_GRACE_S; u -= dt)
		if (truth_at(s, u) != now)
			return t - u;
	return CONTACT_GRACE_S;
}

/* BODIES_TRACE=<session>: its closed-loop run, every 5 ms, on stderr */
static int trace_session = -1;
static unsigned int session_index;

static int run_session(const struct session *s,
		       const struct calibration *cal, const reach_table reach,
		       bool closed, struct run *ret)
{
	struct control_sim *cs = malloc(sizeof(*cs));
	struct safety_monitor mon;
	struct safety_limits lim;
	struct safety_input in;
	struct safety_verdict v;
	double t, f, seg_unreach_since = -1, lift_at = -1;
	bool seen_contact = false, was_lifted, reported = false, ramped = false;
	int i, n = (int)(RUN_S / TICK_S + 0.5), r;

	if (!cs)
		return -ENOMEM;
	memset(ret, 0, sizeof(*ret));
	lockin_init(&ret->ripple, 1.0 / (s->tremor_hz * TICK_S));
	r = control_sim_init(cs, &s->params, 0xb0d1e5);
	if (r < 0)
		goto out;
	plant_set_supply(&cs->plant, s->supply_ppm);
	safety_limits_default(&lim);
	r = safety_monitor_init(&mon, &lim);
	if (r < 0)
		goto out;
	apply_hand(cs, s, 0);
	r = control_sim_start(cs, cal, NULL, s->target_hz);
	if (r < 0)
		goto out;
	cs->closed_loop = closed;
	cs->open_duty = calibration_duty_for(cal, s->target_hz);
	was_lifted = truth_at(s, 0) == TRUTH_LIFTED;

	for (i = 0; i < n; i++) {
		bool pressed, lifted, reach_now, unreachable, judged;
		double ax, ay, amp, top;

		t = i * TICK_S;
		if (s->sag_at >= 0 && t >= s->sag_at)
			plant_set_supply(&cs->plant, s->sag_ppm);
		apply_hand(cs, s, t);
		control_sim_tick(cs);
		f = control_sim_freq_hz(cs);
		pressed = truly_pressed(s, t);
		/* the band needs some drive to spare; a report is owed
		 * where even full drive leaves the speed out of the band
		 */
		top = reach_at(s, reach, t);
		reach_now = top >= s->target_hz + REACH_MARGIN_HZ;
		unreachable = top < s->target_hz - BAND_HZ;

		if (closed && (int)session_index == trace_session && i % 5 == 0)
			fprintf(stderr, "%.3f press=%.0f truth=%d contact=%d load=%.2f f=%.2f read=%.2f ok=%d target=%.2f duty=%.3f amp=%.2f unreach=%d top=%.1f\n",
				t, press_mn(s, t), truth_at(s, t),
				cs->out.in_contact, cs->out.load_hz, f,
				cs->last.freq_hz, estimate_valid(&cs->last),
				s->target_hz, cs->out.duty,
				cs->last.amplitude_ms2, cs->out.unreachable,
				top);
		judged = t >= WARM_S && !settling(s, t) && reach_now;
		if (judged) {
			ret->band_n++;
			if (fabs(f - s->target_hz) <= BAND_HZ)
				ret->band_in++;
		}
		lockin_add(&ret->ripple, f, 2 * M_PI * s->tremor_hz * t,
			   judged && pressed);
		if (!closed)
			continue;

		/*
		 * dose: the plant's RMS head acceleration while in contact,
		 * against what the session records (lib/scheduler: the
		 * estimator's amplitude while the controller says contact),
		 * both from the end of the soft start on, as the session's
		 * dose is
		 */
		ax = cs->plant.a_umps2[0] / 1e6;
		ay = cs->plant.a_umps2[1] / 1e6;
		amp = hypot(ax, ay);
		if (cs->out.reference_hz >= s->target_hz)
			ramped = true;
		if (ramped && cs->plant.contact)
			ret->dose_true += amp * TICK_S;
		if (ramped && cs->out.in_contact && estimate_valid(&cs->last))
			ret->dose_rec += cs->last.amplitude_ms2 * TICK_S;

		/* lib/safety's verdict, fed as the daemon's supervisor does */
		if (cs->out.in_contact)
			seen_contact = true;
		in = (struct safety_input) {
			.now_ns = (uint64_t)i * 1000000 + 1000000000,
			.driving = cs->out.duty > 0,
			.duty_permille = (uint32_t)(cs->out.duty * 1000),
			.estimate_valid = estimate_valid(&cs->last),
			.estimate_flags = cs->last.flags,
			.freq_mhz = (uint32_t)(cs->last.freq_hz * 1000),
			.stall_detected = cs->out.stalled,
			.in_contact = !seen_contact || cs->out.in_contact,
		};
		safety_evaluate(&mon, &in, &v);
		if (v.action == SAFETY_STOP)
			safety_acknowledge(&mon);

		/* lift-offs: each must be called within CONTACT_GRACE_S */
		lifted = truth_at(s, t) == TRUTH_LIFTED;
		if (!was_lifted && lifted) {
			ret->liftoffs++;
			lift_at = t;
		}
		if (lift_at >= 0 && !cs->out.in_contact)
			lift_at = -1;
		if (lift_at >= 0 && (t - lift_at > CONTACT_GRACE_S ||
				     !lifted)) {
			ret->missed_liftoffs++;
			lift_at = -1;
		}
		if (v.action == SAFETY_PAUSE &&
		    v.reason == SAFETY_REASON_LOST_CONTACT && pressed &&
		    since_true_change(s, t) >= CONTACT_GRACE_S &&
		    t >= WARM_S) {
			ret->false_pauses++;
			/* one count per false lift-off */
			seen_contact = false;
		}
		was_lifted = lifted;
		if (t >= WARM_S && truth_at(s, t) != TRUTH_BETWEEN &&
		    since_true_change(s, t) >= CONTACT_GRACE_S) {
			ret->contact_n++;
			if (cs->out.in_contact == pressed)
				ret->contact_ok++;
		}

		/* an unreachable target is known within NOTICE_S */
		if (unreachable && pressed && t >= WARM_S) {
			if (seg_unreach_since < 0) {
				seg_unreach_since = t;
				reported = false;
				ret->unreachable++;
			}
			if (cs->out.unreachable)
				reported = true;
			if (!reported && t - seg_unreach_since > NOTICE_S) {
				ret->unreachable_unreported++;
				reported = true;
			}
		} else {
			seg_unreach_since = -1;
		}
	}
out:
	free(cs);
	return r;
}

struct group {
	const char *name;
	unsigned int sessions, band_n, band_in, oband_n, oband_in;
	unsigned int contact_n, contact_ok, false_pauses, missed, liftoffs;
	unsigned int unreachable, unreported;
	double dose_err_worst;
};

static void group_add(struct group *g, const struct run *c,
		      const struct run *o, double dose_err)
{
	g->sessions++;
	g->band_n += c->band_n;
	g->band_in += c->band_in;
	g->oband_n += o->band_n;
	g->oband_in += o->band_in;
	g->contact_n += c->contact_n;
	g->contact_ok += c->contact_ok;
	g->false_pauses += c->false_pauses;
	g->missed += c->missed_liftoffs;
	g->liftoffs += c->liftoffs;
	g->unreachable += c->unreachable;
	g->unreported += c->unreachable_unreported;
	if (dose_err > g->dose_err_worst)
		g->dose_err_worst = dose_err;
}

static double pct(unsigned int a, unsigned int n)
{
	return n ? 100.0 * a / n : 100.0;
}

static void group_print(const struct group *g)
{
	printf("group %-14s sessions=%u in_band_pct=%.2f open_in_band_pct=%.2f contact_correct_pct=%.2f false_pauses=%u missed_liftoffs=%u/%u dose_err_pct=%.2f unreachable=%u unreported=%u\n",
	       g->name, g->sessions, pct(g->band_in, g->band_n),
	       pct(g->oband_in, g->oband_n), pct(g->contact_ok, g->contact_n),
	       g->false_pauses, g->missed, g->liftoffs, g->dose_err_worst,
	       g->unreachable, g->unreported);
}

/* The hand's heaviest settled press over the session, in mN. */
static int32_t firmest_mn(const struct session *s)
{
	int32_t m = s->start_mn;
	unsigned int i;

	for (i = 0; i < s->n_seg; i++)
		if (s->seg[i].mn > m)
			m = s->seg[i].mn;
	return m;
}

#define TREMOR_BINS	6	/* 6-7, 7-8, ... 11-12 Hz */

int main(void)
{
	static const char *const band_names[] = { "20-33hz", "33-47hz",
						   "47-60hz" };
	static const char *const press_names[] = { "firmest<4n",
						    "firmest>=4n" };
	static const char *const supply_names[] = { "supply-steady",
						     "supply-sagged" };
	struct group by_band[3] = { 0 }, by_press[2] = { 0 }, all = { 0 };
	struct group by_supply[2] = { 0 };
	double ripple_c[TREMOR_BINS] = { 0 }, ripple_o[TREMOR_BINS] = { 0 };
	unsigned int ripple_n[TREMOR_BINS] = { 0 };
	const char *env = getenv("RATE_HZ");
	uint32_t rate_hz = env ? (uint32_t)strtoul(env, NULL, 10) : 3200;
	double tremor_gain = 0;
	unsigned int i, k;
	int r;

	env = getenv("BODIES_TRACE");
	if (env)
		trace_session = atoi(env);
	if (rate_hz < ESTIMATOR_RATE_MIN_HZ || rate_hz > ESTIMATOR_RATE_MAX_HZ) {
		fprintf(stderr, "bench-bodies: RATE_HZ=%s: the accelerometer's rate must be %u-%u Hz\n",
			getenv("RATE_HZ"), ESTIMATOR_RATE_MIN_HZ,
			ESTIMATOR_RATE_MAX_HZ);
		return 1;
	}
	control_sim_sample_hz = rate_hz;
	printf("bench-bodies: %u sessions, accelerometer at %u Hz\n",
	       SESSIONS, rate_hz);
	for (i = 0; i < SESSIONS; i++) {
		struct control_sim *cal_sim = malloc(sizeof(*cal_sim));
		reach_table reach;
		double dose_err;
		struct calibration cal;
		struct session s;
		struct run c, o;

		session_index = i;
		draw_session(&s);
		if (!cal_sim)
			return 1;
		/* the station calibrates once, in free air, on its own motor */
		r = control_sim_init(cal_sim, &s.params, 1 + i);
		if (r == 0) {
			plant_set_supply(&cal_sim->plant, s.supply_ppm);
			r = control_sim_calibrate(cal_sim, &cal);
		}
		free(cal_sim);
		if (r < 0) {
			fprintf(stderr, "bench-bodies: session %u: calibration failed: %s\n",
				i, strerror(-r));
			return 1;
		}
		/* a target above this motor's reach in free air is refused
		 * at the start (controller_set_target(), -ERANGE): the
		 * prescription is then the curve's top
		 */
		if (s.target_hz > calibration_max_freq_hz(&cal) - 1)
			s.target_hz = calibration_max_freq_hz(&cal) - 1;
		for (k = 0; k <= s.n_seg; k++) {
			int32_t mn = k ? s.seg[k - 1].mn : s.start_mn;

			reach[0][k] = reach_hz(&s, mn, s.supply_ppm);
			reach[1][k] = s.sag_at >= 0 ?
				reach_hz(&s, mn, s.sag_ppm) : reach[0][k];
		}

		r = run_session(&s, &cal, reach, true, &c);
		if (r == 0)
			r = run_session(&s, &cal, reach, false, &o);
		if (r < 0) {
			fprintf(stderr, "bench-bodies: session %u: %s\n", i,
				strerror(-r));
			return 1;
		}
		dose_err = c.dose_true > 0 ?
			100 * fabs(c.dose_rec - c.dose_true) / c.dose_true : 0;
		group_add(&all, &c, &o, dose_err);
		if (getenv("BODIES_LIST"))
			fprintf(stderr, "session %u target=%.1f supply=%.2f sag=%.1f start_mn=%d band=%.1f contact=%.1f fp=%u missed=%u dose=%.1f unrep=%u\n",
				i, s.target_hz, s.supply_ppm / 1e6, s.sag_at,
				s.start_mn, pct(c.band_in, c.band_n),
				pct(c.contact_ok, c.contact_n), c.false_pauses,
				c.missed_liftoffs,
				(c.dose_rec - c.dose_true) / c.dose_true * 100,
				c.unreachable_unreported);

		k = s.target_hz < 33.3 ? 0 : s.target_hz < 46.7 ? 1 : 2;
		group_add(&by_band[k], &c, &o, dose_err);
		group_add(&by_press[firmest_mn(&s) >= 4000], &c, &o,
			  dose_err);
		group_add(&by_supply[s.sag_at >= 0], &c, &o, dose_err);
		k = (unsigned int)(s.tremor_hz - 6);
		if (k >= TREMOR_BINS)
			k = TREMOR_BINS - 1;
		ripple_c[k] += pow(lockin_amplitude(&c.ripple), 2);
		ripple_o[k] += pow(lockin_amplitude(&o.ripple), 2);
		ripple_n[k]++;
	}
	for (k = 0; k < 3; k++) {
		by_band[k].name = band_names[k];
		group_print(&by_band[k]);
	}
	for (k = 0; k < 2; k++) {
		by_press[k].name = press_names[k];
		group_print(&by_press[k]);
	}
	for (k = 0; k < 2; k++) {
		by_supply[k].name = supply_names[k];
		group_print(&by_supply[k]);
	}
	for (k = 0; k < TREMOR_BINS; k++) {
		double c = sqrt(ripple_c[k] / (ripple_n[k] ? ripple_n[k] : 1));
		double o = sqrt(ripple_o[k] / (ripple_n[k] ? ripple_n[k] : 1));
		double g = o > 0 ? c / o : 0;

		printf("tremor %u-%u hz sessions=%u ripple_closed_hz=%.3f ripple_open_hz=%.3f gain=%.2f\n",
		       6 + k, 7 + k, ripple_n[k], c, o, g);
		if (g > tremor_gain)
			tremor_gain = g;
	}
	printf("bodies: sessions=%u in_band_pct=%.2f open_in_band_pct=%.2f tremor_gain=%.2f contact_correct_pct=%.2f false_pauses=%u missed_liftoffs=%u dose_err_pct=%.2f unreachable_unreported=%u\n",
	       all.sessions, pct(all.band_in, all.band_n),
	       pct(all.oband_in, all.oband_n), tremor_gain,
	       pct(all.contact_ok, all.contact_n), all.false_pauses,
	       all.missed, all.dose_err_worst, all.unreported);
	return 0;
}
