// SPDX-License-Identifier: MIT
/*
 * control-thread.c - the real-time control loop, in the manner of
 * cyclictest: absolute deadlines on CLOCK_MONOTONIC advanced by the period,
 * missed periods counted and skipped without drift.
 *
 * Nothing in control_loop() and what it calls allocates, logs, or takes a
 * lock another thread holds. Every exit path sets the drive to 0.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "control-thread.h"
#include "controller.h"
#include "estimator.h"
#include "macro.h"
#include "spsc-ring.h"

#define TELEMETRY_RING		1024
#define SAMPLES_MAX		128	/* per period: 40 ms at 3200 Hz */
/*
 * Kick the main thread every this many periods (25 ms at 1 kHz), and at
 * once on any change of flags, mode or stall: faults are not batched.
 */
#define KICK_EVERY		25
/* How long the loop reads a coasting rotor at most, see control_loop(). */
#define COAST_MAX_NS		(3 * NSEC_PER_SEC)
#define STACK_SIZE		(256 * 1024)
#define STACK_PREFAULT		(64 * 1024)

/* The command word: mode | target_mhz << 8 | intensity << 32 | gen << 48 */
#define CMD_MODE(w)		((unsigned int)((w) & 0xff))
#define CMD_TARGET_MHZ(w)	((uint32_t)(((w) >> 8) & 0xffffff))
#define CMD_INTENSITY(w)	((uint32_t)(((w) >> 32) & 0xffff))
#define CMD_GEN(w)		((uint32_t)((w) >> 48))

struct control_thread {
	struct backend *backend;
	struct control_params params;
	struct backend_info info;
	pthread_t thread;
	bool started;
	bool realtime;

	atomic_uint_fast64_t cmd;
	int wake_fd;			/* main -> thread: look at cmd */
	int kick_fd;			/* thread -> main: telemetry ready */
	atomic_bool idle;
	atomic_uint_fast64_t heartbeat;

	/* calibration in (seqlock) */
	atomic_uint cal_seq;
	struct calibration cal_shared;
	/* calibration out */
	struct calibration cal_result;
	atomic_int cal_done;		/* 0, 1 ready, < 0 failed */

	struct spsc_ring ring;
	struct telemetry ring_slots[TELEMETRY_RING];

	atomic_uint wake_hist[LATENCY_BUCKETS];
	atomic_uint loop_hist[LATENCY_BUCKETS];
	atomic_uint wake_max_ns, loop_max_ns;
	atomic_uint overruns;

	/* thread-private from here */
	struct estimator est;
	struct controller ctl;
	struct controller_config ctl_cfg;
	struct calibration cal;
	struct calibration_run calrun;
	bool calibrating;
	struct accel_sample samples[SAMPLES_MAX];
};

int control_thread_new(struct control_thread **ret, struct backend *b,
		       const struct control_params *p)
{
	struct estimator_config ec;
	struct control_thread *ct;
	int r;

	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return -ENOMEM;
	ct->wake_fd = ct->kick_fd = -1;
	ct->backend = b;
	ct->params = *p;
	r = b->ops->info(b, &ct->info);
	if (r < 0)
		goto fail;
	estimator_config_default(&ec, ct->info.sample_rate_hz);
	ec.window_samples = controller_window_samples(ct->info.sample_rate_hz);
	ec.lsb_ug = ct->info.lsb_ug;
	ec.range_lsb = ct->info.range_lsb;
	r = estimator_init(&ct->est, &ec);
	if (r < 0)
		goto fail;
	controller_config_default(&ct->ctl_cfg);
	r = spsc_ring_init(&ct->ring, ct->ring_slots, TELEMETRY_RING,
			   sizeof(struct telemetry));
	if (r < 0)
		goto fail;
	ct->wake_fd = eventfd(0, EFD_CLOEXEC);
	ct->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ct->wake_fd < 0 || ct->kick_fd < 0) {
		r = -errno;
		goto fail;
	}
	*ret = ct;
	return 0;
fail:
	control_thread_free(ct);
	return r;
}

struct control_thread *control_thread_free(struct control_thread *ct)
{
	if (!ct)
		return NULL;
	control_thread_stop(ct);
	safe_close(ct->wake_fd);
	safe_close(ct->kick_fd);
	free(ct);
	return NULL;
}

/* --- main-thread side --------------------------------------------------- */

void control_thread_command(struct control_thread *ct, enum control_cmd cmd,
			    uint32_t target_mhz, uint32_t intensity_permille,
			    bool restart)
{
	uint64_t old = atomic_load(&ct->cmd), w, one = 1;
	uint64_t gen = CMD_GEN(old) + (restart ? 1 : 0);

	w = (uint64_t)cmd | ((uint64_t)(target_mhz & 0xffffff) << 8) |
	    ((uint64_t)(intensity_permille & 0xffff) << 32) |
	    ((gen & 0xffff) << 48);
	atomic_store(&ct->cmd, w);
	if (write(ct->wake_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail short of a counter overflow. */
	}
}

enum control_cmd control_thread_last_command(struct control_thread *ct)
{
	return CMD_MODE(atomic_load(&ct->cmd));
}

void control_thread_set_calibration(struct control_thread *ct,
				    const struct calibration *cal)
{
	unsigned int s = atomic_load_explicit(&ct->cal_seq,
					      memory_order_relaxed);

	atomic_store_explicit(&ct->cal_seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&ct->cal_shared, cal, sizeof(*cal));
	atomic_store_explicit(&ct->cal_seq, s + 2, memory_order_release);
}

int control_thread_take_calibration(struct control_thread *ct,
				    struct calibration *ret)
{
	int r = atomic_exchange_explicit(&ct->cal_done, 0,
					 memory_order_acquire);

	if (r == 1)
		*ret = ct->cal_result;
	return r;
}

int control_thread_telemetry_fd(struct control_thread *ct)
{
	return ct->kick_fd;
}

void control_thread_telemetry_ack(struct control_thread *ct)
{
	uint64_t v;

	if (read(ct->kick_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to acknowledge */
	}
}

bool control_thread_pop(struct control_thread *ct, struct telemetry *ret)
{
	return spsc_ring_pop(&ct->ring, ret);
}

uint64_t control_thread_dropped(struct control_thread *ct)
{
	return spsc_ring_dropped(&ct->ring);
}

uint64_t control_thread_heartbeat(struct control_thread *ct)
{
	return atomic_load(&ct->heartbeat);
}

bool control_thread_is_idle(struct control_thread *ct)
{
	/* No thread drives nothing. */
	return !ct || atomic_load(&ct->idle);
}

bool control_thread_obeys_latest(struct control_thread *ct,
				 const struct telemetry *t)
{
	return t->cmd == atomic_load(&ct->cmd);
}

bool control_thread_is_running(struct control_thread *ct)
{
	return ct && ct->started;
}

bool control_thread_is_realtime(struct control_thread *ct)
{
	return ct && ct->realtime;
}

uint64_t control_thread_overruns(struct control_thread *ct)
{
	return atomic_load(&ct->overruns);
}

void control_thread_reset_latency(struct control_thread *ct)
{
	size_t i;

	for (i = 0; i < LATENCY_BUCKETS; i++) {
		atomic_store_explicit(&ct->wake_hist[i], 0, memory_order_relaxed);
		atomic_store_explicit(&ct->loop_hist[i], 0, memory_order_relaxed);
	}
	atomic_store(&ct->wake_max_ns, 0);
	atomic_store(&ct->loop_max_ns, 0);
}

static void hist_stats(atomic_uint *h, unsigned int max_ns,
		       struct latency_stats *ret)
{
	uint64_t total = 0, acc = 0;
	uint32_t *p[] = { &ret->p50_us, &ret->p99_us, &ret->p999_us };
	const double q[] = { 0.50, 0.99, 0.999 };
	unsigned int i, k = 0;

	*ret = (struct latency_stats) { 0 };
	for (i = 0; i < LATENCY_BUCKETS; i++)
		total += atomic_load_explicit(&h[i], memory_order_relaxed);
	ret->count = total;
	ret->max_us = (max_ns + 999) / 1000;
	if (!total)
		return;
	for (i = 0; i < LATENCY_BUCKETS && k < ARRAY_SIZE(p); i++) {
		acc += atomic_load_explicit(&h[i], memory_order_relaxed);
		/* Bucket i holds [i, i+1) us: report its upper edge. */
		while (k < ARRAY_SIZE(p) && acc >= q[k] * (double)total)
			*p[k++] = i + 1;
	}
}

void control_thread_wake_latency(struct control_thread *ct,
				 struct latency_stats *ret)
{
	hist_stats(ct->wake_hist, atomic_load(&ct->wake_max_ns), ret);
}

void control_thread_loop_time(struct control_thread *ct,
			      struct latency_stats *ret)
{
	hist_stats(ct->loop_hist, atomic_load(&ct->loop_max_ns), ret);
}

/* --- control thread ------------------------------------------------------ */

/* Single writer: a relaxed load and store, no locked instruction. */
static inline void count(atomic_uint *a, unsigned int n)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void hist_add(atomic_uint *h, atomic_uint *max, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int m = atomic_load_explicit(max, memory_order_relaxed);

	if (us >= LATENCY_BUCKETS)
		us = LATENCY_BUCKETS - 1;
	count(&h[us], 1);
	if (ns > m)
		atomic_store_explicit(max, ns > UINT32_MAX ? UINT32_MAX :
				      (unsigned int)ns, memory_order_relaxed);
}

static void control_read_calibration(struct control_thread *ct)
{
	unsigned int s1, s2;

	do {
		s1 = atomic_load_explicit(&ct->cal_seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(&ct->cal, &ct->cal_shared, sizeof(ct->cal));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&ct->cal_seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
}

static void control_publish(struct control_thread *ct,
			    const struct telemetry *t, bool now)
{
	static const uint64_t one = 1;

	spsc_ring_push(&ct->ring, t);
	if (now && write(ct->kick_fd, &one, sizeof(one)) < 0) {
		/* counter overflow only */
	}
}

/* Apply a new command word. Returns false when the thread must leave. */
static bool control_apply(struct control_thread *ct, uint64_t w, uint64_t old,
			  struct estimate *est, int *ret_error)
{
	struct controller_config cfg;
	double from_hz;
	uint32_t cap;
	int r;

	switch (CMD_MODE(w)) {
	case CONTROL_CMD_RUN:
		if (controller_mode(&ct->ctl) == CONTROLLER_IDLE ||
		    ct->calibrating || CMD_GEN(w) != CMD_GEN(old) ||
		    CMD_MODE(old) != CONTROL_CMD_RUN) {
			ct->calibrating = false;
			control_read_calibration(ct);
			cfg = ct->ctl_cfg;
			cap = CMD_INTENSITY(w);
			if (cap > ct->info.max_duty_permille)
				cap = ct->info.max_duty_permille;
			cfg.duty_max = cap / 1000.0;
			r = controller_init(&ct->ctl, &cfg, &ct->cal);
			if (r >= 0)
				r = controller_set_target(&ct->ctl,
						CMD_TARGET_MHZ(w) / 1000.0);
			if (r < 0) {
				controller_halt(&ct->ctl);
				*ret_error = r;
				break;
			}
			/*
			 * The speed is all a start takes from a coast. The
			 * estimator starts afresh, as after idle: what it
			 * expects of the coasting rotor (a vibration that a
			 * pressed, slowing rotor no longer makes reads as a
			 * stuck sensor) must not carry into the run.
			 */
			from_hz = estimate_valid(est) ? est->freq_hz : 0;
			estimator_reset(&ct->est);
			*est = (struct estimate) { 0 };
			controller_start(&ct->ctl, from_hz);
		} else {
			if (CMD_TARGET_MHZ(w) != CMD_TARGET_MHZ(old)) {
				r = controller_set_target(&ct->ctl,
						CMD_TARGET_MHZ(w) / 1000.0);
				if (r < 0)
					*ret_error = r;
			}
			if (CMD_INTENSITY(w) != CMD_INTENSITY(old)) {
				cap = CMD_INTENSITY(w);
				if (cap > ct->info.max_duty_permille)
					cap = ct->info.max_duty_permille;
				r = controller_set_duty_max(&ct->ctl,
							    cap / 1000.0);
				if (r < 0)
					*ret_error = r;
			}
		}
		break;
	case CONTROL_CMD_SOFT_STOP:
		if (ct->calibrating) {
			ct->calibrating = false;
			controller_halt(&ct->ctl);
		} else {
			controller_stop(&ct->ctl);
		}
		break;
	case CONTROL_CMD_CALIBRATE: {
		struct calibration_config cc;

		if (ct->calibrating && CMD_GEN(w) == CMD_GEN(old))
			break;
		controller_halt(&ct->ctl);
		calibration_config_default(&cc);
		r = calibration_run_init(&ct->calrun, &cc);
		if (r < 0) {
			atomic_store_explicit(&ct->cal_done, r,
					      memory_order_release);
			break;
		}
		ct->calibrating = true;
		break;
	}
	case CONTROL_CMD_QUIT:
		return false;
	case CONTROL_CMD_IDLE:
	case CONTROL_CMD_HALT:
	default:
		ct->calibrating = false;
		controller_halt(&ct->ctl);
		break;
	}
	return true;
}

static void control_loop(struct control_thread *ct)
{
	const uint64_t period = ct->params.period_us * NSEC_PER_USEC;
	const double period_s = ct->params.period_us / 1e6;
	uint64_t last_wake = 0;
	double dt_s;
	struct backend *b = ct->backend;
	struct controller_output out = { 0 };
	struct estimate est = { 0 };
	struct telemetry t = { 0 };
	uint64_t w, cur = 0, next, now, wake, v, coast_end = 0;
	uint32_t duty = 0, last_flags = 0, last_mode = 0, overruns = 0;
	unsigned int since_kick = 0;
	int drive_error = 0, cmd_error = 0, r, i, n;
	bool active = false, was_active = false, kick;
	double duty_f;

	controller_halt(&ct->ctl);
	b->ops->drive(b, 0);
	next = now_ns();

	for (;;) {
		w = atomic_load_explicit(&ct->cmd, memory_order_acquire);
		if (w != cur) {
			if (!control_apply(ct, w, cur, &est, &cmd_error))
				break;
			cur = w;
		}

		active = ct->calibrating ||
			 controller_mode(&ct->ctl) != CONTROLLER_IDLE;
		/*
		 * With the drive off the rotor coasts on for a second or so
		 * (the end of a calibration leaves it at full speed). Go on
		 * reading it, drive off, until it reads still, so that a
		 * start in that time ramps on from its speed: from rest, the
		 * loop would first brake it, onto a body to a crawl that a
		 * stall cannot be told from.
		 */
		if (active)
			coast_end = 0;
		else if (was_active)
			coast_end = now_ns() + COAST_MAX_NS;
		else if (coast_end &&
			 (now_ns() >= coast_end || drive_error ||
			  (est.flags & (ESTIMATE_NO_VIBRATION |
					ESTIMATE_STUCK)) ||
			  (t.est_flags & (TELEMETRY_NO_SAMPLES |
					  TELEMETRY_READ_ERROR))))
			coast_end = 0;
		was_active = active;
		if (!active && !coast_end) {
			/*
			 * Idle means idle: drive off, one last record, then
			 * block until the main thread writes wake_fd. The
			 * idle flag is set before the command is re-read, so
			 * a command published in between is never missed (its
			 * eventfd write makes read() return at once anyway).
			 */
			b->ops->drive(b, 0);
			t.duty_permille = 0;
			t.mode = CONTROL_MODE_IDLE;
			t.t_ns = now_ns();
			t.cmd = cur;
			t.drive_error = cmd_error ? cmd_error : drive_error;
			control_publish(ct, &t, true);
			cmd_error = 0;
			atomic_store(&ct->idle, true);
			if (atomic_load(&ct->cmd) == cur) {
				if (read(ct->wake_fd, &v, sizeof(v)) < 0 &&
				    errno != EINTR)
					break;
			}
			atomic_store(&ct->idle, false);
			atomic_fetch_add_explicit(&ct->heartbeat, 1,
						  memory_order_relaxed);
			/* A fresh start: stale samples and estimates go. */
			b->ops->flush(b);
			estimator_reset(&ct->est);
			est = (struct estimate) { 0 };
			drive_error = 0;
			next = now_ns() + period;
			last_wake = 0;
			continue;
		}

		r = b->ops->wait_samples(b, next);
		wake = now_ns();
		/*
		 * The time since the last period, not the nominal period: the
		 * plant moved on by that much when periods were missed.
		 */
		dt_s = last_wake ? (wake - last_wake) / 1e9 : period_s;
		last_wake = wake;
		t.wake_latency_ns = wake > next ?
			(uint32_t)(wake - next > UINT32_MAX ? UINT32_MAX :
				   wake - next) : 0;
		(void)r;

		n = b->ops->read_samples(b, wake, ct->samples, SAMPLES_MAX);
		t.est_flags = 0;
		if (n < 0) {
			t.est_flags |= TELEMETRY_READ_ERROR;
			n = 0;
		}
		for (i = 0; i < n; i++)
			estimator_feed(&ct->est, ct->samples[i].x,
				       ct->samples[i].y, ct->samples[i].z);
		estimator_read(&ct->est, &est);
		t.est_flags |= est.flags;
		if (n == 0)
			t.est_flags |= TELEMETRY_NO_SAMPLES;
		t.n_samples = (uint16_t)n;

		if (ct->calibrating) {
			r = calibration_run_step(&ct->calrun, dt_s, est.freq_hz,
						 est.amplitude_ms2,
						 t.est_flags == 0, &duty_f);
			if (r != 0) {
				if (r == 1)
					ct->cal_result = ct->calrun.result;
				atomic_store_explicit(&ct->cal_done, r,
						      memory_order_release);
				ct->calibrating = false;
				duty_f = 0;
			}
			t.mode = CONTROL_MODE_CALIBRATING;
			t.calibration_step = (uint16_t)ct->calrun.step;
			out = (struct controller_output) { 0 };
		} else {
			struct controller_input in = {
				.dt_s = dt_s,
				.freq_hz = est.freq_hz,
				.amplitude_ms2 = est.amplitude_ms2,
				.amplitude_fast_ms2 = est.amplitude_fast_ms2,
				.valid = t.est_flags == 0,
			};

			controller_step(&ct->ctl, &in, &out);
			duty_f = out.duty;
			switch (controller_mode(&ct->ctl)) {
			case CONTROLLER_RUNNING:
				t.mode = CONTROL_MODE_RUNNING;
				break;
			case CONTROLLER_STOPPING:
				t.mode = CONTROL_MODE_STOPPING;
				break;
			default:	/* coasting, or stopped this period */
				t.mode = CONTROL_MODE_IDLE;
				break;
			}
		}

		duty = duty_f > 0 ? (uint32_t)(duty_f * 1000 + 0.5) : 0;
		if (duty > ct->info.max_duty_permille)
			duty = ct->info.max_duty_permille;
		r = b->ops->drive(b, duty);
		if (r < 0) {
			/* E-stop, removal or a fault: off, and tell main. */
			drive_error = r;
			duty = 0;
			controller_halt(&ct->ctl);
			ct->calibrating = false;
			b->ops->drive(b, 0);
		}

		now = now_ns();
		hist_add(ct->wake_hist, &ct->wake_max_ns, t.wake_latency_ns);
		hist_add(ct->loop_hist, &ct->loop_max_ns, now - wake);

		t.t_ns = now;
		t.cmd = cur;
		t.freq_hz = est.freq_hz;
		t.amplitude_ms2 = est.amplitude_ms2;
		t.reference_hz = out.reference_hz;
		t.duty_permille = duty;
		t.loop_ns = (uint32_t)(now - wake);
		t.drive_error = drive_error;
		t.in_contact = out.in_contact;
		t.stalled = out.stalled;
		t.saturated = out.saturated;
		t.unreachable = out.unreachable;
		t.held_hz = out.held_hz;

		/* Skip missed periods without drift, as cyclictest does. */
		next += period;
		if (now >= next) {
			uint64_t missed = (now - next) / period + 1;

			overruns += (uint32_t)missed;
			count(&ct->overruns, (unsigned int)missed);
			next += missed * period;
		}
		t.overruns = overruns;

		kick = ++since_kick >= KICK_EVERY ||
		       t.est_flags != last_flags || t.mode != last_mode ||
		       t.stalled || drive_error;
		control_publish(ct, &t, kick);
		if (kick)
			since_kick = 0;
		last_flags = t.est_flags;
		last_mode = t.mode;
		atomic_fetch_add_explicit(&ct->heartbeat, 1,
					  memory_order_relaxed);
	}

	controller_halt(&ct->ctl);
	b->ops->drive(b, 0);
	t.duty_permille = 0;
	t.mode = CONTROL_MODE_IDLE;
	t.t_ns = now_ns();
	control_publish(ct, &t, true);
}

static void *control_thread_main(void *userdata)
{
	struct control_thread *ct = userdata;
	volatile unsigned char stack[STACK_PREFAULT];
	size_t i;

	/* Fault the stack in now, not in the middle of a period. */
	for (i = 0; i < sizeof(stack); i += 4096)
		stack[i] = 0;
	control_loop(ct);
	return NULL;
}

int control_thread_start(struct control_thread *ct, int priority)
{
	struct sched_param sp = { .sched_priority = priority };
	pthread_attr_t attr;
	int r;

	if (ct->started)
		return -EALREADY;
	r = pthread_attr_init(&attr);
	if (r)
		return -r;
	r = pthread_attr_setstacksize(&attr, STACK_SIZE);
	if (!r && priority > 0) {
		r = pthread_attr_setinheritsched(&attr,
						 PTHREAD_EXPLICIT_SCHED);
		if (!r)
			r = pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		if (!r)
			r = pthread_attr_setschedparam(&attr, &sp);
	}
	if (!r)
		r = pthread_create(&ct->thread, &attr, control_thread_main, ct);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	pthread_setname_np(ct->thread, "massaged-rt");
	ct->started = true;
	ct->realtime = priority > 0;
	return 0;
}

void control_thread_stop(struct control_thread *ct)
{
	if (!ct || !ct->started)
		return;
	control_thread_command(ct, CONTROL_CMD_QUIT, 0, 0, false);
	pthread_join(ct->thread, NULL);
	ct->started = false;
	/* Belt and braces: whatever the thread did, the drive is off. */
	ct->backend->ops->drive(ct->backend, 0);
}
