/* SPDX-License-Identifier: MIT */
/*
 * backend.h - where the massager is: a driver table in the manner of
 * iio-sensor-proxy. Each backend finds a device, opens it, drives the
 * motor, delivers accelerometer samples paced by the device's own sample
 * clock, and reports device events (e-stop, watchdog, removal) in the
 * kernel ABI's struct massager_event.
 *
 * Threading: discover/open/close/info/read_event/reset_estop/hotplug run in
 * the main thread. wait_samples/read_samples/drive run in the control
 * thread only and must not allocate, log or take locks.
 */
#ifndef MASSAGED_BACKEND_H
#define MASSAGED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "uapi/massager.h"

struct accel_sample {
	int16_t x, y, z;
};

struct backend_info {
	char name[64];			/* "simulation", "/dev/massager0" */
	uint32_t max_duty_permille;	/* the device's own ceiling */
	uint32_t sample_rate_hz;
	int32_t lsb_ug;			/* accelerometer LSB */
	int32_t range_lsb;		/* |raw| at or above: clipped */
	char gpiochip[MASSAGER_NAME_LEN]; /* handset lines, "" if none */
	bool estop_latched;		/* at open: latched before we came */
	bool estop_asserted;
};

struct backend;

struct backend_ops {
	const char *name;
	/* 0 and the device's path, -ENODEV when there is none (yet). */
	int (*discover)(struct backend *b, char *ret_path, size_t size);
	int (*open)(struct backend *b, const char *path);
	void (*close)(struct backend *b);
	int (*info)(struct backend *b, struct backend_info *ret);

	/* Control thread. Block until @deadline_ns (CLOCK_MONOTONIC) has
	 * passed or a block of samples is ready; 0 or a negative errno.
	 */
	int (*wait_samples)(struct backend *b, uint64_t deadline_ns);
	/* Control thread: samples since the last call, up to @n; returns the
	 * count (0 when the sensor delivered none) or a negative errno.
	 * @now_ns is CLOCK_MONOTONIC as the thread woke, read once per
	 * period by the loop, so that a backend need not read it again.
	 */
	int (*read_samples)(struct backend *b, uint64_t now_ns,
			    struct accel_sample *buf, size_t n);
	/* Control thread: set the drive; also the kernel's heartbeat. */
	int (*drive)(struct backend *b, uint32_t duty_permille);
	/* Control thread: drop stale samples before a run starts. */
	void (*flush)(struct backend *b);

	/* Readable when read_event has something; -1 if never. */
	int (*events_fd)(struct backend *b);
	/* 1 with @ret filled, 0 when nothing is queued, or a negative errno */
	int (*read_event)(struct backend *b, struct massager_event *ret);
	int (*reset_estop)(struct backend *b);
	/* Readable when a device may have appeared: call discover again. */
	int (*hotplug_fd)(struct backend *b);
	/* Consume what made hotplug_fd readable. */
	void (*hotplug_ack)(struct backend *b);
	/* Close and free the backend's data (not @b itself). */
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	void *data;
};

int backend_sim_new(struct backend **ret, uint32_t sample_rate_hz,
		    uint64_t seed);
int backend_kernel_new(struct backend **ret, uint32_t sample_rate_hz);

static inline struct backend *backend_free(struct backend *b)
{
	if (b) {
		b->ops->destroy(b);
		free(b);
	}
	return NULL;
}

static inline void backend_freep(struct backend **b)
{
	backend_free(*b);
}

/*
 * The simulation's fault injection, for the control socket (main thread).
 * 0, -EINVAL for a bad argument, -ENODEV when removed.
 */
enum sim_fault {
	SIM_STALL,
	SIM_DROPOUT,
	SIM_STUCK,
	SIM_ESTOP,
	SIM_REMOVE,
	SIM_REPLUG,
	SIM_CONTACT,
	SIM_SUPPLY,
	SIM_FREEZE,	/* the control thread hangs in wait_samples() */
};

bool backend_is_sim(const struct backend *b);
int backend_sim_inject(struct backend *b, enum sim_fault fault, int64_t a,
		       int64_t c);
/* Ground truth of the simulated motor, for tests: mHz. */
int32_t backend_sim_true_freq_mhz(struct backend *b);
/* The duty the simulated motor is driven with, whatever the daemon says. */
uint32_t backend_sim_applied_duty(struct backend *b);
/* CLOCK_MONOTONIC ns when that duty last went from 0 to driven, and
 * from driven to 0; 0 never. */
uint64_t backend_sim_drive_on_ns(struct backend *b);
uint64_t backend_sim_drive_off_ns(struct backend *b);

#endif
