/* SPDX-License-Identifier: MIT */
/*
 * massaged-manager.h - the daemon's state and the internal API that the
 * D-Bus layer, the handset button and the debug control socket call.
 * docs/daemon.md describes the states and each call.
 *
 * Every call runs in the main thread (the sd-event loop) and returns 0 or
 * a negative errno; on refusal *ret_why (when not NULL) points at static
 * text, or text in the Manager valid until the next call, for a person.
 */
#ifndef MASSAGED_MANAGER_H
#define MASSAGED_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "backend.h"
#include "calibration.h"
#include "control-thread.h"
#include "massaged-conf.h"
#include "safety.h"

enum manager_state {
	MANAGER_NO_DEVICE,	/* waiting for a massager */
	MANAGER_IDLE,		/* device ready, motor off */
	MANAGER_CALIBRATING,
	MANAGER_RUNNING,
	MANAGER_PAUSED,		/* motor off, session kept: resume continues */
	MANAGER_STOPPING,	/* soft stop under way */
	MANAGER_FAULT,		/* a safety STOP is latched: reset required */
	MANAGER_ESTOP,		/* the e-stop is latched: reset required */
	MANAGER_EXITING,
	_MANAGER_STATE_MAX,
};

const char *manager_state_to_string(enum manager_state s);

/**
 * struct manager_fault - what a fault subscriber is told
 * @t_ns: CLOCK_MONOTONIC when it was detected
 * @state: MANAGER_FAULT, MANAGER_ESTOP, MANAGER_PAUSED or MANAGER_NO_DEVICE
 * @reason: the safety rule, SAFETY_REASON_NONE for device faults
 * @text: for a person
 */
struct manager_fault {
	uint64_t t_ns;
	enum manager_state state;
	enum safety_reason reason;
	const char *text;
};

/**
 * struct manager_telemetry - a snapshot for clients
 */
struct manager_telemetry {
	enum manager_state state;
	const char *state_text;		/* what STATUS= says */
	char device[64];		/* "" without one */
	bool realtime;			/* SCHED_FIFO and memory locked */
	bool calibrated;
	uint32_t target_mhz;
	uint32_t intensity_permille;
	double freq_hz;			/* measured; 0 unless the estimate is valid */
	double amplitude_ms2;
	double reference_hz;
	uint32_t duty_permille;
	uint32_t est_flags;
	bool in_contact;
	bool stalled;
	enum safety_reason fault_reason;
	uint64_t fault_ns;		/* when the last fault was detected */
	uint64_t drive_off_ns;		/* first period at duty 0 after it */
	uint32_t thermal_headroom_permille;
	uint64_t site_left_ms;
	uint64_t session_left_ms;
	uint64_t overruns;
	uint64_t telemetry_dropped;
	struct latency_stats wake_latency;
	struct latency_stats loop_time;
};

typedef struct Manager Manager;
typedef void (*manager_fault_cb)(Manager *m, const struct manager_fault *f,
				 void *userdata);

struct manager_options {
	bool simulate;
	const char *config_path;
	const char *control_socket;	/* debug/test socket, NULL: none */
	int priority;			/* < 0: from the configuration */
	int period_us;			/* < 0: from the configuration */
	int sample_rate_hz;		/* < 0: from the configuration */
};

int manager_new(Manager **ret, const struct massaged_config *cfg,
		const struct manager_options *opts);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m)
{
	manager_free(*m);
}
/* Set up the event sources, look for the device; then sd_event_loop(). */
int manager_startup(Manager *m);
int manager_run(Manager *m);

int manager_start(Manager *m, uint32_t target_mhz,
		  uint32_t intensity_permille, const char **ret_why);
/*
 * manager_start() without beginning a new safety session when
 * @new_session is false: the next step or repetition of a therapy
 * session keeps counting towards the session's time limit.
 */
int manager_drive(Manager *m, uint32_t target_mhz,
		  uint32_t intensity_permille, bool new_session,
		  const char **ret_why);
/*
 * Could the drive run @target_mhz at @intensity_permille on this motor:
 * the safety band, the calibration's reach, the intensity enough to turn
 * it that fast.  manager_start()'s refusals without starting.
 */
int manager_check_step(Manager *m, uint32_t target_mhz,
		       uint32_t intensity_permille, const char **ret_why);
int manager_stop(Manager *m, const char **ret_why);
int manager_pause(Manager *m, const char **ret_why);
int manager_resume(Manager *m, const char **ret_why);
int manager_set_target(Manager *m, uint32_t target_mhz,
		       const char **ret_why);
int manager_set_intensity(Manager *m, uint32_t intensity_permille,
			  const char **ret_why);
/* Clear a latched e-stop (the button must be released) or safety STOP. */
int manager_reset_estop(Manager *m, const char **ret_why);
int manager_calibrate(Manager *m, const char **ret_why);
void manager_get_telemetry(Manager *m, struct manager_telemetry *ret);
/*
 * manager_get_telemetry() without the latency histograms (wake_latency and
 * loop_time stay zero): walking their 2 x 2000 buckets is most of its
 * cost, and what is sent ten times a second does not need them.
 */
void manager_get_readings(Manager *m, struct manager_telemetry *ret);

/* At most MANAGER_FAULT_CB_MAX subscribers; 0 or -ENOSPC. */
#define MANAGER_FAULT_CB_MAX 8
int manager_add_fault_callback(Manager *m, manager_fault_cb cb,
			       void *userdata);
void manager_remove_fault_callback(Manager *m, manager_fault_cb cb,
				   void *userdata);

/* For the control socket's fault injection; NULL unless simulating. */
struct backend *manager_sim_backend(Manager *m);

#endif
