// SPDX-License-Identifier: MIT
/*
 * backend-sim.c - a massager simulated in userspace on lib/plant
 *
 * `massaged --simulate` runs against this. It behaves like the kernel
 * driver where the daemon can tell: the drive is cut while the e-stop is
 * latched (-ECANCELED, as MASSAGER_IOC_DRIVE), the latch is cleared only
 * by reset_estop once the line is released (-EBUSY before), removal queues
 * MASSAGER_EVENT_REMOVED and then every call fails with -ENODEV, and a
 * replug makes the hotplug fd readable so that the manager discovers the
 * "new" device (a fresh plant, at rest).
 *
 * Time: the plant is advanced by the real CLOCK_MONOTONIC time that passed
 * between two read_samples() calls (capped; the time each period's control
 * thread woke, which it passes in), and sampled at the configured
 * accelerometer rate, so the simulated sensor is paced by the control
 * thread's clock_nanosleep(TIMER_ABSTIME) exactly like a FIFO of a real
 * sensor would be. While the control thread is idle the plant stands
 * still; flush() lets it catch up when the thread wakes.
 *
 * Fault injection comes from the main thread (the control socket) through
 * atomics that the control thread applies to the plant at its next period:
 * the plant itself is only ever touched by one thread at a time.
 *
 * What the simulated motor is driven with is kept here, apart from what
 * the daemon reports, so that tests can check the daemon against the
 * board: the applied duty and when it last went on and off (the
 * control socket's sim_duty_permille=, sim_drive_on_ns= and
 * sim_drive_off_ns=) and, with
 * MASSAGED_SIM_DRIVE_TRACE=FILE, every change of it in a ring, written to
 * FILE as "t_ns duty" lines when the backend is destroyed (after the
 * control thread has stopped: no I/O in the loop).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "macro.h"
#include "plant.h"

#define SIM_EVENT_QUEUE		16
/* Longest stretch of simulated time one read_samples() may cover. */
#define SIM_MAX_ADVANCE_NS	(20 * NSEC_PER_MSEC)
/* Catching up after idle: by then any rotor has coasted to a stop. */
#define SIM_MAX_CATCH_UP_NS	(2 * NSEC_PER_SEC)
/* Drive changes kept for MASSAGED_SIM_DRIVE_TRACE: seconds of running. */
#define SIM_TRACE_LEN		8192

struct sim_drive_change {
	uint64_t t_ns;
	uint32_t duty_permille;
};

struct sim {
	uint32_t rate_hz;
	uint64_t seed;
	unsigned int generation;	/* bumped per replug */
	bool is_open;

	/* control thread only (after open) */
	struct plant plant;
	struct plant_params params;
	uint64_t last_ns;
	uint32_t sample_phase;		/* in 1/rate_hz ns units */

	/* main thread -> control thread */
	atomic_bool present;
	atomic_bool estop_asserted;
	atomic_bool estop_latched;
	atomic_uint faults;		/* 1 << enum plant_fault */
	atomic_int contact_mn;		/* < 0: free air */
	atomic_uint supply_ppm;
	atomic_bool freeze;		/* test: hang the control thread */

	/* control thread -> main thread */
	atomic_uint applied_duty;
	atomic_uint_least64_t drive_on_ns;	/* last off -> driven */
	atomic_uint_least64_t drive_off_ns;	/* last driven -> off */
	atomic_int true_freq_mhz;
	/* control thread, then main thread once it has stopped */
	struct sim_drive_change *trace;	/* NULL unless asked for */
	uint64_t trace_count;
	char *trace_path;

	/* main thread only */
	struct massager_event events[SIM_EVENT_QUEUE];
	unsigned int ev_head, ev_count;
	uint32_t seq;
	int event_fd;
	int hotplug_fd;
};

static struct sim *SIM(struct backend *b)
{
	return b->data;
}

/* The drive the simulated motor gets now, whoever sets it. */
static void sim_set_applied(struct sim *s, uint32_t duty_permille)
{
	uint32_t was = atomic_load_explicit(&s->applied_duty,
					    memory_order_relaxed);
	uint64_t now;

	if (was == duty_permille)
		return;
	atomic_store_explicit(&s->applied_duty, duty_permille,
			      memory_order_relaxed);
	if (was && duty_permille && !s->trace)
		return;
	now = now_ns();
	if (!was)
		atomic_store_explicit(&s->drive_on_ns, now,
				      memory_order_relaxed);
	if (!duty_permille)
		atomic_store_explicit(&s->drive_off_ns, now,
				      memory_order_relaxed);
	if (s->trace)
		s->trace[s->trace_count++ % SIM_TRACE_LEN] =
			(struct sim_drive_change) { now, duty_permille };
}

static void sim_trace_write(struct sim *s)
{
	_cleanup_(fclosep) FILE *f = NULL;
	uint64_t i;

	if (!s->trace)
		return;
	f = fopen(s->trace_path, "we");
	if (!f)
		return;
	i = s->trace_count > SIM_TRACE_LEN ? s->trace_count - SIM_TRACE_LEN : 0;
	for (; i < s->trace_count; i++)
		fprintf(f, "%llu %u\n",
			(unsigned long long)s->trace[i % SIM_TRACE_LEN].t_ns,
			s->trace[i % SIM_TRACE_LEN].duty_permille);
}

static void sim_post(struct sim *s, uint32_t type, uint32_t value)
{
	struct massager_event *ev;
	uint64_t one = 1;

	if (s->ev_count == SIM_EVENT_QUEUE) {
		/* Full: drop the oldest, as the kernel's kfifo would drop. */
		s->ev_head = (s->ev_head + 1) % SIM_EVENT_QUEUE;
		s->ev_count--;
	}
	ev = &s->events[(s->ev_head + s->ev_count) % SIM_EVENT_QUEUE];
	*ev = (struct massager_event) {
		.timestamp_ns = now_ns(),
		.type = type,
		.seq = s->seq++,
		.value = value,
	};
	s->ev_count++;
	if (write(s->event_fd, &one, sizeof(one)) < 0) {
		/* eventfd counter overflow cannot happen at our rates */
	}
}

static int sim_discover(struct backend *b, char *ret_path, size_t size)
{
	struct sim *s = SIM(b);

	if (!atomic_load(&s->present))
		return -ENODEV;
	snprintf(ret_path, size, "simulation:%u", s->generation);
	return 0;
}

static int sim_open(struct backend *b, const char *path _unused_)
{
	struct sim *s = SIM(b);
	int r;

	if (!atomic_load(&s->present))
		return -ENODEV;
	r = plant_init(&s->plant, &s->params, s->seed + s->generation);
	if (r < 0)
		return r;
	s->last_ns = 0;
	s->sample_phase = 0;
	sim_set_applied(s, 0);
	atomic_store(&s->true_freq_mhz, 0);
	s->is_open = true;
	return 0;
}

static void sim_close(struct backend *b)
{
	struct sim *s = SIM(b);

	if (s->is_open)
		plant_set_drive(&s->plant, 0, false);
	sim_set_applied(s, 0);
	s->is_open = false;
}

static int sim_info(struct backend *b, struct backend_info *ret)
{
	struct sim *s = SIM(b);

	*ret = (struct backend_info) {
		.max_duty_permille = MASSAGER_DUTY_FULL_PERMILLE,
		.sample_rate_hz = s->rate_hz,
		.lsb_ug = s->params.sensor_lsb_ug,
		.range_lsb = (int32_t)((int64_t)s->params.sensor_range_mg *
				       1000 / s->params.sensor_lsb_ug),
	};
	snprintf(ret->name, sizeof(ret->name), "simulation:%u",
		 s->generation);
	ret->estop_latched = atomic_load(&s->estop_latched);
	ret->estop_asserted = atomic_load(&s->estop_asserted);
	return 0;
}

static int sim_wait_samples(struct backend *b, uint64_t deadline_ns)
{
	struct timespec ts = ns_to_timespec(deadline_ns);
	const struct timespec ms = { .tv_nsec = NSEC_PER_MSEC };
	int r;

	/* A hung driver, for the watchdog tests: nothing comes back. */
	while (atomic_load_explicit(&SIM(b)->freeze, memory_order_relaxed))
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);

	do
		r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	while (r == EINTR);
	return -r;
}

/* Apply what the main thread asked for since the last period. */
static void sim_apply_injections(struct sim *s)
{
	unsigned int faults = atomic_load_explicit(&s->faults,
						   memory_order_relaxed);
	int mn = atomic_load_explicit(&s->contact_mn, memory_order_relaxed);
	int f;

	for (f = 0; f < PLANT_FAULT_COUNT; f++)
		if (s->plant.fault[f] != !!(faults & (1u << f)))
			plant_set_fault(&s->plant, f, faults & (1u << f));
	if (s->plant.contact != (mn >= 0) ||
	    (mn >= 0 && s->plant.pressure_mn != mn))
		plant_set_contact(&s->plant, mn >= 0, mn >= 0 ? mn : 0);
	plant_set_supply(&s->plant,
			 atomic_load_explicit(&s->supply_ppm,
					      memory_order_relaxed));
	/* The e-stop cuts the drive in "hardware", whatever software does. */
	if (atomic_load(&s->estop_latched) || !atomic_load(&s->present)) {
		plant_set_drive(&s->plant, 0, false);
		sim_set_applied(s, 0);
	}
}

static int sim_read_samples(struct backend *b, uint64_t now,
			    struct accel_sample *buf, size_t n)
{
	struct sim *s = SIM(b);
	uint64_t left;
	struct plant_sample smp;
	size_t got = 0;
	uint32_t dt;

	if (!atomic_load_explicit(&s->present, memory_order_acquire))
		return -ENODEV;
	sim_apply_injections(s);
	left = s->last_ns ? now - s->last_ns : 0;
	if (left > SIM_MAX_ADVANCE_NS)
		left = SIM_MAX_ADVANCE_NS;
	s->last_ns = now;

	while (left) {
		dt = (1000000000u - s->sample_phase) / s->rate_hz;
		if (dt == 0)
			dt = 1;
		if (dt > left)
			dt = (uint32_t)left;
		plant_advance(&s->plant, dt);
		left -= dt;
		s->sample_phase += dt * s->rate_hz;
		if (s->sample_phase >= 1000000000u) {
			s->sample_phase -= 1000000000u;
			if (plant_sample(&s->plant, &smp) == 0 && got < n)
				buf[got++] = (struct accel_sample) {
					smp.x, smp.y, smp.z
				};
		}
	}
	atomic_store_explicit(&s->true_freq_mhz, plant_freq_mhz(&s->plant),
			      memory_order_relaxed);
	return (int)got;
}

static int sim_drive(struct backend *b, uint32_t duty_permille)
{
	struct sim *s = SIM(b);

	if (!atomic_load_explicit(&s->present, memory_order_acquire)) {
		plant_set_drive(&s->plant, 0, false);
		sim_set_applied(s, 0);
		return -ENODEV;
	}
	if (duty_permille > MASSAGER_DUTY_FULL_PERMILLE)
		return -ERANGE;
	if (duty_permille && atomic_load(&s->estop_latched)) {
		plant_set_drive(&s->plant, 0, false);
		sim_set_applied(s, 0);
		return -ECANCELED;
	}
	plant_set_drive(&s->plant, duty_permille * (PLANT_DUTY_MAX_PPM / 1000),
			duty_permille > 0);
	sim_set_applied(s, duty_permille);
	return 0;
}

/*
 * Called as the control thread wakes from idle: the motor went on coasting
 * in the meantime, so let the plant catch up (at most 2 s, by then any
 * rotor has stopped) and drop the samples of that stretch.
 */
static void sim_flush(struct backend *b)
{
	struct sim *s = SIM(b);
	uint64_t now = now_ns(), left;

	left = s->last_ns && now > s->last_ns ? now - s->last_ns : 0;
	if (left > SIM_MAX_CATCH_UP_NS)
		left = SIM_MAX_CATCH_UP_NS;
	sim_apply_injections(s);
	while (left) {
		uint32_t dt = left > NSEC_PER_MSEC ? NSEC_PER_MSEC :
						     (uint32_t)left;

		plant_advance(&s->plant, dt);
		left -= dt;
	}
	s->last_ns = now;
	atomic_store_explicit(&s->true_freq_mhz, plant_freq_mhz(&s->plant),
			      memory_order_relaxed);
}

static int sim_events_fd(struct backend *b)
{
	return SIM(b)->event_fd;
}

static int sim_read_event(struct backend *b, struct massager_event *ret)
{
	struct sim *s = SIM(b);
	uint64_t v;

	if (s->ev_count == 0) {
		/* Reset the eventfd: nothing left to report. */
		if (read(s->event_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: already reset */
		}
		return 0;
	}
	*ret = s->events[s->ev_head];
	s->ev_head = (s->ev_head + 1) % SIM_EVENT_QUEUE;
	s->ev_count--;
	return 1;
}

static int sim_reset_estop(struct backend *b)
{
	struct sim *s = SIM(b);

	if (!atomic_load(&s->present))
		return -ENODEV;
	if (atomic_load(&s->estop_asserted))
		return -EBUSY;
	if (atomic_exchange(&s->estop_latched, false))
		sim_post(s, MASSAGER_EVENT_ESTOP_RESET, 0);
	return 0;
}

static int sim_hotplug_fd(struct backend *b)
{
	return SIM(b)->hotplug_fd;
}

static void sim_hotplug_ack(struct backend *b)
{
	uint64_t v;

	if (read(SIM(b)->hotplug_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}

static void sim_destroy(struct backend *b);

static const struct backend_ops sim_ops = {
	.name = "simulation",
	.discover = sim_discover,
	.open = sim_open,
	.close = sim_close,
	.info = sim_info,
	.wait_samples = sim_wait_samples,
	.read_samples = sim_read_samples,
	.drive = sim_drive,
	.flush = sim_flush,
	.events_fd = sim_events_fd,
	.read_event = sim_read_event,
	.reset_estop = sim_reset_estop,
	.hotplug_fd = sim_hotplug_fd,
	.hotplug_ack = sim_hotplug_ack,
	.destroy = sim_destroy,
};

bool backend_is_sim(const struct backend *b)
{
	return b && b->ops == &sim_ops;
}

int backend_sim_inject(struct backend *b, enum sim_fault fault, int64_t a,
		       int64_t c)
{
	struct sim *s;
	uint64_t one = 1;
	unsigned int bit;

	if (!backend_is_sim(b))
		return -EOPNOTSUPP;
	s = SIM(b);
	if (a != 0 && a != 1 && fault != SIM_SUPPLY && fault != SIM_REMOVE &&
	    fault != SIM_REPLUG)
		return -EINVAL;
	switch (fault) {
	case SIM_FREEZE:
		atomic_store(&s->freeze, a);
		return 0;
	case SIM_STALL:
	case SIM_DROPOUT:
	case SIM_STUCK:
		bit = fault == SIM_STALL ? PLANT_FAULT_STALL :
		      fault == SIM_DROPOUT ? PLANT_FAULT_SENSOR_DROPOUT :
					     PLANT_FAULT_SENSOR_STUCK;
		if (a)
			atomic_fetch_or(&s->faults, 1u << bit);
		else
			atomic_fetch_and(&s->faults, ~(1u << bit));
		return 0;
	case SIM_CONTACT:
		if (a && (c < 0 || c > 100000))
			return -EINVAL;
		atomic_store(&s->contact_mn, a ? (int)c : -1);
		return 0;
	case SIM_SUPPLY:
		if (a < 0 || a > 1000000)
			return -EINVAL;
		atomic_store(&s->supply_ppm, (unsigned int)a);
		return 0;
	case SIM_ESTOP:
		if (!atomic_load(&s->present))
			return -ENODEV;
		if (a && !atomic_load(&s->estop_asserted)) {
			atomic_store(&s->estop_asserted, true);
			atomic_store(&s->estop_latched, true);
			sim_post(s, MASSAGER_EVENT_ESTOP_PRESSED,
				 atomic_load(&s->applied_duty));
		} else if (!a && atomic_load(&s->estop_asserted)) {
			atomic_store(&s->estop_asserted, false);
			sim_post(s, MASSAGER_EVENT_ESTOP_RELEASED, 0);
		}
		return 0;
	case SIM_REMOVE:
		if (!atomic_load(&s->present))
			return -ENODEV;
		atomic_store(&s->present, false);
		sim_post(s, MASSAGER_EVENT_REMOVED,
			 atomic_load(&s->applied_duty));
		return 0;
	case SIM_REPLUG:
		if (atomic_load(&s->present))
			return -EEXIST;
		/* A new board: no e-stop latch, no faults, free air. */
		s->generation++;
		atomic_store(&s->faults, 0);
		atomic_store(&s->estop_asserted, false);
		atomic_store(&s->estop_latched, false);
		atomic_store(&s->contact_mn, -1);
		atomic_store(&s->supply_ppm, 1000000);
		atomic_store(&s->present, true);
		if (write(s->hotplug_fd, &one, sizeof(one)) < 0)
			return -errno;
		return 0;
	}
	return -EINVAL;
}

int32_t backend_sim_true_freq_mhz(struct backend *b)
{
	return backend_is_sim(b) ? atomic_load(&SIM(b)->true_freq_mhz) : 0;
}

uint32_t backend_sim_applied_duty(struct backend *b)
{
	return backend_is_sim(b) ? atomic_load(&SIM(b)->applied_duty) : 0;
}

uint64_t backend_sim_drive_on_ns(struct backend *b)
{
	return backend_is_sim(b) ? atomic_load(&SIM(b)->drive_on_ns) : 0;
}

uint64_t backend_sim_drive_off_ns(struct backend *b)
{
	return backend_is_sim(b) ? atomic_load(&SIM(b)->drive_off_ns) : 0;
}

int backend_sim_new(struct backend **ret, uint32_t sample_rate_hz,
		    uint64_t seed)
{
	struct backend *b;
	const char *trace;
	struct sim *s;
	int r;

	b = calloc(1, sizeof(*b));
	s = calloc(1, sizeof(*s));
	if (!b || !s) {
		free(b);
		free(s);
		return -ENOMEM;
	}
	b->ops = &sim_ops;
	b->data = s;
	s->rate_hz = sample_rate_hz;
	s->seed = seed;
	s->event_fd = -1;
	s->hotplug_fd = -1;
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->hotplug_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0 || s->hotplug_fd < 0) {
		r = -errno;
		backend_free(b);
		return r;
	}
	plant_params_default(&s->params);
	trace = getenv("MASSAGED_SIM_DRIVE_TRACE");
	if (trace && *trace) {
		s->trace_path = strdup(trace);
		s->trace = calloc(SIM_TRACE_LEN, sizeof(*s->trace));
		if (!s->trace_path || !s->trace) {
			backend_free(b);
			return -ENOMEM;
		}
	}
	atomic_store(&s->present, true);
	atomic_store(&s->contact_mn, -1);
	atomic_store(&s->supply_ppm, 1000000);
	*ret = b;
	return 0;
}

static void sim_destroy(struct backend *b)
{
	struct sim *s = SIM(b);

	sim_close(b);
	sim_trace_write(s);
	free(s->trace);
	free(s->trace_path);
	safe_close(s->event_fd);
	safe_close(s->hotplug_fd);
	free(s);
}
