// SPDX-License-Identifier: MIT
/*
 * massaged-manager.c - the Manager: owns the sd-event loop, the backend,
 * the control thread, the supervisor's state and the calls clients make
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "calibration-store.h"
#include "log.h"
#include "massaged-bus.h"
#include "massaged-manager-private.h"
#include "massaged-session.h"

/* After SIGTERM the soft stop gets this long before the drive is cut. */
#define EXIT_RAMP_TIMEOUT_USEC	(2 * USEC_PER_SEC)
/*
 * Silence from a running control thread longer than this, or than
 * SensorLossMSec if longer, is a fault. The thread reports every 25 ms.
 */
#define SUPERVISION_TIMEOUT_MIN_USEC	(100 * 1000)

static void manager_mark_clean_exit(Manager *m);

static const char *const state_names[_MANAGER_STATE_MAX] = {
	[MANAGER_NO_DEVICE] = "no-device",
	[MANAGER_IDLE] = "idle",
	[MANAGER_CALIBRATING] = "calibrating",
	[MANAGER_RUNNING] = "running",
	[MANAGER_PAUSED] = "paused",
	[MANAGER_STOPPING] = "stopping",
	[MANAGER_FAULT] = "fault",
	[MANAGER_ESTOP] = "estop",
	[MANAGER_EXITING] = "exiting",
};

const char *manager_state_to_string(enum manager_state s)
{
	return (unsigned int)s < _MANAGER_STATE_MAX ? state_names[s] : "?";
}

static bool manager_active(const Manager *m)
{
	return m->state == MANAGER_RUNNING || m->state == MANAGER_STOPPING ||
	       m->state == MANAGER_CALIBRATING;
}

void manager_update_status(Manager *m)
{
	char s[256], rt[96] = "";

	if (m->ct && !m->realtime)
		snprintf(rt, sizeof(rt),
			 " (DEGRADED: no real-time scheduling or memory locking)");
	switch (m->state) {
	case MANAGER_NO_DEVICE:
		snprintf(s, sizeof(s), "No massager found; waiting for one");
		break;
	case MANAGER_IDLE:
		snprintf(s, sizeof(s), "Ready: %s, motor off%s%s", m->device,
			 m->calibrated ? "" : ", not calibrated", rt);
		break;
	case MANAGER_CALIBRATING:
		snprintf(s, sizeof(s), "Calibrating %s in free air (about %.0f s)%s",
			 m->device, 9.0, rt);
		break;
	case MANAGER_RUNNING:
		snprintf(s, sizeof(s), "Running at %.1f Hz, intensity %u%%%s",
			 m->target_mhz / 1000.0,
			 m->intensity_permille / 10, rt);
		break;
	case MANAGER_PAUSED:
		snprintf(s, sizeof(s), "Paused (%s); motor off, session kept",
			 m->fault_text[0] ? m->fault_text : "by request");
		break;
	case MANAGER_STOPPING:
		snprintf(s, sizeof(s), "Stopping: motor ramping down");
		break;
	case MANAGER_FAULT:
		snprintf(s, sizeof(s), "Stopped: %s; motor off until reset",
			 m->fault_text);
		break;
	case MANAGER_ESTOP:
		snprintf(s, sizeof(s), m->estop_asserted ?
			 "Emergency stop pressed; release it, then reset" :
			 "Emergency stop released; reset to use the massager");
		break;
	case MANAGER_EXITING:
	default:
		snprintf(s, sizeof(s), "Shutting down: motor off");
		break;
	}
	if (strcmp(s, m->status) != 0) {
		snprintf(m->status, sizeof(m->status), "%s", s);
		sd_notifyf(false, "STATUS=%s", s);
	}
	handset_update_leds(m);
	bus_mark_dirty(m);
}

void manager_set_state(Manager *m, enum manager_state s)
{
	if (m->state == s)
		return;
	log_debug("State %s -> %s.", manager_state_to_string(m->state),
		  manager_state_to_string(s));
	if (s == MANAGER_RUNNING || s == MANAGER_IDLE)
		m->fault_text[0] = '\0';
	m->state = s;
	manager_update_status(m);
}

void manager_notify_fault(Manager *m, enum manager_state s,
			  enum safety_reason reason, const char *text,
			  uint64_t t_ns)
{
	struct manager_fault f = {
		.t_ns = t_ns, .state = s, .reason = reason, .text = text,
	};
	size_t i;

	for (i = 0; i < MANAGER_FAULT_CB_MAX; i++)
		if (m->fault_cbs[i].cb)
			m->fault_cbs[i].cb(m, &f, m->fault_cbs[i].userdata);
}

int manager_add_fault_callback(Manager *m, manager_fault_cb cb,
			       void *userdata)
{
	size_t i;

	for (i = 0; i < MANAGER_FAULT_CB_MAX; i++)
		if (!m->fault_cbs[i].cb) {
			m->fault_cbs[i].cb = cb;
			m->fault_cbs[i].userdata = userdata;
			return 0;
		}
	return -ENOSPC;
}

void manager_remove_fault_callback(Manager *m, manager_fault_cb cb,
				   void *userdata)
{
	size_t i;

	for (i = 0; i < MANAGER_FAULT_CB_MAX; i++)
		if (m->fault_cbs[i].cb == cb &&
		    m->fault_cbs[i].userdata == userdata)
			m->fault_cbs[i].cb = NULL;
}

/* Drive off at the next period, no ramp. */
void manager_halt(Manager *m)
{
	if (m->ct)
		control_thread_command(m->ct, CONTROL_CMD_HALT, 0, 0, true);
}

static uint64_t manager_supervision_timeout_usec(const Manager *m)
{
	uint64_t usec = m->config.limits.sensor_loss_ms * 1000ull;

	return usec > SUPERVISION_TIMEOUT_MIN_USEC ? usec :
						     SUPERVISION_TIMEOUT_MIN_USEC;
}

static void manager_supervision_arm(Manager *m, bool on)
{
	if (!m->supervision_timer)
		return;
	if (on)
		sd_event_source_set_time_relative(m->supervision_timer,
						  manager_supervision_timeout_usec(m));
	sd_event_source_set_enabled(m->supervision_timer,
				    on ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

static void manager_handle_calibration(Manager *m)
{
	struct calibration cal;
	int r;

	if (!m->ct)
		return;
	r = control_thread_take_calibration(m->ct, &cal);
	if (r == 0)
		return;
	if (r < 0) {
		log_error_errno(r, "Calibration failed: %s. Check that the head is free and the motor turns, then calibrate again.",
				r == -EIO ? "no valid vibration reading at full drive" :
				r == -ERANGE ? "frequency does not rise with drive" :
				"%m");
	} else {
		m->cal = cal;
		m->calibrated = true;
		control_thread_set_calibration(m->ct, &cal);
		log_info("Calibrated: %u points, up to %.1f Hz in free air.",
			 cal.n_points, calibration_max_freq_hz(&cal));
		(void)calibration_save(m->state_dir, &cal);
	}
	if (m->state == MANAGER_CALIBRATING)
		manager_set_state(m, MANAGER_IDLE);
	else
		manager_update_status(m);
}

/* Everything the control thread reported so far; false when nothing. */
static bool manager_drain_telemetry(Manager *m)
{
	struct telemetry t;
	bool any = false;

	if (!m->ct)
		return false;
	control_thread_telemetry_ack(m->ct);
	while (m->ct && control_thread_pop(m->ct, &t)) {
		any = true;
		supervisor_process(m, &t);
	}
	return any;
}

static int on_telemetry(sd_event_source *s _unused_, int fd _unused_,
			uint32_t revents _unused_, void *userdata)
{
	Manager *m = userdata;
	bool any;

	if (!m->ct)
		return 0;
	any = manager_drain_telemetry(m);
	if (any)
		sessions_on_telemetry(m);
	manager_handle_calibration(m);
	if (any)
		manager_supervision_arm(m, m->ct && manager_active(m) &&
					!control_thread_is_idle(m->ct));
	if (m->state == MANAGER_EXITING && m->ct &&
	    control_thread_is_idle(m->ct))
		return manager_finish_exit(m);
	return 0;
}

static int on_supervision_timeout(sd_event_source *s _unused_,
				  uint64_t usec _unused_, void *userdata)
{
	Manager *m = userdata;

	if (!m->ct || control_thread_is_idle(m->ct) || !manager_active(m))
		return 0;
	/*
	 * When this (non-real-time) thread was kept off the CPU, the timer
	 * and the records are due together and the timer may be dispatched
	 * first: look at the records before calling it a gap.
	 */
	if (manager_drain_telemetry(m)) {
		if (m->ct && manager_active(m) && !control_thread_is_idle(m->ct))
			manager_supervision_arm(m, true);
		return 0;
	}
	supervisor_fault(m, MANAGER_FAULT, SAFETY_REASON_SUPERVISION_GAP,
			 "the control loop stopped reporting", now_ns());
	return 0;
}

static int on_device_event(sd_event_source *s _unused_, int fd _unused_,
			   uint32_t revents _unused_, void *userdata)
{
	Manager *m = userdata;
	struct massager_event ev;
	int r;

	while (m->backend) {
		r = m->backend->ops->read_event(m->backend, &ev);
		if (r == -ENODEV && m->state != MANAGER_NO_DEVICE) {
			manager_device_lost(m);
			break;
		}
		if (r <= 0)
			break;
		supervisor_device_event(m, &ev);
	}
	return 0;
}

static int manager_open_device(Manager *m);

static int on_hotplug(sd_event_source *s _unused_, int fd _unused_,
		      uint32_t revents _unused_, void *userdata)
{
	Manager *m = userdata;

	m->backend->ops->hotplug_ack(m->backend);
	if (m->state == MANAGER_NO_DEVICE)
		(void)manager_open_device(m);
	return 0;
}

void manager_device_lost(Manager *m)
{
	manager_supervision_arm(m, false);
	m->device_event_source = sd_event_source_disable_unref(m->device_event_source);
	m->telemetry_source = sd_event_source_disable_unref(m->telemetry_source);
	m->ct = control_thread_free(m->ct);
	if (m->backend)
		m->backend->ops->close(m->backend);
	handset_close(m);
	m->device[0] = '\0';
	if (m->state == MANAGER_EXITING) {
		manager_finish_exit(m);
		return;
	}
	/*
	 * The board and its e-stop latch are gone; a STOP latched in the
	 * safety monitor is not: after a replug the state is "fault" and a
	 * person still has to reset.
	 */
	m->estop_asserted = false;
	supervisor_evaluate_now(m);
	m->have_last = false;
	m->state = MANAGER_NO_DEVICE;
	manager_update_status(m);
	log_notice("No massager; waiting for one to be plugged in.");
}

static int manager_open_device(Manager *m)
{
	struct backend *b = m->backend;
	char path[64];
	int r, fd;

	r = b->ops->discover(b, path, sizeof(path));
	if (r == -ENODEV) {
		manager_set_state(m, MANAGER_NO_DEVICE);
		manager_update_status(m);
		log_notice("No massager found; waiting for one.");
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to look for a massager: %m");
	r = b->ops->open(b, path);
	if (r < 0)
		return log_error_errno(r, "Failed to open massager %s: %m", path);
	r = b->ops->info(b, &m->info);
	if (r < 0)
		goto fail;
	snprintf(m->device, sizeof(m->device), "%s", m->info.name);

	r = control_thread_new(&m->ct, b, &(struct control_params) {
		.period_us = m->config.period_us,
		.priority = m->config.priority,
	});
	if (r < 0) {
		log_error_errno(r, "Failed to set up the control thread: %m");
		goto fail;
	}
	r = control_thread_start(m->ct, m->config.priority);
	if (r == -EPERM || r == -EINVAL) {
		if (!m->config.allow_degraded) {
			r = -EPERM;
			log_error_errno(r, "Cannot run the control loop with SCHED_FIFO priority %d: %m. "
					"Run massaged as root or with CAP_SYS_NICE (see massaged.service), "
					"or set AllowDegraded=yes in [Control] to run without real-time guarantees.",
					m->config.priority);
			goto fail;
		}
		log_warning("DEGRADED: SCHED_FIFO priority %d refused (%s); the control loop runs without real-time guarantees.",
			    m->config.priority, strerror(-r));
		r = control_thread_start(m->ct, 0);
	}
	if (r < 0) {
		log_error_errno(r, "Failed to start the control thread: %m");
		goto fail;
	}
	m->realtime = control_thread_is_realtime(m->ct) && m->memory_locked;
	if (m->calibrated)
		control_thread_set_calibration(m->ct, &m->cal);

	r = sd_event_add_io(m->event, &m->telemetry_source,
			    control_thread_telemetry_fd(m->ct), EPOLLIN,
			    on_telemetry, m);
	if (r < 0)
		goto fail;
	/* Before the telemetry: a removal must be seen before its effect. */
	sd_event_source_set_priority(m->telemetry_source, SD_EVENT_PRIORITY_NORMAL);
	fd = b->ops->events_fd(b);
	if (fd >= 0) {
		r = sd_event_add_io(m->event, &m->device_event_source, fd,
				    EPOLLIN, on_device_event, m);
		if (r < 0)
			goto fail;
		sd_event_source_set_priority(m->device_event_source,
					     SD_EVENT_PRIORITY_IMPORTANT);
	}
	if (m->info.gpiochip[0])
		(void)handset_open(m, m->info.gpiochip);

	log_info("Massager %s ready: max duty %u permille, accelerometer %u Hz, control period %u us, %s.",
		 m->device, m->info.max_duty_permille, m->info.sample_rate_hz,
		 m->config.period_us,
		 m->realtime ? "real-time" : "NOT real-time");
	if (m->info.estop_latched) {
		/* Pressed before we opened it: the kernel kept the latch. */
		m->estop_asserted = m->info.estop_asserted;
		log_warning("The e-stop of %s is latched%s.", m->device,
			    m->estop_asserted ? " and still pressed" : "");
		supervisor_fault(m, MANAGER_ESTOP, SAFETY_REASON_ESTOP,
				 "the emergency stop was pressed", now_ns());
		supervisor_evaluate_now(m);
	} else if (m->safety.latched) {
		if (!m->fault_text[0])
			snprintf(m->fault_text, sizeof(m->fault_text), "%s",
				 safety_reason_to_string(m->safety.latched_reason));
		manager_set_state(m, MANAGER_FAULT);
	} else {
		manager_set_state(m, MANAGER_IDLE);
	}
	manager_update_status(m);
	if (!m->ready_sent) {
		sd_notify(false, "READY=1");
		m->ready_sent = true;
	}
	/* A first start without a stored curve measures one, once. */
	if (!m->calibrated && m->first_device && m->config.calibrate_at_start) {
		log_info("No stored calibration: calibrating in free air now.");
		(void)manager_calibrate(m, NULL);
	}
	m->first_device = false;
	return 0;
fail:
	m->device_event_source = sd_event_source_disable_unref(m->device_event_source);
	m->telemetry_source = sd_event_source_disable_unref(m->telemetry_source);
	m->ct = control_thread_free(m->ct);
	b->ops->close(b);
	m->device[0] = '\0';
	return r;
}

int manager_finish_exit(Manager *m)
{
	manager_supervision_arm(m, false);
	m->ct = control_thread_free(m->ct);
	if (m->backend)
		m->backend->ops->close(m->backend);
	manager_mark_clean_exit(m);
	log_info("Motor off; exiting.");
	return sd_event_exit(m->event, 0);
}

static int on_exit_timeout(sd_event_source *s _unused_, uint64_t usec _unused_,
			   void *userdata)
{
	Manager *m = userdata;

	log_warning("The soft stop did not finish in time; cutting the drive.");
	manager_halt(m);
	return manager_finish_exit(m);
}

static int on_signal(sd_event_source *s _unused_,
		     const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;
	int r;

	if (m->state == MANAGER_EXITING)
		return 0;
	log_info("Received %s: stopping the motor and exiting.",
		 strsignal((int)si->ssi_signo));
	sd_notify(false, "STOPPING=1");
	if (!m->ct || control_thread_is_idle(m->ct)) {
		m->state = MANAGER_EXITING;
		return manager_finish_exit(m);
	}
	control_thread_command(m->ct, CONTROL_CMD_SOFT_STOP, m->target_mhz,
			       m->intensity_permille, false);
	m->state = MANAGER_EXITING;
	manager_update_status(m);
	r = sd_event_add_time_relative(m->event, &m->exit_timer,
				       CLOCK_MONOTONIC, EXIT_RAMP_TIMEOUT_USEC,
				       0, on_exit_timeout, m);
	if (r < 0) {
		manager_halt(m);
		return manager_finish_exit(m);
	}
	return 0;
}

/*
 * WATCHDOG=1 only while the control loop proves it is alive: its
 * heartbeat moved since the last check, or it is blocked on purpose
 * (idle, motor off), or there is no thread (no device). A thread stuck
 * in a period stops the pings and systemd restarts us; the kernel's own
 * heartbeat watchdog has cut the motor long before.
 */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;
	bool alive = true;
	uint64_t hb;

	if (m->ct) {
		hb = control_thread_heartbeat(m->ct);
		alive = control_thread_is_idle(m->ct) ||
			hb != m->watchdog_heartbeat;
		m->watchdog_heartbeat = hb;
	}
	if (alive) {
		sd_notify(false, "WATCHDOG=1");
		m->watchdog_stuck_logged = false;
	} else if (!m->watchdog_stuck_logged) {
		log_error("The control loop has not completed a period since the last watchdog check; withholding WATCHDOG=1.");
		m->watchdog_stuck_logged = true;
	}
	return sd_event_source_set_time(s, usec + m->watchdog_usec / 4);
}

/*
 * $STATE_DIRECTORY/running exists while we run and is removed on a clean
 * exit. Found at start, the last run crashed (or was killed) and the heat
 * it left in the motor is unknown: start in thermal lockout.
 */
static void manager_check_clean_exit(Manager *m)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/running", m->state_dir);
	if (access(path, F_OK) == 0) {
		safety_monitor_assume_hot(&m->safety);
		log_warning("The last run did not end cleanly: the motor is treated as hot and locked out for %llu s.",
			    (unsigned long long)safety_thermal_cooldown_ms(&m->safety.thermal,
									   &m->safety.limits) / 1000);
		(void)unlink(path);
	}
}

/* Before the motor is first driven: from now on an exit must be clean. */
static void manager_mark_driving(Manager *m)
{
	char path[PATH_MAX + 16];
	int fd;

	if (m->marked_running)
		return;
	snprintf(path, sizeof(path), "%s/running", m->state_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warning_errno(-errno, "Cannot create %s (an unclean exit will go unnoticed): %m",
				  path);
		return;
	}
	close(fd);
	m->marked_running = true;
}

static void manager_mark_clean_exit(Manager *m)
{
	char path[PATH_MAX + 16];

	if (!m->marked_running)
		return;
	snprintf(path, sizeof(path), "%s/running", m->state_dir);
	(void)unlink(path);
	m->marked_running = false;
}

int manager_new(Manager **ret, const struct massaged_config *cfg,
		const struct manager_options *opts)
{
	Manager *m;
	const char *dir;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return log_oom();
	m->config = *cfg;
	m->opts = *opts;
	m->control_socket_fd = -1;
	m->first_device = true;
	m->state = MANAGER_NO_DEVICE;
	m->intensity_permille = cfg->default_intensity_permille;
	m->target_mhz = cfg->default_freq_mhz;
	dir = getenv("STATE_DIRECTORY");
	/* systemd may pass several, colon-separated: ours is the first. */
	snprintf(m->state_dir, sizeof(m->state_dir), "%s",
		 dir && *dir ? dir : CALIBRATION_STORE_DEFAULT_DIR);
	strtok(m->state_dir, ":");
	/* Under systemd StateDirectory= made it; started by hand, we do, so
	 * that the calibration and the crash marker have a home.
	 */
	if (mkdir(m->state_dir, 0750) < 0 && errno != EEXIST)
		log_warning_errno(-errno, "Cannot create state directory %s: %m",
				  m->state_dir);

	r = safety_monitor_init(&m->safety, &cfg->limits);
	if (r < 0) {
		free(m);
		return log_error_errno(r, "Invalid safety limits: %m");
	}
	r = sd_event_default(&m->event);
	if (r < 0) {
		free(m);
		return log_error_errno(r, "Failed to allocate the event loop: %m");
	}
	*ret = m;
	return 0;
}

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;
	sessions_free(m);
	bus_free(m);
	m->ct = control_thread_free(m->ct);
	handset_close(m);
	control_socket_close(m);
	sd_event_source_disable_unref(m->telemetry_source);
	sd_event_source_disable_unref(m->device_event_source);
	sd_event_source_disable_unref(m->hotplug_source);
	sd_event_source_disable_unref(m->supervision_timer);
	sd_event_source_disable_unref(m->watchdog_timer);
	sd_event_source_disable_unref(m->exit_timer);
	sd_event_source_disable_unref(m->sigterm_source);
	sd_event_source_disable_unref(m->sigint_source);
	backend_free(m->backend);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int manager_startup(Manager *m)
{
	int r, fd;

	/*
	 * Lock memory before the control thread exists, so its stack and
	 * everything allocated later is resident (MCL_FUTURE). Under ASan
	 * the shadow memory makes mlockall() meaningless and huge: skip.
	 */
#if defined(__SANITIZE_ADDRESS__)
	log_notice("Built with AddressSanitizer: not locking memory.");
	m->memory_locked = false;
#else
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		r = -errno;
		if (!m->config.allow_degraded)
			return log_error_errno(r, "Failed to lock memory (mlockall): %m. "
					       "Run massaged as root or with CAP_IPC_LOCK and LimitMEMLOCK=infinity, "
					       "or set AllowDegraded=yes to run without real-time guarantees.");
		log_warning_errno(r, "DEGRADED: cannot lock memory (%m); page faults may delay the control loop.");
		m->memory_locked = false;
	} else {
		m->memory_locked = true;
	}
#endif

	if (m->opts.simulate)
		r = backend_sim_new(&m->backend, m->config.sample_rate_hz,
				    m->config.sim_seed);
	else
		r = backend_kernel_new(&m->backend, m->config.sample_rate_hz);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the %s backend: %m",
				       m->opts.simulate ? "simulation" : "kernel");

	manager_check_clean_exit(m);

	r = calibration_load(m->state_dir, &m->cal);
	if (r == 0) {
		m->calibrated = true;
		log_info("Loaded the calibration from %s/calibration (up to %.1f Hz).",
			 m->state_dir, calibration_max_freq_hz(&m->cal));
	} else if (r == -ENOENT) {
		log_info("No stored calibration in %s.", m->state_dir);
	}

	r = sd_event_add_signal(m->event, &m->sigterm_source, SIGTERM,
				on_signal, m);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGTERM: %m");
	r = sd_event_add_signal(m->event, &m->sigint_source, SIGINT,
				on_signal, m);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGINT: %m");

	r = sd_event_add_time_relative(m->event, &m->supervision_timer,
				       CLOCK_MONOTONIC,
				       manager_supervision_timeout_usec(m), 1000,
				       on_supervision_timeout, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add a timer: %m");
	sd_event_source_set_enabled(m->supervision_timer, SD_EVENT_OFF);

	if (sd_watchdog_enabled(false, &m->watchdog_usec) > 0) {
		r = sd_event_add_time_relative(m->event, &m->watchdog_timer,
					       CLOCK_MONOTONIC,
					       m->watchdog_usec / 4, 0,
					       on_watchdog, m);
		if (r < 0)
			return log_error_errno(r, "Failed to add the watchdog timer: %m");
		sd_event_source_set_enabled(m->watchdog_timer, SD_EVENT_ON);
	}

	fd = m->backend->ops->hotplug_fd(m->backend);
	if (fd >= 0) {
		r = sd_event_add_io(m->event, &m->hotplug_source, fd, EPOLLIN,
				    on_hotplug, m);
		if (r < 0)
			return log_error_errno(r, "Failed to watch for devices: %m");
	}

	if (m->opts.control_socket) {
		r = control_socket_open(m, m->opts.control_socket);
		if (r < 0)
			return r;
	}

	r = sessions_setup(m);
	if (r < 0)
		return r;
	r = bus_setup(m);
	if (r < 0)
		return r;

	r = manager_open_device(m);
	if (r == -EPERM)
		return r;	/* real time refused, and not allowed to degrade */
	if (r < 0 && r != -ENODEV)
		log_warning_errno(r, "The massager could not be used; waiting for another: %m");
	if (!m->ready_sent) {
		/* Ready to serve, without a device: say so. */
		sd_notify(false, "READY=1");
		m->ready_sent = true;
	}
	manager_update_status(m);
	return 0;
}

int manager_run(Manager *m)
{
	return sd_event_loop(m->event);
}

/* --- the internal API ----------------------------------------------------- */

static int refuse(Manager *m, const char **ret_why, int r, const char *fmt,
		  ...) _printf_(4, 5);
static int refuse(Manager *m, const char **ret_why, int r, const char *fmt,
		  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	if (ret_why)
		*ret_why = m->why;
	log_debug("Refused: %s", m->why);
	return r;
}

static int manager_check_usable(Manager *m, const char **ret_why)
{
	switch (m->state) {
	case MANAGER_NO_DEVICE:
		return refuse(m, ret_why, -ENODEV, "no massager is connected");
	case MANAGER_FAULT:
		return refuse(m, ret_why, -EPERM, "stopped by a fault (%s); reset first",
			      m->fault_text);
	case MANAGER_ESTOP:
		return refuse(m, ret_why, -EPERM, "the emergency stop is latched; release it and reset first");
	case MANAGER_EXITING:
		return refuse(m, ret_why, -ESHUTDOWN, "the service is shutting down");
	case MANAGER_CALIBRATING:
		return refuse(m, ret_why, -EBUSY, "calibration is under way");
	default:
		return 0;
	}
}

static int manager_check_target(Manager *m, uint32_t target_mhz,
				uint32_t intensity_permille,
				const char **ret_why)
{
	enum safety_reason reason;
	double need;
	char text[200];
	int r;

	r = safety_check_target(&m->config.limits, target_mhz,
				intensity_permille, &reason);
	if (r < 0) {
		safety_format_target_refusal(text, sizeof(text),
					     &m->config.limits, reason,
					     target_mhz, intensity_permille);
		return refuse(m, ret_why, r, "%s", text);
	}
	if (!m->calibrated)
		return refuse(m, ret_why, -ENODATA, "the massager is not calibrated; calibrate it first");
	if (target_mhz / 1000.0 > calibration_max_freq_hz(&m->cal))
		return refuse(m, ret_why, -ERANGE, "%.1f Hz is above the %.1f Hz this motor reaches",
			      target_mhz / 1000.0,
			      calibration_max_freq_hz(&m->cal));
	/*
	 * Intensity is the drive's ceiling. An ERM's speed is its frequency:
	 * below what the target takes in free air (more on a body) it would
	 * run slower than asked, or not turn at all.
	 */
	need = calibration_duty_for(&m->cal, target_mhz / 1000.0);
	if (intensity_permille < need * 1000.0)
		return refuse(m, ret_why, -ERANGE, "%.1f Hz takes at least %.0f%% drive on this massager (in free air; more on the body): intensity %.1f%% cannot reach it",
			      target_mhz / 1000.0, ceil(need * 100.0),
			      intensity_permille / 10.0);
	return 0;
}

static int manager_check_may_start(Manager *m, const char **ret_why)
{
	enum safety_reason reason;
	int r;

	/*
	 * Nothing evaluates the safety monitor while the loop sleeps: bring
	 * it up to now first, so that a motor that has cooled down while
	 * idle (after a thermal trip, or the lockout an unclean exit leaves)
	 * is seen as cool.
	 */
	if (control_thread_is_idle(m->ct))
		supervisor_evaluate_now(m);
	r = safety_may_start(&m->safety, &reason);
	if (r < 0)
		return refuse(m, ret_why, r, "%s", safety_reason_to_string(reason));
	return 0;
}

static void manager_run_command(Manager *m)
{
	manager_mark_driving(m);
	m->contact_seen = false;
	control_thread_command(m->ct, CONTROL_CMD_RUN, m->target_mhz,
			       m->intensity_permille, true);
	manager_set_state(m, MANAGER_RUNNING);
	manager_supervision_arm(m, true);
}

int manager_check_step(Manager *m, uint32_t target_mhz,
		       uint32_t intensity_permille, const char **ret_why)
{
	return manager_check_target(m, target_mhz, intensity_permille,
				    ret_why);
}

int manager_start(Manager *m, uint32_t target_mhz,
		  uint32_t intensity_permille, const char **ret_why)
{
	return manager_drive(m, target_mhz, intensity_permille, true, ret_why);
}

int manager_drive(Manager *m, uint32_t target_mhz,
		  uint32_t intensity_permille, bool new_session,
		  const char **ret_why)
{
	int r;

	r = manager_check_usable(m, ret_why);
	if (r < 0)
		return r;
	if (m->state == MANAGER_RUNNING)
		return refuse(m, ret_why, -EALREADY, "already running; change the target instead");
	r = manager_check_target(m, target_mhz, intensity_permille, ret_why);
	if (r < 0)
		return r;
	r = manager_check_may_start(m, ret_why);
	if (r < 0)
		return r;
	if (new_session)
		safety_monitor_session_begin(&m->safety);
	m->target_mhz = target_mhz;
	m->intensity_permille = intensity_permille;
	log_info("Start: %.1f Hz, intensity %u permille.", target_mhz / 1000.0,
		 intensity_permille);
	manager_run_command(m);
	return 0;
}

int manager_stop(Manager *m, const char **ret_why)
{
	switch (m->state) {
	case MANAGER_RUNNING:
		control_thread_command(m->ct, CONTROL_CMD_SOFT_STOP,
				       m->target_mhz, m->intensity_permille,
				       false);
		manager_set_state(m, MANAGER_STOPPING);
		return 0;
	case MANAGER_PAUSED:
		manager_set_state(m, MANAGER_IDLE);
		return 0;
	case MANAGER_CALIBRATING:
		manager_halt(m);
		manager_set_state(m, MANAGER_IDLE);
		return 0;
	case MANAGER_IDLE:
	case MANAGER_STOPPING:
		return 0;
	default:
		return manager_check_usable(m, ret_why) ?: 0;
	}
}

int manager_pause(Manager *m, const char **ret_why)
{
	if (m->state == MANAGER_PAUSED)
		return 0;
	if (m->state != MANAGER_RUNNING)
		return refuse(m, ret_why, -ENOTCONN, "not running");
	control_thread_command(m->ct, CONTROL_CMD_SOFT_STOP, m->target_mhz,
			       m->intensity_permille, false);
	/* A person's pause has no safety rule behind it. */
	m->fault_reason = SAFETY_REASON_NONE;
	snprintf(m->fault_text, sizeof(m->fault_text), "by request");
	manager_set_state(m, MANAGER_PAUSED);
	return 0;
}

int manager_resume(Manager *m, const char **ret_why)
{
	int r;

	if (m->state == MANAGER_RUNNING)
		return 0;
	if (m->state != MANAGER_PAUSED)
		return refuse(m, ret_why, -ENOTCONN, "not paused");
	r = manager_check_may_start(m, ret_why);
	if (r < 0)
		return r;
	manager_run_command(m);
	return 0;
}

int manager_set_target(Manager *m, uint32_t target_mhz, const char **ret_why)
{
	int r;

	r = manager_check_target(m, target_mhz, m->intensity_permille,
				 ret_why);
	if (r < 0)
		return r;
	m->target_mhz = target_mhz;
	if (m->state == MANAGER_RUNNING)
		control_thread_command(m->ct, CONTROL_CMD_RUN, target_mhz,
				       m->intensity_permille, false);
	manager_update_status(m);
	return 0;
}

int manager_set_intensity(Manager *m, uint32_t intensity_permille,
			  const char **ret_why)
{
	int r;

	r = manager_check_target(m, m->target_mhz, intensity_permille,
				 ret_why);
	if (r < 0)
		return r;
	m->intensity_permille = intensity_permille;
	if (m->state == MANAGER_RUNNING)
		control_thread_command(m->ct, CONTROL_CMD_RUN, m->target_mhz,
				       intensity_permille, false);
	manager_update_status(m);
	return 0;
}

int manager_reset_estop(Manager *m, const char **ret_why)
{
	int r;

	if (m->state == MANAGER_ESTOP) {
		r = m->backend->ops->reset_estop(m->backend);
		if (r == -EBUSY)
			return refuse(m, ret_why, r, "the emergency stop is still pressed; release it first");
		if (r < 0)
			return refuse(m, ret_why, r, "the device refused the reset: %s",
				      strerror(-r));
		m->estop_asserted = false;
		supervisor_evaluate_now(m);
	} else if (m->state != MANAGER_FAULT) {
		return 0;
	}
	r = safety_acknowledge(&m->safety);
	if (r < 0)
		return refuse(m, ret_why, r, "the safety monitor refused the reset");
	log_notice("Reset by request: the motor stays off until started.");
	manager_set_state(m, MANAGER_IDLE);
	return 0;
}

int manager_calibrate(Manager *m, const char **ret_why)
{
	int r;

	r = manager_check_usable(m, ret_why);
	if (r < 0)
		return r;
	if (m->state != MANAGER_IDLE)
		return refuse(m, ret_why, -EBUSY, "stop the motor first");
	r = manager_check_may_start(m, ret_why);
	if (r < 0)
		return r;
	manager_mark_driving(m);
	control_thread_command(m->ct, CONTROL_CMD_CALIBRATE, 0,
			       m->info.max_duty_permille, true);
	manager_set_state(m, MANAGER_CALIBRATING);
	manager_supervision_arm(m, true);
	return 0;
}

void manager_get_readings(Manager *m, struct manager_telemetry *ret)
{
	*ret = (struct manager_telemetry) {
		.state = m->state,
		.state_text = m->status,
		.realtime = m->realtime,
		.calibrated = m->calibrated,
		.target_mhz = m->target_mhz,
		.intensity_permille = m->intensity_permille,
		.fault_reason = m->fault_reason,
		.fault_ns = m->fault_ns,
		.drive_off_ns = m->drive_off_ns,
		.thermal_headroom_permille =
			safety_thermal_headroom_permille(&m->safety.thermal,
							 &m->safety.limits),
		.site_left_ms = m->verdict.site_left_ms,
		.session_left_ms = m->verdict.session_left_ms,
	};
	snprintf(ret->device, sizeof(ret->device), "%s", m->device);
	/* With the drive off and the loop asleep there is no vibration to
	 * report, not the last one measured. */
	if (m->have_last && !(control_thread_is_idle(m->ct) &&
			      m->last.duty_permille == 0)) {
		/* The estimator fills in a number even while warming up,
		 * noisy or clipped (a rotor at 14 Hz can read 250 Hz then):
		 * only a valid estimate is a reading. */
		ret->freq_hz = m->last.est_flags == 0 ? m->last.freq_hz : 0;
		ret->amplitude_ms2 = m->last.amplitude_ms2;
		ret->reference_hz = m->last.reference_hz;
		ret->duty_permille = m->last.duty_permille;
		ret->est_flags = m->last.est_flags;
		ret->in_contact = m->last.in_contact;
		ret->stalled = m->last.stalled;
	}
	if (m->ct) {
		ret->overruns = control_thread_overruns(m->ct);
		ret->telemetry_dropped = control_thread_dropped(m->ct);
	}
}

void manager_get_telemetry(Manager *m, struct manager_telemetry *ret)
{
	manager_get_readings(m, ret);
	if (m->ct) {
		control_thread_wake_latency(m->ct, &ret->wake_latency);
		control_thread_loop_time(m->ct, &ret->loop_time);
	}
}

struct backend *manager_sim_backend(Manager *m)
{
	return backend_is_sim(m->backend) ? m->backend : NULL;
}
