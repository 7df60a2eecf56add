/* SPDX-License-Identifier: MIT */
/*
 * massaged-manager-private.h - struct Manager, shared by the daemon's
 * files (manager, supervisor, control socket, handset). Clients use
 * massaged-manager.h only.
 */
#ifndef MASSAGED_MANAGER_PRIVATE_H
#define MASSAGED_MANAGER_PRIVATE_H

#include <limits.h>

#include <systemd/sd-bus.h>

#include "massaged-manager.h"

struct handset;

struct Manager {
	sd_event *event;
	struct massaged_config config;
	struct manager_options opts;
	char state_dir[PATH_MAX];

	struct backend *backend;
	struct control_thread *ct;
	char device[64];
	struct backend_info info;
	bool ready_sent;
	bool memory_locked;
	bool realtime;
	bool first_device;
	bool marked_running;		/* $STATE_DIRECTORY/running exists */

	enum manager_state state;
	char status[256];		/* last STATUS= */
	char why[256];			/* refusal text for API callers */

	/* safety */
	struct safety_monitor safety;
	struct safety_verdict verdict;
	enum safety_reason fault_reason;
	char fault_text[128];
	uint64_t fault_ns;
	uint64_t drive_off_ns;
	bool wait_drive_off;
	bool estop_asserted;
	bool watchdog_tripped;		/* not yet seen by safety_evaluate */
	bool contact_seen;		/* head on a body during this run */

	/* calibration */
	bool calibrated;
	struct calibration cal;

	/* the session */
	uint32_t target_mhz;
	uint32_t intensity_permille;
	struct telemetry last;
	bool have_last;

	/* event sources */
	sd_event_source *telemetry_source;
	sd_event_source *device_event_source;
	sd_event_source *hotplug_source;
	sd_event_source *supervision_timer;
	sd_event_source *watchdog_timer;
	sd_event_source *exit_timer;
	sd_event_source *sigterm_source;
	sd_event_source *sigint_source;
	sd_event_source *control_socket_source;
	int control_socket_fd;
	uint64_t watchdog_usec;
	uint64_t watchdog_heartbeat;
	bool watchdog_stuck_logged;

	struct handset *handset;

	struct {
		manager_fault_cb cb;
		void *userdata;
	} fault_cbs[MANAGER_FAULT_CB_MAX];

	/* sessions, queue, plans, history (massaged-session.c) */
	struct sessions *sessions;

	/* the D-Bus API (massaged-bus.c) */
	sd_bus *bus;
	sd_bus_track *owner_track;	/* the client whose session runs */
	sd_event_source *dirty_source;	/* coalesced PropertiesChanged */
	sd_event_source *telemetry_emit_timer;
	struct {
		double freq_hz, amplitude_ms2;
		bool contact;
		uint32_t headroom;
		uint64_t session_left_usec;
	} emitted;
	bool emitted_valid;
	uint32_t massage_gid;
	bool have_massage_gid;
};

/* massaged-manager.c */
void manager_set_state(Manager *m, enum manager_state s);
void manager_update_status(Manager *m);
void manager_halt(Manager *m);
/* A session's state changed under the Manager (massaged-session.c). */
void sessions_on_manager_state(Manager *m);
const char *sessions_programs_path(Manager *m);
uint64_t plan_next_local(uint64_t now_usec, int minutes);
void manager_device_lost(Manager *m);
void manager_notify_fault(Manager *m, enum manager_state s,
			  enum safety_reason reason, const char *text,
			  uint64_t t_ns);
int manager_finish_exit(Manager *m);

/* supervisor.c */
void supervisor_process(Manager *m, const struct telemetry *t);
void supervisor_device_event(Manager *m, const struct massager_event *ev);
/* Evaluate the safety rules now, without a new period (device events). */
void supervisor_evaluate_now(Manager *m);
void supervisor_fault(Manager *m, enum manager_state s,
		      enum safety_reason reason, const char *text,
		      uint64_t t_ns);

/* control-socket.c */
int control_socket_open(Manager *m, const char *path);
void control_socket_close(Manager *m);

/* handset.c */
int handset_open(Manager *m, const char *chip_label);
void handset_close(Manager *m);
void handset_update_leds(Manager *m);

#endif
