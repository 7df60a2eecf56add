// SPDX-License-Identifier: MIT
/*
 * control-socket.c - the debug and test interface: an AF_UNIX datagram
 * socket (--control-socket=PATH, mode 0600) taking one command per
 * datagram and answering the sender with "ok ..." or "error ...".
 *
 * It calls the same internal API as the D-Bus layer will, plus the
 * simulation's fault injection. Commands (docs/daemon.md):
 *   status | latency | latency-reset | start HZ [PERMILLE] | stop | pause | resume |
 *   target HZ | reset | calibrate
 * and, with --simulate:
 *   stall 0|1 | dropout 0|1 | stuck 0|1 | contact 0|1 [MILLINEWTON] |
 *   estop 0|1 | supply PPM | remove | replug | freeze 0|1
 * Bad input is answered with an error and never moves the motor.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "massaged-manager-private.h"

#define REPLY_MAX 2048

struct reply {
	char buf[REPLY_MAX];
	size_t len;
};

static void reply_add(struct reply *r, const char *fmt, ...) _printf_(2, 3);
static void reply_add(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len >= sizeof(r->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n;
	if (r->len > sizeof(r->buf) - 1)
		r->len = sizeof(r->buf) - 1;
}

/* "45", "45.5" Hz -> mHz; the same rules as the configuration. */
static int parse_hz(const char *s, uint32_t *ret)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 1000)
		return -EINVAL;
	*ret = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

static int parse_int(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void reply_status(Manager *m, struct reply *out)
{
	struct manager_telemetry t;

	manager_get_telemetry(m, &t);
	reply_add(out, "ok\nstate=%s\nstatus=%s\ndevice=%s\nrealtime=%s\ncalibrated=%s\n",
		  manager_state_to_string(t.state), t.state_text, t.device,
		  yes_no(t.realtime), yes_no(t.calibrated));
	reply_add(out, "target_hz=%.3f\nintensity_permille=%u\nfreq_hz=%.3f\namplitude_ms2=%.3f\nreference_hz=%.3f\n",
		  t.target_mhz / 1000.0, t.intensity_permille, t.freq_hz,
		  t.amplitude_ms2, t.reference_hz);
	reply_add(out, "duty_permille=%u\nest_flags=0x%x\nin_contact=%d\nstalled=%d\n",
		  t.duty_permille, t.est_flags, t.in_contact, t.stalled);
	reply_add(out, "fault_reason=%s\nfault_ns=%llu\ndrive_off_ns=%llu\n",
		  t.fault_reason ? safety_reason_to_string(t.fault_reason) : "",
		  (unsigned long long)t.fault_ns,
		  (unsigned long long)t.drive_off_ns);
	reply_add(out, "thermal_headroom_permille=%u\nsite_left_ms=%llu\nsession_left_ms=%llu\n",
		  t.thermal_headroom_permille,
		  (unsigned long long)t.site_left_ms,
		  (unsigned long long)t.session_left_ms);
	reply_add(out, "overruns=%llu\ntelemetry_dropped=%llu\nnow_ns=%llu\n",
		  (unsigned long long)t.overruns,
		  (unsigned long long)t.telemetry_dropped,
		  (unsigned long long)now_ns());
	if (manager_sim_backend(m)) {
		struct backend *sim = manager_sim_backend(m);

		/* The simulated board's own view, for tests to check ours. */
		reply_add(out, "true_freq_hz=%.3f\nsim_duty_permille=%u\nsim_drive_on_ns=%llu\nsim_drive_off_ns=%llu\n",
			  backend_sim_true_freq_mhz(sim) / 1000.0,
			  backend_sim_applied_duty(sim),
			  (unsigned long long)backend_sim_drive_on_ns(sim),
			  (unsigned long long)backend_sim_drive_off_ns(sim));
	}
}

static void reply_latency(Manager *m, struct reply *out)
{
	struct manager_telemetry t;

	manager_get_telemetry(m, &t);
	reply_add(out, "ok\nwake_count=%llu\nwake_p50_us=%u\nwake_p99_us=%u\nwake_p999_us=%u\nwake_max_us=%u\n",
		  (unsigned long long)t.wake_latency.count,
		  t.wake_latency.p50_us, t.wake_latency.p99_us,
		  t.wake_latency.p999_us, t.wake_latency.max_us);
	reply_add(out, "loop_p50_us=%u\nloop_p99_us=%u\nloop_max_us=%u\noverruns=%llu\n",
		  t.loop_time.p50_us, t.loop_time.p99_us, t.loop_time.max_us,
		  (unsigned long long)t.overruns);
}

static const struct {
	const char *name;
	enum sim_fault fault;
	int nargs_min, nargs_max;
} sim_cmds[] = {
	{ "stall", SIM_STALL, 1, 1 },
	{ "dropout", SIM_DROPOUT, 1, 1 },
	{ "stuck", SIM_STUCK, 1, 1 },
	{ "contact", SIM_CONTACT, 1, 2 },
	{ "estop", SIM_ESTOP, 1, 1 },
	{ "supply", SIM_SUPPLY, 1, 1 },
	{ "remove", SIM_REMOVE, 0, 0 },
	{ "replug", SIM_REPLUG, 0, 0 },
	{ "freeze", SIM_FREEZE, 1, 1 },
};

static void control_socket_dispatch(Manager *m, char *line, struct reply *out)
{
	char *argv[4] = { 0 }, *save = NULL, *tok;
	const char *why = NULL;
	uint32_t hz, permille;
	long a = 0, c = 1000;
	int argc = 0, r = -EINVAL;
	size_t i;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 4;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (tok || argc == 0) {
		reply_add(out, "error EINVAL: expected a command and at most three arguments\n");
		return;
	}

	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		reply_status(m, out);
		return;
	}
	if (strcmp(argv[0], "latency") == 0 && argc == 1) {
		reply_latency(m, out);
		return;
	}
	if (strcmp(argv[0], "latency-reset") == 0 && argc == 1) {
		if (!m->ct) {
			reply_add(out, "error ENODEV: no control loop\n");
			return;
		}
		control_thread_reset_latency(m->ct);
		reply_add(out, "ok t_ns=%llu\n", (unsigned long long)now_ns());
		return;
	}
	if (strcmp(argv[0], "start") == 0 && (argc == 2 || argc == 3)) {
		permille = m->config.default_intensity_permille;
		if (parse_hz(argv[1], &hz) < 0 ||
		    (argc == 3 && parse_int(argv[2], 1, 1000, &a) < 0)) {
			reply_add(out, "error EINVAL: usage: start HZ [PERMILLE]\n");
			return;
		}
		if (argc == 3)
			permille = (uint32_t)a;
		r = manager_start(m, hz, permille, &why);
	} else if (strcmp(argv[0], "target") == 0 && argc == 2) {
		if (parse_hz(argv[1], &hz) < 0) {
			reply_add(out, "error EINVAL: usage: target HZ\n");
			return;
		}
		r = manager_set_target(m, hz, &why);
	} else if (strcmp(argv[0], "stop") == 0 && argc == 1) {
		r = manager_stop(m, &why);
	} else if (strcmp(argv[0], "pause") == 0 && argc == 1) {
		r = manager_pause(m, &why);
	} else if (strcmp(argv[0], "resume") == 0 && argc == 1) {
		r = manager_resume(m, &why);
	} else if (strcmp(argv[0], "reset") == 0 && argc == 1) {
		r = manager_reset_estop(m, &why);
	} else if (strcmp(argv[0], "calibrate") == 0 && argc == 1) {
		r = manager_calibrate(m, &why);
	} else {
		for (i = 0; i < ARRAY_SIZE(sim_cmds); i++)
			if (strcmp(argv[0], sim_cmds[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(sim_cmds)) {
			reply_add(out, "error EINVAL: unknown command \"%.32s\"\n",
				  argv[0]);
			return;
		}
		if (!manager_sim_backend(m)) {
			reply_add(out, "error EOPNOTSUPP: fault injection needs --simulate\n");
			return;
		}
		if (argc - 1 < sim_cmds[i].nargs_min ||
		    argc - 1 > sim_cmds[i].nargs_max ||
		    (argc > 1 && parse_int(argv[1], 0, 1000000, &a) < 0) ||
		    (argc > 2 && parse_int(argv[2], 0, 100000, &c) < 0)) {
			reply_add(out, "error EINVAL: bad arguments for %s\n",
				  sim_cmds[i].name);
			return;
		}
		r = backend_sim_inject(manager_sim_backend(m),
				       sim_cmds[i].fault, a, c);
		if (r >= 0)
			log_info("Simulation: %s %ld%s.", sim_cmds[i].name, a,
				 argc > 2 ? " (with pressure)" : "");
	}
	if (r < 0)
		reply_add(out, "error %s: %s\n", strerrorname_np(-r) ?: "?",
			  why ?: strerror(-r));
	else
		reply_add(out, "ok t_ns=%llu\n", (unsigned long long)now_ns());
}

static int on_control_socket(sd_event_source *s _unused_, int fd,
			     uint32_t revents _unused_, void *userdata)
{
	Manager *m = userdata;
	struct sockaddr_un from;
	socklen_t fromlen = sizeof(from);
	struct reply out = { .len = 0 };
	char buf[256];
	ssize_t n;

	n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT | MSG_TRUNC,
		     (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(buf)) {
		reply_add(&out, "error EMSGSIZE: command too long\n");
	} else {
		buf[n] = '\0';
		if (memchr(buf, '\0', (size_t)n))
			reply_add(&out, "error EINVAL: NUL in command\n");
		else
			control_socket_dispatch(m, buf, &out);
	}
	if (fromlen > sizeof(sa_family_t))
		(void)sendto(fd, out.buf, out.len, MSG_DONTWAIT,
			     (struct sockaddr *)&from, fromlen);
	return 0;
}

int control_socket_open(Manager *m, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "Control socket path %s is too long.",
				       path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(-errno, "Failed to create the control socket: %m");
	(void)unlink(path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = -errno;
		close(fd);
		return log_error_errno(r, "Failed to bind the control socket %s: %m",
				       path);
	}
	r = sd_event_add_io(m->event, &m->control_socket_source, fd, EPOLLIN,
			    on_control_socket, m);
	if (r < 0) {
		close(fd);
		return log_error_errno(r, "Failed to watch the control socket: %m");
	}
	m->control_socket_fd = fd;
	log_info("Debug control socket at %s.", path);
	return 0;
}

void control_socket_close(Manager *m)
{
	struct stat a, b;

	/* Unlink the path only if it is still ours, not a successor's. */
	if (m->control_socket_fd >= 0 && m->opts.control_socket &&
	    fstat(m->control_socket_fd, &a) == 0 &&
	    stat(m->opts.control_socket, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		(void)unlink(m->opts.control_socket);
	m->control_socket_source = sd_event_source_disable_unref(m->control_socket_source);
	m->control_socket_fd = safe_close(m->control_socket_fd);
}
