// SPDX-License-Identifier: MIT
/*
 * massaged-bus.c - the org.massaged.Massager1 object: vtable, property
 * getters, method handlers, authorization, and the rate-limited
 * PropertiesChanged that keeps a slow client from ever slowing the loop
 *
 * Everything here runs in the main thread; the control thread never sees
 * the bus.  Property values are read from the Manager when a client asks
 * or when a change is emitted, so there is no second copy to go stale.
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "history.h"
#include "log.h"
#include "macro.h"
#include "massaged-bus.h"
#include "massaged-bus-private.h"
#include "massaged-manager-private.h"
#include "massaged-programs.h"
#include "massaged-session.h"

#define MASSAGE_GROUP "massage"

static void sd_bus_track_unrefp_local(sd_bus_track **t)
{
	sd_bus_track_unref(*t);
}

/* --- state as clients see it ---------------------------------------------- */

static const char *bus_state(Manager *m)
{
	struct session_info si;

	session_get_info(m, &si);
	switch (m->state) {
	case MANAGER_IDLE:
	case MANAGER_STOPPING:
		if (si.active && si.waiting)
			return "waiting";
		if (si.active && si.paused)
			return "paused";
		if (si.active)
			return "running";	/* resting between repetitions */
		if (m->state == MANAGER_STOPPING)
			return "stopping";
		return sessions_ready(m) ? "ready" : "idle";
	case MANAGER_EXITING:
		return "stopping";
	default:
		return manager_state_to_string(m->state);
	}
}

/* --- errors ---------------------------------------------------------------- */

/*
 * The session and manager calls say what kind of refusal by errno (see
 * massaged-session.h); the state tells e-stop from fault for -EPERM.
 */
static int bus_refusal(Manager *m, sd_bus_error *error, int r,
		       const char *why)
{
	const char *name;

	switch (r) {
	case -ENOENT:
		name = BUS_ERROR("UnknownProgram");
		break;
	case -EBADMSG:
		name = BUS_ERROR("InvalidProgram");
		break;
	case -ERANGE:
		name = BUS_ERROR("OutOfBand");
		break;
	case -EBUSY:
	case -EALREADY:
	case -ESHUTDOWN:
		name = BUS_ERROR("Busy");
		break;
	case -ENOTCONN:
		name = BUS_ERROR("NotRunning");
		break;
	case -ENODEV:
		name = BUS_ERROR("NoDevice");
		break;
	case -ENODATA:
		name = BUS_ERROR("NotCalibrated");
		break;
	case -ESRCH:
		name = BUS_ERROR("UnknownSession");
		break;
	case -ENXIO:
		name = BUS_ERROR("UnknownEntry");
		break;
	case -EIO:
		name = BUS_ERROR("HistoryUnavailable");
		break;
	case -EPERM:
		if (m->state == MANAGER_ESTOP) {
			name = BUS_ERROR("EStopped");
			break;
		}
		if (m->state == MANAGER_FAULT) {
			name = BUS_ERROR("Fault");
			break;
		}
		/* a step that only the button may confirm, or a thermal
		 * lockout: the text says which */
		name = BUS_ERROR("Busy");
		break;
	case -EAGAIN:	/* thermal lock-out: the motor is cooling down */
	case -ETIME:	/* the site's or session's time cap is used up */
		name = BUS_ERROR("Busy");
		break;
	default:
		name = BUS_ERROR("InvalidArgument");
		break;
	}
	return sd_bus_error_set(error, name, why ?: strerror(-r));
}

int bus_invalid_argument(sd_bus_error *error, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return sd_bus_error_set(error, BUS_ERROR("InvalidArgument"), text);
}

/* --- authorization --------------------------------------------------------- */

static bool gid_in(gid_t gid, const gid_t *gids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (gids[i] == gid)
			return true;
	return false;
}

/*
 * Root, or a member of the "massage" group.  The bus policy already
 * refuses everyone else; this is the second lock, from the caller's
 * credentials as the bus reports them, then the group database (the
 * bus does not always pass supplementary groups, and /proc of other
 * users is hidden from us by ProtectProc=).
 */
/*
 * The answer per client connection, so a client's calls cost one
 * credentials query (a round trip to the bus) and not one each. A unique
 * name is never reused on a bus, so an entry cannot be inherited by
 * another client; a change of groups applies to the next connection.
 */
#define AUTH_CACHE_SIZE 32
static struct {
	char name[64];
	bool authorized;
} auth_cache[AUTH_CACHE_SIZE];
static unsigned int auth_cache_next;

static int auth_cache_find(const char *sender)
{
	unsigned int i;

	if (!sender)
		return -1;
	for (i = 0; i < AUTH_CACHE_SIZE; i++)
		if (strcmp(auth_cache[i].name, sender) == 0)
			return auth_cache[i].authorized;
	return -1;
}

static void auth_cache_put(const char *sender, bool authorized)
{
	if (!sender || strlen(sender) >= sizeof(auth_cache[0].name))
		return;
	snprintf(auth_cache[auth_cache_next].name,
		 sizeof(auth_cache[0].name), "%s", sender);
	auth_cache[auth_cache_next].authorized = authorized;
	auth_cache_next = (auth_cache_next + 1) % AUTH_CACHE_SIZE;
}

static int bus_query_authorized(Manager *m, sd_bus_message *msg,
				sd_bus_error *error);

int bus_check_authorized(Manager *m, sd_bus_message *msg,
			 sd_bus_error *error)
{
	const char *sender = sd_bus_message_get_sender(msg);
	int r;

	switch (auth_cache_find(sender)) {
	case 1:
		return 0;
	case 0:
		return sd_bus_error_set(error, BUS_ERROR("NotAuthorized"),
					"the caller is not in the \"" MASSAGE_GROUP "\" group; ask the station's administrator");
	default:
		break;
	}
	/* 0: yes, -EACCES: no; anything else is not an answer to keep */
	r = bus_query_authorized(m, msg, error);
	if (r >= 0 || r == -EACCES)
		auth_cache_put(sender, r >= 0);
	return r;
}

static int bus_query_authorized(Manager *m, sd_bus_message *msg,
				sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	const gid_t *gids;
	gid_t egid, list[256];
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	uid_t euid;
	int r, n;

	r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID |
				      SD_BUS_CREDS_EGID |
				      SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
				      SD_BUS_CREDS_AUGMENT, &creds);
	if (r < 0)
		return sd_bus_error_set(error, BUS_ERROR("NotAuthorized"),
					"cannot tell who is calling");
	r = sd_bus_creds_get_euid(creds, &euid);
	if (r < 0)
		return sd_bus_error_set(error, BUS_ERROR("NotAuthorized"),
					"cannot tell who is calling");
	if (euid == 0)
		return 0;
	if (m->have_massage_gid) {
		if (sd_bus_creds_get_egid(creds, &egid) >= 0 &&
		    egid == m->massage_gid)
			return 0;
		n = sd_bus_creds_get_supplementary_gids(creds, &gids);
		if (n > 0 && gid_in(m->massage_gid, gids, n))
			return 0;
		if (getpwuid_r(euid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp) {
			n = (int)ARRAY_SIZE(list);
			if (getgrouplist(pwp->pw_name, pwp->pw_gid, list, &n) >= 0 &&
			    gid_in(m->massage_gid, list, n))
				return 0;
		}
	}
	sd_bus_error_setf(error, BUS_ERROR("NotAuthorized"),
			  "uid %u is not in the \"" MASSAGE_GROUP "\" group; ask the station's administrator",
			  (unsigned int)euid);
	return -EACCES;
}

/* --- properties ------------------------------------------------------------ */

static int property_get(sd_bus *bus, const char *path _unused_,
			const char *interface _unused_, const char *property,
			sd_bus_message *reply, void *userdata,
			sd_bus_error *error _unused_)
{
	Manager *m = userdata;
	struct manager_telemetry t;
	struct session_info si;

	/* Only one property needs the histograms; every emission asks for
	 * Frequency and Amplitude. */
	if (strcmp(property, "ControlLoopStatistics") == 0)
		manager_get_telemetry(m, &t);
	else
		manager_get_readings(m, &t);
	session_get_info(m, &si);

	if (strcmp(property, "State") == 0)
		return sd_bus_message_append(reply, "s", bus_state(m));
	if (strcmp(property, "StatusText") == 0)
		return sd_bus_message_append(reply, "s", t.state_text);
	if (strcmp(property, "Device") == 0)
		return sd_bus_message_append(reply, "s", t.device);
	if (strcmp(property, "Realtime") == 0)
		return sd_bus_message_append(reply, "b", t.realtime);
	if (strcmp(property, "Calibrated") == 0)
		return sd_bus_message_append(reply, "b", t.calibrated);
	if (strcmp(property, "FrequencyMin") == 0)
		return sd_bus_message_append(reply, "d",
					     m->config.limits.min_freq_mhz / 1000.0);
	if (strcmp(property, "FrequencyMax") == 0)
		return sd_bus_message_append(reply, "d",
					     m->config.limits.max_freq_mhz / 1000.0);
	if (strcmp(property, "IntensityMax") == 0)
		return sd_bus_message_append(reply, "u",
					     m->config.limits.max_intensity_permille);
	if (strcmp(property, "TargetFrequency") == 0)
		return sd_bus_message_append(reply, "d", t.target_mhz / 1000.0);
	if (strcmp(property, "Intensity") == 0)
		return sd_bus_message_append(reply, "u", t.intensity_permille);
	if (strcmp(property, "Frequency") == 0)
		return sd_bus_message_append(reply, "d", t.freq_hz);
	if (strcmp(property, "Amplitude") == 0)
		return sd_bus_message_append(reply, "d", t.amplitude_ms2);
	if (strcmp(property, "Contact") == 0)
		return sd_bus_message_append(reply, "b", t.in_contact);
	if (strcmp(property, "ThermalHeadroom") == 0)
		return sd_bus_message_append(reply, "u",
					     t.thermal_headroom_permille);
	if (strcmp(property, "FaultReason") == 0)
		return sd_bus_message_append(reply, "s",
					     t.fault_reason == SAFETY_REASON_NONE ? "" :
					     safety_reason_to_string(t.fault_reason));
	if (strcmp(property, "FaultText") == 0)
		return sd_bus_message_append(reply, "s",
					     (m->state == MANAGER_FAULT ||
					      m->state == MANAGER_ESTOP ||
					      m->state == MANAGER_PAUSED) ?
					     m->fault_text : "");
	if (strcmp(property, "SessionId") == 0)
		return sd_bus_message_append(reply, "t", si.id);
	if (strcmp(property, "HeldFrequency") == 0)
		return sd_bus_message_append(reply, "d", si.held_hz);
	if (strcmp(property, "HeldReason") == 0)
		return sd_bus_message_append(reply, "s", si.held_reason);
	if (strcmp(property, "Program") == 0)
		return sd_bus_message_append(reply, "s", si.program);
	if (strcmp(property, "Patient") == 0) {
		/* patient data: for the group only, like the history */
		sd_bus_message *call = sd_bus_get_current_message(bus);

		if (!call || bus_check_authorized(m, call, NULL) < 0)
			return sd_bus_message_append(reply, "s", "");
		return sd_bus_message_append(reply, "s", si.patient);
	}
	if (strcmp(property, "Site") == 0)
		return sd_bus_message_append(reply, "s", si.site);
	if (strcmp(property, "Progress") == 0)
		return sd_bus_message_append(reply, "(uuuuttb)", si.step,
					     si.n_steps, si.repetition,
					     si.repetitions, si.step_left_usec,
					     si.session_left_usec, si.waiting);
	if (strcmp(property, "ControlLoopStatistics") == 0)
		return sd_bus_message_append(reply, "(ttttttt)", t.overruns,
					     (uint64_t)t.wake_latency.p50_us,
					     (uint64_t)t.wake_latency.p99_us,
					     (uint64_t)t.wake_latency.max_us,
					     (uint64_t)t.loop_time.p50_us,
					     (uint64_t)t.loop_time.p99_us,
					     (uint64_t)t.loop_time.max_us);
	return -ENOENT;
}

/* --- option dictionaries --------------------------------------------------- */

int bus_read_options(sd_bus_message *msg, struct session_options *o,
		     sd_bus_error *error)
{
	const char *key;
	int r;

	*o = (struct session_options) { .pain_before = -1 };
	r = sd_bus_message_enter_container(msg, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
		r = sd_bus_message_read(msg, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "patient") == 0) {
			const char *p;

			r = sd_bus_message_read(msg, "v", "s", &p);
			if (r < 0)
				return bus_invalid_argument(error, "options: \"patient\" must be a string (s)");
			if (strlen(p) >= sizeof(o->patient))
				return bus_invalid_argument(error, "options: \"patient\" is longer than %zu bytes",
							sizeof(o->patient) - 1);
			snprintf(o->patient, sizeof(o->patient), "%s", p);
		} else if (strcmp(key, "course") == 0) {
			r = sd_bus_message_read(msg, "v", "t", &o->course_id);
			if (r < 0)
				return bus_invalid_argument(error, "options: \"course\" must be a course id (t)");
		} else if (strcmp(key, "pain_before") == 0) {
			uint32_t p;

			r = sd_bus_message_read(msg, "v", "u", &p);
			if (r < 0)
				return bus_invalid_argument(error, "options: \"pain_before\" must be a score (u)");
			if (p > 10)
				return bus_invalid_argument(error, "options: \"pain_before\" %u is not a pain score 0-10",
							p);
			o->pain_before = (int)p;
		} else if (strcmp(key, "outlive_client") == 0) {
			int b;

			r = sd_bus_message_read(msg, "v", "b", &b);
			if (r < 0)
				return bus_invalid_argument(error, "options: \"outlive_client\" must be a boolean (b)");
			o->outlive_client = b;
		} else {
			return bus_invalid_argument(error, "options: unknown option \"%s\" (patient, course, pain_before, outlive_client)",
						key);
		}
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(msg);
}

/* --- session ownership ----------------------------------------------------- */

static int on_owner_gone(sd_bus_track *t _unused_, void *userdata)
{
	Manager *m = userdata;

	m->owner_track = sd_bus_track_unref(m->owner_track);
	session_owner_lost(m);
	return 0;
}

static void bus_track_owner(Manager *m, sd_bus_message *msg)
{
	_cleanup_(sd_bus_track_unrefp_local) sd_bus_track *t = NULL;
	int r;

	m->owner_track = sd_bus_track_unref(m->owner_track);
	r = sd_bus_track_new(m->bus, &t, on_owner_gone, m);
	if (r >= 0)
		r = sd_bus_track_add_sender(t, msg);
	if (r < 0) {
		/* Without a watch the session could outlive a dead client:
		 * do not let it run at all. */
		log_error_errno(r, "Cannot watch the client that started the session: %m; stopping it.");
		session_owner_lost(m);
		return;
	}
	m->owner_track = t;
	t = NULL;
}

/* --- methods: control ------------------------------------------------------ */


static int method_start_program(sd_bus_message *msg, void *userdata,
				sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_options o;
	const char *program, *why = NULL;
	uint64_t id = 0;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "s", &program);
	if (r < 0)
		return r;
	r = bus_read_options(msg, &o, error);
	if (r < 0)
		return r;
	if (!program_name_is_valid(program))
		return bus_invalid_argument(error, "program: \"%s\" is not a program name (a-z, 0-9, -)",
					program);
	r = session_start_program(m, program, &o, &id, &why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	if (!o.outlive_client)
		bus_track_owner(m, msg);
	return sd_bus_reply_method_return(msg, "t", id);
}

static int method_start_manual(sd_bus_message *msg, void *userdata,
			       sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_options o;
	const char *why = NULL;
	uint32_t intensity;
	uint64_t duration_usec, id = 0;
	double hz;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "dut", &hz, &intensity, &duration_usec);
	if (r < 0)
		return r;
	r = bus_read_options(msg, &o, error);
	if (r < 0)
		return r;
	if (!isfinite(hz) || hz <= 0 || hz > 1000)
		return sd_bus_error_setf(error, BUS_ERROR("OutOfBand"),
					 "frequency: %g Hz is not a vibration frequency", hz);
	if (duration_usec > 24ull * 3600 * USEC_PER_SEC)
		return bus_invalid_argument(error, "duration_usec: %" PRIu64 " is outside 0..%llu (a day)",
					    duration_usec,
					    24ull * 3600 * USEC_PER_SEC);
	r = session_start_manual(m, (uint32_t)lround(hz * 1000.0), intensity,
				 (duration_usec + 999) / 1000, &o, &id, &why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	if (!o.outlive_client)
		bus_track_owner(m, msg);
	return sd_bus_reply_method_return(msg, "t", id);
}

typedef int (*session_call)(Manager *m, const char **ret_why);

static int method_simple(sd_bus_message *msg, Manager *m, sd_bus_error *error,
			 session_call call)
{
	const char *why = NULL;
	int r;

	AUTHORIZE(m, msg, error);
	r = call(m, &why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_stop(sd_bus_message *msg, void *userdata,
		       sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_info si;
	const char *why = NULL;
	int r;

	AUTHORIZE(m, msg, error);
	/* Stop is always honoured: the session if any, else the drive. */
	session_get_info(m, &si);
	if (si.active)
		r = session_stop(m, &why);
	else
		r = manager_stop(m, &why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_pause(sd_bus_message *msg, void *userdata,
			sd_bus_error *error)
{
	return method_simple(msg, userdata, error, session_pause);
}

static int method_resume(sd_bus_message *msg, void *userdata,
			 sd_bus_error *error)
{
	return method_simple(msg, userdata, error, session_resume);
}

static int session_continue_client(Manager *m, const char **ret_why)
{
	return session_continue(m, false, ret_why);
}

static int method_continue(sd_bus_message *msg, void *userdata,
			   sd_bus_error *error)
{
	return method_simple(msg, userdata, error, session_continue_client);
}

static int method_skip(sd_bus_message *msg, void *userdata,
		       sd_bus_error *error)
{
	return method_simple(msg, userdata, error, session_skip);
}

static int method_reset_estop(sd_bus_message *msg, void *userdata,
			      sd_bus_error *error)
{
	Manager *m = userdata;
	const char *why = NULL;
	int r;

	AUTHORIZE(m, msg, error);
	r = manager_reset_estop(m, &why);
	if (r == -EBUSY)	/* still pressed */
		return sd_bus_error_set(error, BUS_ERROR("EStopped"), why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_calibrate(sd_bus_message *msg, void *userdata,
			    sd_bus_error *error)
{
	Manager *m = userdata;
	struct session_info si;
	const char *why = NULL;
	int r;

	AUTHORIZE(m, msg, error);
	session_get_info(m, &si);
	if (si.active)
		return sd_bus_error_set(error, BUS_ERROR("Busy"),
					"a session is under way; stop it first");
	r = manager_calibrate(m, &why);
	if (r < 0)
		return bus_refusal(m, error, r, why);
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_intensity(sd_bus_message *msg, void *userdata,
				sd_bus_error *error)
{
	Manager *m = userdata;
	const char *why = NULL;
	struct session_info si;
	uint32_t v;
	int r;

	AUTHORIZE(m, msg, error);
	r = sd_bus_message_read(msg, "u", &v);
	if (r < 0)
		return r;
	if (v == 0 || v > m->config.limits.max_intensity_permille)
		return bus_invalid_argument(error, "intensity: %u is outside 1..%u per mille",
					v, m->config.limits.max_intensity_permille);
	session_get_info(m, &si);
	if (si.active)
		r = session_set_intensity(m, v, &why);
	else if (m->state == MANAGER_RUNNING || m->state == MANAGER_PAUSED)
		r = manager_set_intensity(m, v, &why);
	else
		return sd_bus_error_set(error, BUS_ERROR("NotRunning"),
					"nothing is running to set the intensity of");
	if (r < 0)
		return bus_refusal(m, error, r, why);
	return sd_bus_reply_method_return(msg, NULL);
}

/* --- methods: programs ----------------------------------------------------- */

static int method_list_programs(sd_bus_message *msg, void *userdata,
				sd_bus_error *error _unused_)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(freep) struct program_entry *list = NULL;
	_cleanup_(freep) struct program *p = NULL;
	Manager *m = userdata;
	size_t n, i, k;
	int r;

	r = programs_list(sessions_programs_path(m), &list, &n);
	if (r < 0)
		return r;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = sd_bus_message_new_method_return(msg, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(sssut)");
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		uint64_t ms = 0;

		/* A broken file is listed by name, with no steps: GetProgram
		 * says what is wrong with it. */
		if (programs_load(sessions_programs_path(m), list[i].name,
				  &m->config.limits, p, NULL, NULL) < 0) {
			r = sd_bus_message_append(reply, "(sssut)",
						  list[i].name, "", list[i].path,
						  0u, (uint64_t)0);
		} else {
			for (k = 0; k < p->n_steps; k++)
				ms += program_step_scheduled_ms(&p->steps[k],
								k + 1 == p->n_steps);
			r = sd_bus_message_append(reply, "(sssut)",
						  list[i].name, p->title,
						  list[i].path,
						  (uint32_t)p->n_steps,
						  ms * 1000);
		}
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_program(sd_bus_message *msg, void *userdata,
			      sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(freep) struct program *p = NULL;
	struct program_error err = { 0 };
	Manager *m = userdata;
	char path[PATH_MAX] = "";
	const char *name;
	size_t i;
	int r;

	r = sd_bus_message_read(msg, "s", &name);
	if (r < 0)
		return r;
	if (!program_name_is_valid(name))
		return bus_invalid_argument(error, "name: \"%s\" is not a program name (a-z, 0-9, -)",
					name);
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = programs_load(sessions_programs_path(m), name, &m->config.limits,
			  p, path, &err);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, BUS_ERROR("UnknownProgram"),
					 "there is no program \"%s\"", name);
	if (r < 0)
		return sd_bus_error_setf(error, BUS_ERROR("InvalidProgram"),
					 "%s", err.message[0] ? err.message :
					 strerror(-r));
	r = sd_bus_message_new_method_return(msg, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "ssss", p->title, p->description,
				  p->source, path);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(ssdudtutst)");
	if (r < 0)
		return r;
	for (i = 0; i < p->n_steps; i++) {
		const struct program_step *st = &p->steps[i];

		r = sd_bus_message_append(reply, "(ssdudtutst)", st->site,
					  program_technique_to_string(st->technique),
					  st->freq_mhz / 1000.0,
					  st->intensity_permille,
					  st->amplitude_mms2 / 1000.0,
					  st->duration_ms * 1000,
					  st->repetitions, st->rest_ms * 1000,
					  program_advance_to_string(st->advance),
					  st->advance_pause_ms * 1000);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

/* --- the vtable ------------------------------------------------------------ */

#define P_CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define P_CONST SD_BUS_VTABLE_PROPERTY_CONST
#define M_ANYONE SD_BUS_VTABLE_UNPRIVILEGED

/*
 * Every method is open as far as sd-bus is concerned; who may call what
 * is the bus policy's first and bus_check_authorized()'s second.
 */
static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("State", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("StatusText", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Device", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Realtime", "b", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Calibrated", "b", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("FrequencyMin", "d", property_get, 0, P_CONST),
	SD_BUS_PROPERTY("FrequencyMax", "d", property_get, 0, P_CONST),
	SD_BUS_PROPERTY("IntensityMax", "u", property_get, 0, P_CONST),
	SD_BUS_PROPERTY("TargetFrequency", "d", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Intensity", "u", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Frequency", "d", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Amplitude", "d", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Contact", "b", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("ThermalHeadroom", "u", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("FaultReason", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("FaultText", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("SessionId", "t", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Program", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Patient", "s", property_get, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("Site", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("HeldFrequency", "d", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("HeldReason", "s", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("Progress", "(uuuuttb)", property_get, 0, P_CHANGE),
	SD_BUS_PROPERTY("ControlLoopStatistics", "(ttttttt)", property_get,
			0, 0),

	SD_BUS_METHOD_WITH_ARGS("StartProgram",
				SD_BUS_ARGS("s", program, "a{sv}", options),
				SD_BUS_RESULT("t", session_id),
				method_start_program, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("StartManual",
				SD_BUS_ARGS("d", frequency, "u", intensity,
					    "t", duration_usec, "a{sv}", options),
				SD_BUS_RESULT("t", session_id),
				method_start_manual, M_ANYONE),
	SD_BUS_METHOD("Stop", NULL, NULL, method_stop, M_ANYONE),
	SD_BUS_METHOD("Pause", NULL, NULL, method_pause, M_ANYONE),
	SD_BUS_METHOD("Resume", NULL, NULL, method_resume, M_ANYONE),
	SD_BUS_METHOD("Continue", NULL, NULL, method_continue, M_ANYONE),
	SD_BUS_METHOD("Skip", NULL, NULL, method_skip, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("SetIntensity", SD_BUS_ARGS("u", intensity),
				SD_BUS_NO_RESULT, method_set_intensity,
				M_ANYONE),
	SD_BUS_METHOD("ResetEstop", NULL, NULL, method_reset_estop, M_ANYONE),
	SD_BUS_METHOD("Calibrate", NULL, NULL, method_calibrate, M_ANYONE),

	SD_BUS_METHOD_WITH_ARGS("ListPrograms", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(sssut)", programs),
				method_list_programs, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("GetProgram", SD_BUS_ARGS("s", name),
				SD_BUS_RESULT("s", title, "s", description,
					      "s", source, "s", path,
					      "a(ssdudtutst)", steps),
				method_get_program, M_ANYONE),

	SD_BUS_METHOD_WITH_ARGS("Enqueue",
				SD_BUS_ARGS("s", program, "a{sv}", options),
				SD_BUS_RESULT("t", entry_id),
				method_enqueue, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("ListQueue", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(tsstt)", entries),
				method_list_queue, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("Dequeue", SD_BUS_ARGS("t", entry_id),
				SD_BUS_NO_RESULT, method_dequeue, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("Plan",
				SD_BUS_ARGS("s", program, "s", when,
					    "b", daily, "a{sv}", options),
				SD_BUS_RESULT("t", plan_id),
				method_plan, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("ListPlans", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(tssstb)", plans),
				method_list_plans, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("CancelPlan", SD_BUS_ARGS("t", plan_id),
				SD_BUS_NO_RESULT, method_cancel_plan,
				M_ANYONE),

	SD_BUS_METHOD_WITH_ARGS("CreateCourse",
				SD_BUS_ARGS("s", patient, "s", program,
					    "u", sessions, "u", interval_days,
					    "t", start_usec),
				SD_BUS_RESULT("t", course_id),
				method_create_course, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("ListCourses", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(tssuuuut)", courses),
				method_list_courses, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("GetCourseDose", SD_BUS_ARGS("t", course_id),
				SD_BUS_RESULT("a(sutd)", sites),
				method_get_course_dose, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("SetPainScore",
				SD_BUS_ARGS("t", session_id, "s", when,
					    "u", score),
				SD_BUS_NO_RESULT, method_set_pain_score,
				M_ANYONE),

	SD_BUS_METHOD_WITH_ARGS("ListSessions",
				SD_BUS_ARGS("t", since_usec, "u", limit),
				SD_BUS_RESULT("a(tssttstdii)", sessions),
				method_list_sessions, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("GetSession", SD_BUS_ARGS("t", session_id),
				SD_BUS_RESULT("a(usdtds)", steps),
				method_get_session, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("ExportHistory",
				SD_BUS_ARGS("s", format, "t", since_usec),
				SD_BUS_RESULT("s", data),
				method_export_history, M_ANYONE),
	SD_BUS_METHOD_WITH_ARGS("ErasePatient",
				SD_BUS_ARGS("s", patient, "b", dry_run),
				SD_BUS_RESULT("a{su}", erased),
				method_erase_patient, M_ANYONE),

	SD_BUS_SIGNAL_WITH_ARGS("SessionFinished",
				SD_BUS_ARGS("t", session_id, "s", outcome), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Fault", SD_BUS_ARGS("s", reason, "s", text),
				0),
	SD_BUS_SIGNAL_WITH_ARGS("TargetUnreachable",
				SD_BUS_ARGS("d", target_hz, "d", held_hz,
					    "s", reason),
				0),
	SD_BUS_VTABLE_END
};

/* --- change notification --------------------------------------------------- */

static bool bus_live(Manager *m)
{
	struct session_info si;

	session_get_info(m, &si);
	return si.active || m->state == MANAGER_RUNNING ||
	       m->state == MANAGER_STOPPING || m->state == MANAGER_CALIBRATING;
}

static int on_dirty(sd_event_source *s _unused_, void *userdata)
{
	Manager *m = userdata;

	/* Let the session see the Manager's new state first. */
	sessions_on_manager_state(m);
	if (m->bus)
		(void)sd_bus_emit_properties_changed(m->bus, BUS_PATH,
						     BUS_INTERFACE, "State",
						     "StatusText", "Device",
						     "Realtime", "Calibrated",
						     "TargetFrequency",
						     "Intensity", "FaultReason",
						     "FaultText", "SessionId",
						     "Program", "Patient",
						     "Site", "HeldFrequency",
						     "HeldReason", "Progress",
						     "Frequency", "Amplitude",
						     "Contact", NULL);
	if (m->telemetry_emit_timer && m->bus && bus_live(m) &&
	    sd_event_source_get_enabled(m->telemetry_emit_timer, NULL) == 0) {
		sd_event_source_set_time_relative(m->telemetry_emit_timer,
						  BUS_TELEMETRY_INTERVAL_USEC);
		sd_event_source_set_enabled(m->telemetry_emit_timer,
					    SD_EVENT_ON);
	}
	return 0;
}

/*
 * At most every 100 ms, and only what moved: the newest value wins, a
 * client that reads slowly just sees fewer of them, and the control
 * thread never waits for any of it.  Off while nothing runs, and without
 * a bus. The timer's accuracy lets it ride on the wake-ups the control
 * thread's telemetry causes anyway (every 25 ms at 1 kHz) rather than
 * wake the main thread ten more times a second.
 */
static int on_telemetry_emit(sd_event_source *s, uint64_t usec,
			     void *userdata)
{
	Manager *m = userdata;
	struct manager_telemetry t;
	struct session_info si;
	const char *names[8];
	size_t n = 0;
	char **strv;

	if (!m->bus || !bus_live(m)) {
		m->emitted_valid = false;
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	}
	manager_get_readings(m, &t);
	session_get_info(m, &si);
	if (!m->emitted_valid || fabs(t.freq_hz - m->emitted.freq_hz) >= 0.005)
		names[n++] = "Frequency";
	if (!m->emitted_valid ||
	    fabs(t.amplitude_ms2 - m->emitted.amplitude_ms2) >= 0.005)
		names[n++] = "Amplitude";
	if (!m->emitted_valid || t.in_contact != m->emitted.contact)
		names[n++] = "Contact";
	if (!m->emitted_valid ||
	    t.thermal_headroom_permille != m->emitted.headroom)
		names[n++] = "ThermalHeadroom";
	if (!m->emitted_valid ||
	    si.session_left_usec / 100000 != m->emitted.session_left_usec / 100000)
		names[n++] = "Progress";
	names[n] = NULL;
	m->emitted.freq_hz = t.freq_hz;
	m->emitted.amplitude_ms2 = t.amplitude_ms2;
	m->emitted.contact = t.in_contact;
	m->emitted.headroom = t.thermal_headroom_permille;
	m->emitted.session_left_usec = si.session_left_usec;
	m->emitted_valid = true;
	if (n && m->bus) {
		strv = (char **)names;
		(void)sd_bus_emit_properties_changed_strv(m->bus, BUS_PATH,
							  BUS_INTERFACE, strv);
	}
	/* From now, not from when it was due: up to the accuracy late, the
	 * next one still comes no sooner than the interval. (Should there
	 * be no "now", usec keeps the time it was due.) */
	(void)sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC,
			   &usec);
	return sd_event_source_set_time(s, usec + BUS_TELEMETRY_INTERVAL_USEC);
}

void bus_mark_dirty(Manager *m)
{
	if (m->dirty_source)
		sd_event_source_set_enabled(m->dirty_source, SD_EVENT_ONESHOT);
}

void bus_target_unreachable(Manager *m, double target_hz, double held_hz,
			    const char *reason)
{
	if (m->bus)
		(void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_INTERFACE,
					 "TargetUnreachable", "dds", target_hz,
					 held_hz, reason);
}

void bus_session_finished(Manager *m, uint64_t id, const char *outcome)
{
	m->owner_track = sd_bus_track_unref(m->owner_track);
	if (m->bus)
		(void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_INTERFACE,
					 "SessionFinished", "ts", id, outcome);
	bus_mark_dirty(m);
}

static void on_fault(Manager *m, const struct manager_fault *f,
		     void *userdata _unused_)
{
	const char *reason = f->reason == SAFETY_REASON_NONE ?
			     manager_state_to_string(f->state) :
			     safety_reason_to_string(f->reason);

	if (m->bus)
		(void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_INTERFACE,
					 "Fault", "ss", reason,
					 f->text ?: "");
}

/* --- setup ----------------------------------------------------------------- */

int bus_setup(Manager *m)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	char buf[4096];
	struct group gr, *grp = NULL;
	int r;

	r = sd_event_add_defer(m->event, &m->dirty_source, on_dirty, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add an event source: %m");
	sd_event_source_set_enabled(m->dirty_source, SD_EVENT_OFF);
	r = sd_event_add_time_relative(
		m->event, &m->telemetry_emit_timer, CLOCK_MONOTONIC,
		BUS_TELEMETRY_INTERVAL_USEC, BUS_TELEMETRY_ACCURACY_USEC,
		on_telemetry_emit, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add a timer: %m");
	sd_event_source_set_enabled(m->telemetry_emit_timer, SD_EVENT_OFF);
	r = manager_add_fault_callback(m, on_fault, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to subscribe to faults: %m");

	if (getgrnam_r(MASSAGE_GROUP, &gr, buf, sizeof(buf), &grp) == 0 && grp) {
		m->massage_gid = grp->gr_gid;
		m->have_massage_gid = true;
	} else {
		log_notice("There is no \"" MASSAGE_GROUP "\" group: only root may control the massager over D-Bus.");
	}

	r = sd_bus_open_system_with_description(&bus, "massaged");
	if (r < 0) {
		log_warning_errno(r, "Cannot connect to the system bus (%m): the D-Bus API is not available.");
		return 0;
	}
	r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_INTERFACE,
				     manager_vtable, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the D-Bus object: %m");
	r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
	r = sd_bus_request_name(bus, BUS_NAME, 0);
	if (r < 0) {
		log_error_errno(r, "Cannot own %s on the system bus (%m): is another massaged running, or is the D-Bus policy not installed? Running without the D-Bus API.",
				BUS_NAME);
		return 0;
	}
	m->bus = bus;
	bus = NULL;
	log_info("Serving %s on the system bus.", BUS_NAME);
	return 0;
}

void bus_free(Manager *m)
{
	m->owner_track = sd_bus_track_unref(m->owner_track);
	m->dirty_source = sd_event_source_disable_unref(m->dirty_source);
	m->telemetry_emit_timer =
		sd_event_source_disable_unref(m->telemetry_emit_timer);
	m->bus = sd_bus_flush_close_unref(m->bus);
}
