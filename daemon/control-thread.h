/* SPDX-License-Identifier: MIT */
/*
 * control-thread.h - the real-time control loop
 *
 * One thread per open device. Per period it reads the accelerometer block,
 * feeds lib/estimator, runs lib/controller (or lib/calibration's
 * procedure) and sets the drive. It does not allocate, log or take a lock:
 *  - commands come in latest-wins through one 64-bit atomic word;
 *  - the calibration it should use comes in through a seqlock;
 *  - telemetry goes out through an SPSC ring, with an eventfd kick;
 *  - with nothing to do it blocks in read() on an eventfd (no periodic
 *    wake-ups), and says so in an atomic flag so that the watchdog knows
 *    a still heartbeat is an idle thread, not a hung one.
 */
#ifndef MASSAGED_CONTROL_THREAD_H
#define MASSAGED_CONTROL_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "calibration.h"

enum control_cmd {
	CONTROL_CMD_IDLE,	/* nothing: the motor is off */
	CONTROL_CMD_RUN,	/* hold target_mhz, duty capped by intensity */
	CONTROL_CMD_SOFT_STOP,	/* ramp the drive down, then idle */
	CONTROL_CMD_HALT,	/* drive 0 now, then idle */
	CONTROL_CMD_CALIBRATE,	/* run the calibration staircase, then idle */
	CONTROL_CMD_QUIT,	/* drive 0, leave the thread */
};

enum control_mode {
	CONTROL_MODE_IDLE,
	CONTROL_MODE_RUNNING,
	CONTROL_MODE_STOPPING,
	CONTROL_MODE_CALIBRATING,
};

/* Estimate flags beyond lib/estimator's enum estimate_flag. */
#define TELEMETRY_NO_SAMPLES	(1u << 16)	/* the sensor gave nothing */
#define TELEMETRY_READ_ERROR	(1u << 17)	/* read_samples failed */

/**
 * struct telemetry - one control period, as the control thread saw it
 */
struct telemetry {
	uint64_t t_ns;			/* CLOCK_MONOTONIC, end of the period */
	double freq_hz;			/* estimated */
	double amplitude_ms2;
	double reference_hz;		/* soft-start reference */
	uint32_t duty_permille;		/* commanded this period */
	uint32_t est_flags;		/* enum estimate_flag | TELEMETRY_* */
	uint32_t mode;			/* enum control_mode */
	uint32_t wake_latency_ns;	/* woke this late after the deadline */
	uint32_t loop_ns;		/* wake-up to drive set */
	uint32_t overruns;		/* deadlines missed so far */
	int32_t drive_error;		/* last drive() error, 0 */
	uint16_t n_samples;		/* accelerometer samples this period */
	bool in_contact;
	bool stalled;
	bool saturated;
	bool unreachable;		/* lib/controller: target out of reach */
	double held_hz;			/* the speed held, ~0.2 s average */
	uint16_t calibration_step;	/* while calibrating */
	uint64_t cmd;			/* the command word obeyed */
};

#define LATENCY_BUCKETS 2000		/* 1 us each; the last is overflow */

struct latency_stats {
	uint64_t count;
	uint32_t p50_us, p99_us, p999_us, max_us;
};

struct control_params {
	uint32_t period_us;
	int priority;			/* SCHED_FIFO; 0 = SCHED_OTHER */
};

struct control_thread;

int control_thread_new(struct control_thread **ret, struct backend *b,
		       const struct control_params *p);
/* Stop (if running) and free; accepts NULL, returns NULL. */
struct control_thread *control_thread_free(struct control_thread *ct);
static inline void control_thread_freep(struct control_thread **ct)
{
	control_thread_free(*ct);
}

/*
 * Start the thread at the configured priority: 0, -EPERM when SCHED_FIFO is
 * not permitted (nothing started; retry with priority 0 if degraded
 * operation is allowed), or another negative errno.
 */
int control_thread_start(struct control_thread *ct, int priority);
/* Quit and join; the drive is 0 when it returns. */
void control_thread_stop(struct control_thread *ct);

void control_thread_command(struct control_thread *ct, enum control_cmd cmd,
			    uint32_t target_mhz, uint32_t intensity_permille,
			    bool restart);
enum control_cmd control_thread_last_command(struct control_thread *ct);

/* Publish the curve the controller uses from the next RUN. */
void control_thread_set_calibration(struct control_thread *ct,
				    const struct calibration *cal);
/*
 * A finished calibration run: 1 with @ret filled, a negative errno if it
 * failed (*ret untouched), 0 when none has finished since the last call.
 */
int control_thread_take_calibration(struct control_thread *ct,
				    struct calibration *ret);

int control_thread_telemetry_fd(struct control_thread *ct);
/* Drain the eventfd; call before popping. */
void control_thread_telemetry_ack(struct control_thread *ct);
bool control_thread_pop(struct control_thread *ct, struct telemetry *ret);
uint64_t control_thread_dropped(struct control_thread *ct);

/* Heartbeat: moves every period while active. */
uint64_t control_thread_heartbeat(struct control_thread *ct);
/* Blocked by design, waiting for a command (true for NULL: no thread). */
bool control_thread_is_idle(struct control_thread *ct);
/* @t was made under the latest command, not before the thread saw it. */
bool control_thread_obeys_latest(struct control_thread *ct,
				 const struct telemetry *t);
bool control_thread_is_running(struct control_thread *ct);
bool control_thread_is_realtime(struct control_thread *ct);

void control_thread_wake_latency(struct control_thread *ct,
				 struct latency_stats *ret);
void control_thread_loop_time(struct control_thread *ct,
			      struct latency_stats *ret);
uint64_t control_thread_overruns(struct control_thread *ct);
/* Start the histograms afresh (benchmarks); racy by a period, harmless. */
void control_thread_reset_latency(struct control_thread *ct);

#endif
