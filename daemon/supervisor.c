// SPDX-License-Identifier: MIT
/*
 * supervisor.c - applies lib/safety to what the control thread reports
 * and to the device's own events, in the main thread
 *
 * The control thread only controls; whether the motor may keep running is
 * decided here, once per telemetry record (every control period, in
 * batches of ~10 ms, at once when a flag changes). A STOP halts the drive
 * at the next period and latches until a person resets it; a PAUSE ramps
 * down and keeps the session. Nothing here ever starts the motor.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "estimator.h"
#include "log.h"
#include "massaged-manager-private.h"

void supervisor_fault(Manager *m, enum manager_state s,
		      enum safety_reason reason, const char *text,
		      uint64_t t_ns)
{
	bool first = m->state != MANAGER_FAULT && m->state != MANAGER_ESTOP;

	/*
	 * A latched STOP is seen again in every record that follows; halting
	 * an idle thread again would wake it to report, which is seen again:
	 * a busy loop in the fault state. Halt whenever it may still drive.
	 */
	if (first || !control_thread_is_idle(m->ct) ||
	    (m->ct && control_thread_last_command(m->ct) != CONTROL_CMD_HALT))
		manager_halt(m);
	if (!first && !(s == MANAGER_ESTOP && m->state == MANAGER_FAULT))
		return;
	m->fault_reason = reason;
	snprintf(m->fault_text, sizeof(m->fault_text), "%s", text);
	m->fault_ns = t_ns;
	m->drive_off_ns = 0;
	m->wait_drive_off = true;
	/* Already off? Then it went off when the fault was seen. */
	if (m->have_last && m->last.duty_permille == 0 &&
	    control_thread_is_idle(m->ct)) {
		m->drive_off_ns = t_ns;
		m->wait_drive_off = false;
	}
	if (m->state != MANAGER_EXITING)
		manager_set_state(m, s);
	log_error("Motor stopped: %s. It stays off until a person resets it.",
		  text);
	manager_notify_fault(m, s, reason, text, t_ns);
}

static void supervisor_pause(Manager *m, enum safety_reason reason,
			     uint64_t t_ns)
{
	const char *text = safety_reason_to_string(reason);

	if (m->state != MANAGER_RUNNING)
		return;
	control_thread_command(m->ct, CONTROL_CMD_SOFT_STOP, m->target_mhz,
			       m->intensity_permille, false);
	/* Before the state: the session and the bus read why from these. */
	m->fault_reason = reason;
	snprintf(m->fault_text, sizeof(m->fault_text), "%s", text);
	manager_set_state(m, MANAGER_PAUSED);
	log_warning("Paused: %s. Resume when the head is back on the body.",
		    text);
	manager_notify_fault(m, MANAGER_PAUSED, reason, text, t_ns);
}

static void supervisor_apply(Manager *m, const struct safety_verdict *v,
			     uint64_t t_ns)
{
	m->verdict = *v;
	if (v->action == SAFETY_STOP)
		supervisor_fault(m, v->reason == SAFETY_REASON_ESTOP ?
					    MANAGER_ESTOP : MANAGER_FAULT,
				 v->reason, safety_reason_to_string(v->reason),
				 t_ns);
	else if (v->action == SAFETY_PAUSE)
		supervisor_pause(m, v->reason, t_ns);
}

static void supervisor_input(Manager *m, const struct telemetry *t,
			     uint64_t now, struct safety_input *ret)
{
	/*
	 * Contact: "lost" means the head was on a body during this run and
	 * has been lifted off. Before the controller first judges contact
	 * (warm-up, free-air start) there is nothing to lose.
	 */
	if (t->in_contact)
		m->contact_seen = true;
	*ret = (struct safety_input) {
		.now_ns = now,
		.driving = t->duty_permille > 0,
		.duty_permille = t->duty_permille,
		.estimate_valid = t->est_flags == 0,
		.estimate_flags = t->est_flags & 0xffff,
		.freq_mhz = t->freq_hz > 0 ? (uint32_t)(t->freq_hz * 1000) : 0,
		.stall_detected = t->stalled,
		.in_contact = !m->contact_seen || t->in_contact,
		.kernel_estop = m->estop_asserted,
		.kernel_watchdog_trip = m->watchdog_tripped,
		.target_unreachable = t->unreachable,
		.held_mhz = t->held_hz > 0 ? (uint32_t)(t->held_hz * 1000) : 0,
	};
	m->watchdog_tripped = false;

	/*
	 * Calibration drives a staircase from a duty at which the motor may
	 * not turn at all, in free air, for a bounded ~9 s: "no vibration"
	 * and "warming up" are expected there, and lib/calibration fails the
	 * run itself (-EIO) when even full drive gives no valid reading.
	 * A silent or stuck sensor, the e-stop, the watchdog and the thermal
	 * budget still apply.
	 */
	if (t->mode == CONTROL_MODE_CALIBRATING) {
		uint32_t ignore = ESTIMATE_WARMING_UP | ESTIMATE_NO_VIBRATION |
				  ESTIMATE_NOISY;

		ret->estimate_flags &= ~ignore;
		ret->estimate_valid = !(t->est_flags & ~ignore);
		ret->stall_detected = false;
		ret->in_contact = true;
	}
}

void supervisor_evaluate_now(Manager *m)
{
	struct telemetry t = m->last;
	struct safety_verdict v;
	struct safety_input in;
	uint64_t now = now_ns();

	/*
	 * Never before what was last evaluated: records carry the control
	 * thread's stamps (with the kernel backend, the period's deadline),
	 * which may be a little ahead of this thread's clock reading, and
	 * a time that goes back is a fault to lib/safety.
	 */
	if (m->have_last && m->last.t_ns > now)
		now = m->last.t_ns;
	if (m->safety.last_ns > now)
		now = m->safety.last_ns;
	if (!m->have_last || !m->ct || control_thread_is_idle(m->ct))
		t.duty_permille = 0;
	supervisor_input(m, &t, now, &in);
	safety_evaluate(&m->safety, &in, &v);
	supervisor_apply(m, &v, now);
}

void supervisor_process(Manager *m, const struct telemetry *t)
{
	struct safety_verdict v;
	struct safety_input in;

	/*
	 * Safety time never goes back, even across an idle gap: a record
	 * stamped before the main thread's own last evaluation (an e-stop
	 * event handled between the thread's last period and its going idle)
	 * is not evaluated again, but it is still what the drive did.
	 */
	bool stale = t->t_ns < m->safety.last_ns;

	m->last = *t;
	m->have_last = true;

	if (m->wait_drive_off && t->duty_permille == 0) {
		m->drive_off_ns = t->t_ns > m->fault_ns ? t->t_ns : m->fault_ns;
		m->wait_drive_off = false;
		log_info("Drive off %.1f ms after the fault was detected.",
			 (double)(m->drive_off_ns - m->fault_ns) / 1e6);
	}

	if (!stale) {
		supervisor_input(m, t, t->t_ns, &in);
		safety_evaluate(&m->safety, &in, &v);
		supervisor_apply(m, &v, t->t_ns);
	}

	if (t->drive_error == -ENODEV && m->state != MANAGER_NO_DEVICE &&
	    m->state != MANAGER_EXITING) {
		/* The REMOVED event follows; the drive is already off. */
		return;
	}
	if (t->drive_error < 0 && t->drive_error != -ECANCELED &&
	    t->drive_error != -ENODEV && t->mode == CONTROL_MODE_IDLE &&
	    (m->state == MANAGER_RUNNING || m->state == MANAGER_CALIBRATING)) {
		char text[128];

		snprintf(text, sizeof(text), "the device refused the drive (%s)",
			 strerror(-t->drive_error));
		supervisor_fault(m, MANAGER_FAULT, SAFETY_REASON_NONE, text,
				 t->t_ns);
		return;
	}

	/*
	 * Idle, as the thread saw it before our latest command reached it (a
	 * record of the coast before a start), is not the end of that
	 * command's run.
	 */
	if (t->mode == CONTROL_MODE_IDLE &&
	    control_thread_obeys_latest(m->ct, t)) {
		if (m->state == MANAGER_STOPPING || m->state == MANAGER_RUNNING)
			manager_set_state(m, MANAGER_IDLE);
	}
}

void supervisor_device_event(Manager *m, const struct massager_event *ev)
{
	switch (ev->type) {
	case MASSAGER_EVENT_ESTOP_PRESSED:
		m->estop_asserted = true;
		log_warning("E-stop pressed (it cut a duty of %u permille).",
			    ev->value);
		supervisor_fault(m, MANAGER_ESTOP, SAFETY_REASON_ESTOP,
				 "the emergency stop was pressed",
				 ev->timestamp_ns);
		supervisor_evaluate_now(m);
		break;
	case MASSAGER_EVENT_ESTOP_RELEASED:
		m->estop_asserted = false;
		log_notice("E-stop released; the motor stays off until reset.");
		manager_update_status(m);
		break;
	case MASSAGER_EVENT_ESTOP_RESET:
		log_info("E-stop latch cleared.");
		break;
	case MASSAGER_EVENT_WATCHDOG_TRIP:
		m->watchdog_tripped = true;
		supervisor_fault(m, MANAGER_FAULT, SAFETY_REASON_WATCHDOG,
				 "the device's heartbeat watchdog fired",
				 ev->timestamp_ns);
		supervisor_evaluate_now(m);
		break;
	case MASSAGER_EVENT_FAULT: {
		char text[128];

		snprintf(text, sizeof(text), "the device reported a fault (%s)",
			 strerror((int)ev->value));
		supervisor_fault(m, MANAGER_FAULT, SAFETY_REASON_NONE, text,
				 ev->timestamp_ns);
		break;
	}
	case MASSAGER_EVENT_OWNER_RELEASED:
		break;
	case MASSAGER_EVENT_REMOVED:
		log_warning("The massager was removed.");
		manager_notify_fault(m, MANAGER_NO_DEVICE, SAFETY_REASON_NONE,
				     "the massager was removed",
				     ev->timestamp_ns);
		manager_device_lost(m);
		break;
	default:
		log_debug("Ignoring device event type %u.", ev->type);
		break;
	}
}
