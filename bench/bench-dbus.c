// SPDX-License-Identifier: MIT
/*
 * bench-dbus - what massaged's D-Bus API costs a caller, and what callers
 * cost the control loop. Runs against massaged (org.massaged.Massager1)
 * and the baseline dbus-echo-service (same object, same signatures, no
 * work; org.massaged.BenchEcho1) on the bus sd_bus_open_system() opens,
 * i.e. $DBUS_SYSTEM_BUS_ADDRESS. bench/bench-dbus.sh sets all of it up.
 *
 *  1. StartManual(45 Hz) on massaged; waits until State is "running" and
 *     Frequency within 1 Hz of the target. The session lives as long as
 *     this client's connection (outlive_client is left false).
 *  2. Round trips, after --warmup untimed rounds, --count rounds of one
 *     call to massaged, one to the echo service (and one to the
 *     --second-echo, whose ratio to the first is the noise floor), in
 *     every order in turn: first SetIntensity (within limits: the
 *     intensity and 10 per mille less, alternately), then a property Get
 *     (sd_bus_get_property, default Frequency). Interleaved so that the
 *     noise of the machine hits every side alike.
 *  3. --rounds times, --phase-sec each: an idle phase (no bus traffic
 *     from us), a spin phase (a thread per CPU spinning at normal
 *     priority, no bus traffic: busy CPUs without the bus, because on a
 *     virtual machine an idle CPU wakes slower than a busy one), a flood
 *     of Gets (--flood-threads threads, each with its own connection,
 *     calling Get State, Get Frequency and Get ControlLoopStatistics on
 *     massaged in turn, back to back, no pause) and the flood (the same
 *     with a SetIntensity after every three Gets). Each phase starts
 *     with "latency-reset" on the daemon's control socket and ends with
 *     "latency": the control loop's wake-up latency (how late the
 *     SCHED_FIFO thread woke after its deadline, as bench-latency reports
 *     it) and loop time (wake-up to drive set). After each phase the
 *     session must still be running.
 *  4. Stop.
 *
 * Nothing is pinned to a CPU and nothing runs at a raised priority but
 * the daemon's control thread.
 *
 * Prints one line per measurement, then the summary line (last):
 *   dbus: get_p50_us=.. echo_p50_us=.. ratio=.. flood_calls_per_s=..
 *         loop_p99_us_idle=.. loop_p99_us_flood=..
 * where the loop figures are wake-up latency p99, median over the rounds
 * (the spin phase is printed before it, not in it).
 * Exit status 0 when it measured (figures are not judged here), 1 when it
 * could not (a name missing from the bus, a call refused, the session
 * lost), with the reason on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define MASSAGED_NAME	"org.massaged.Massager1"
#define ECHO_NAME	"org.massaged.BenchEcho1"
#define OBJECT_PATH	"/org/massaged/Massager1"
#define INTERFACE	"org.massaged.Massager1"
#define MAX_ROUNDS	16
#define MAX_THREADS	64

struct options {
	const char *target;
	const char *echo;
	const char *echo2;
	const char *ctl;
	const char *property;
	unsigned int count, warmup, rounds, threads;
	double phase_s, hz;
	uint32_t intensity;
};

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of @n values; sorts @v. */
static double percentile(double *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

/* The middle value; of an even count, the mean of the middle two. */
static double median(const double *v, size_t n)
{
	double tmp[MAX_ROUNDS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static int die_bus(const char *what, const char *dest, int r,
		   const sd_bus_error *e)
{
	fprintf(stderr, "bench-dbus: %s on %s failed: %s\n", what, dest,
		e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
	return r < 0 ? r : -EIO;
}

/* Wait until @name has an owner on the bus: 0, or -ETIMEDOUT. */
static int bus_wait_for_name(sd_bus *bus, const char *name, double timeout_s)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9);
	int r, has;

	for (;;) {
		_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

		r = sd_bus_call_method(bus, "org.freedesktop.DBus",
				       "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "NameHasOwner",
				       &e, &m, "s", name);
		if (r < 0)
			return die_bus("NameHasOwner", "the bus", r, &e);
		r = sd_bus_message_read(m, "b", &has);
		if (r < 0)
			return r;
		if (has)
			return 0;
		if (now_ns() > end)
			return -ETIMEDOUT;
		sleep_s(0.05);
	}
}

static int get_property(sd_bus *bus, const char *dest, const char *member,
			const char *type, sd_bus_message **ret)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property(bus, dest, OBJECT_PATH, INTERFACE, member, &e,
				ret, type);
	if (r < 0)
		return die_bus(member, dest, r, &e);
	return 0;
}

static int get_state(sd_bus *bus, const char *dest, char **ret)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property_string(bus, dest, OBJECT_PATH, INTERFACE,
				       "State", &e, ret);
	if (r < 0)
		return die_bus("Get State", dest, r, &e);
	return 0;
}

static int get_frequency(sd_bus *bus, const char *dest, double *ret)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property_trivial(bus, dest, OBJECT_PATH, INTERFACE,
					"Frequency", &e, 'd', ret);
	if (r < 0)
		return die_bus("Get Frequency", dest, r, &e);
	return 0;
}

static int set_intensity(sd_bus *bus, const char *dest, uint32_t v,
			 sd_bus_error *e)
{
	return sd_bus_call_method(bus, dest, OBJECT_PATH, INTERFACE,
				  "SetIntensity", e, NULL, "u", v);
}

/* The type the round-trip property has on massaged (and the echo). */
static const char *property_type(const char *property)
{
	if (strcmp(property, "State") == 0)
		return "s";
	if (strcmp(property, "Frequency") == 0)
		return "d";
	if (strcmp(property, "ControlLoopStatistics") == 0)
		return "(ttttttt)";
	return NULL;
}

/*
 * One command to the daemon's control socket (daemon/control-socket.c),
 * the answer in @buf. 0 on "ok ...", -EIO on "error ...", or -errno.
 */
static int ctl_command(const char *path, const char *cmd, char *buf,
		       size_t size)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	_cleanup_(closep) int fd = -1;
	struct pollfd p;
	ssize_t n;

	if (strlen(path) >= sizeof(to.sun_path))
		return -ENAMETOOLONG;
	strcpy(to.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Autobind to an abstract address so the daemon can answer. */
	if (bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0)
		return -errno;
	if (sendto(fd, cmd, strlen(cmd), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	n = poll(&p, 1, 2000);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return strncmp(buf, "ok", 2) == 0 ? 0 : -EIO;
}

/* KEY=NUMBER from a control socket answer; NAN when absent. */
static double ctl_value(const char *reply, const char *key)
{
	size_t len = strlen(key);
	const char *p = reply;

	while (p && *p) {
		if (strncmp(p, key, len) == 0 && p[len] == '=')
			return strtod(p + len + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NAN;
}

struct loop_stats {
	double wake_p99_us, wake_max_us, loop_p99_us, count, overruns,
		dropped;
};

static int loop_read(const char *ctl, struct loop_stats *ret)
{
	char buf[4096];
	int r;

	r = ctl_command(ctl, "latency", buf, sizeof(buf));
	if (r < 0)
		goto fail;
	ret->wake_p99_us = ctl_value(buf, "wake_p99_us");
	ret->wake_max_us = ctl_value(buf, "wake_max_us");
	ret->loop_p99_us = ctl_value(buf, "loop_p99_us");
	ret->count = ctl_value(buf, "wake_count");
	ret->overruns = ctl_value(buf, "overruns");
	r = ctl_command(ctl, "status", buf, sizeof(buf));
	if (r < 0)
		goto fail;
	ret->dropped = ctl_value(buf, "telemetry_dropped");
	return 0;
fail:
	fprintf(stderr, "bench-dbus: control socket %s: %s\n", ctl,
		r == -EIO ? buf : strerror(-r));
	return r;
}

static int loop_reset(const char *ctl)
{
	char buf[512];
	int r;

	r = ctl_command(ctl, "latency-reset", buf, sizeof(buf));
	if (r < 0)
		fprintf(stderr, "bench-dbus: control socket %s: %s\n", ctl,
			r == -EIO ? buf : strerror(-r));
	return r;
}

struct flood {
	const struct options *o;
	pthread_t thread;
	atomic_bool *stop;
	atomic_uint *connected;
	atomic_ulong calls;
	atomic_ulong errors;
	char first_error[256];
	bool gets_only;
	int r;
};

static void *flood_run(void *userdata)
{
	struct flood *f = userdata;
	const struct options *o = f->o;
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	static const char *const props[] = { "State", "Frequency",
					     "ControlLoopStatistics" };
	unsigned long i;
	int r;

	f->r = sd_bus_open_system(&bus);
	atomic_fetch_add(f->connected, 1);
	if (f->r < 0)
		return NULL;
	for (i = 0; !atomic_load_explicit(f->stop, memory_order_relaxed);
	     i++) {
		_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

		if (i % 4 == 3 && !f->gets_only)
			r = set_intensity(bus, o->target,
					  o->intensity - (i / 4 % 2) * 10, &e);
		else
			r = sd_bus_get_property(bus, o->target, OBJECT_PATH,
						INTERFACE, props[i % 4 % 3], &e,
						&m,
						property_type(props[i % 4 % 3]));
		if (r < 0) {
			if (!atomic_fetch_add(&f->errors, 1))
				snprintf(f->first_error,
					 sizeof(f->first_error), "%s",
					 sd_bus_error_is_set(&e) ? e.message :
								   strerror(-r));
			if (r == -ENOTCONN || r == -ECONNRESET)
				break;
			continue;
		}
		atomic_fetch_add_explicit(&f->calls, 1, memory_order_relaxed);
	}
	return NULL;
}

static uint64_t flood_total(struct flood *f, unsigned int n, bool errors)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += atomic_load(errors ? &f[i].errors : &f[i].calls);
	return sum;
}

enum phase { PHASE_IDLE, PHASE_SPIN, PHASE_FLOOD_GET, PHASE_FLOOD };

static const char *const phase_names[] = {
	[PHASE_IDLE] = "idle",
	[PHASE_SPIN] = "spin",
	[PHASE_FLOOD_GET] = "flood-get",
	[PHASE_FLOOD] = "flood",
};

/* The CPU load of the spin phase: busy CPUs, no bus traffic. */
static void *spin_run(void *userdata)
{
	struct flood *f = userdata;

	atomic_fetch_add(f->connected, 1);
	while (!atomic_load_explicit(f->stop, memory_order_relaxed))
		;
	return NULL;
}

/*
 * One phase of @o->phase_s: idle (the bus quiet), spin (a thread per CPU
 * spinning at normal priority, the bus quiet), flood-get or flood (the
 * latter two through --flood-threads connections). Returns 0 with
 * @ret filled, *@ret_calls_per_s and *@ret_errors the flood's completed
 * calls per second and failed calls, or a negative errno.
 */
static int loop_phase(const struct options *o, enum phase phase,
		      struct loop_stats *ret, double *ret_calls_per_s,
		      uint64_t *ret_errors)
{
	static struct flood f[MAX_THREADS];
	atomic_bool stop = false;
	atomic_uint connected = 0;
	uint64_t t0, t1, c0 = 0, c1 = 0, e0 = 0, e1 = 0;
	unsigned int i, n = 0;
	struct loop_stats before;
	int r = 0;

	if (phase == PHASE_FLOOD || phase == PHASE_FLOOD_GET)
		n = o->threads;
	else if (phase == PHASE_SPIN)
		n = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (i = 0; i < n; i++) {
		f[i] = (struct flood){ .o = o, .stop = &stop,
				       .connected = &connected,
				       .gets_only = phase == PHASE_FLOOD_GET };
		r = -pthread_create(&f[i].thread, NULL,
				    phase == PHASE_SPIN ? spin_run : flood_run,
				    &f[i]);
		if (r < 0) {
			n = i;
			goto out;
		}
	}
	while (atomic_load(&connected) < n)
		sleep_s(0.001);
	for (i = 0; i < n; i++)
		if (f[i].r < 0) {
			fprintf(stderr, "bench-dbus: flood connection: %s\n",
				strerror(-f[i].r));
			r = f[i].r;
			goto out;
		}
	/* Let the load reach its pace before the histograms start. */
	if (n)
		sleep_s(0.2);
	r = loop_read(o->ctl, &before);
	if (r < 0)
		goto out;
	r = loop_reset(o->ctl);
	if (r < 0)
		goto out;
	t0 = now_ns();
	c0 = flood_total(f, n, false);
	e0 = flood_total(f, n, true);
	sleep_s(o->phase_s);
	c1 = flood_total(f, n, false);
	e1 = flood_total(f, n, true);
	t1 = now_ns();
	r = loop_read(o->ctl, ret);
	if (r < 0)
		goto out;
	ret->overruns -= before.overruns;
	ret->dropped -= before.dropped;
	*ret_calls_per_s = (double)(c1 - c0) / ((double)(t1 - t0) / 1e9);
	*ret_errors = e1 - e0;
out:
	atomic_store(&stop, true);
	for (i = 0; i < n; i++)
		pthread_join(f[i].thread, NULL);
	/* Failed calls still load the bus, but say so: they may be cheaper. */
	if (r >= 0 && e1 > e0) {
		for (i = 0; i < n && !f[i].first_error[0]; i++)
			;
		fprintf(stderr,
			"bench-dbus: %llu of the flood's calls failed, first: %s\n",
			(unsigned long long)(e1 - e0),
			i < n ? f[i].first_error : "?");
	}
	return r;
}

/* Start the session and wait until massaged holds the frequency. */
static int session_start(sd_bus *bus, const struct options *o)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint64_t end, id = 0;
	double hz = 0;
	int r;

	r = sd_bus_call_method(bus, o->target, OBJECT_PATH, INTERFACE,
			       "StartManual", &e, &reply, "duta{sv}", o->hz,
			       o->intensity, (uint64_t)0, 0);
	if (r < 0)
		return die_bus("StartManual", o->target, r, &e);
	r = sd_bus_message_read(reply, "t", &id);
	if (r < 0)
		return r;
	end = now_ns() + 15 * 1000000000ull;
	for (;;) {
		_cleanup_(freep) char *state = NULL;

		r = get_state(bus, o->target, &state);
		if (r < 0)
			return r;
		if (strcmp(state, "running") == 0) {
			r = get_frequency(bus, o->target, &hz);
			if (r < 0)
				return r;
			if (fabs(hz - o->hz) < 1.0)
				break;
		}
		if (now_ns() > end) {
			fprintf(stderr,
				"bench-dbus: session %llu did not hold %.1f Hz within 15 s: State=%s Frequency=%.2f\n",
				(unsigned long long)id, o->hz, state, hz);
			return -ETIMEDOUT;
		}
		sleep_s(0.05);
	}
	printf("session: %llu, StartManual(%.1f Hz, %u permille), holding %.2f Hz\n",
	       (unsigned long long)id, o->hz, o->intensity, hz);
	return 0;
}

/* After a phase: the session must still be running. */
static int session_check(sd_bus *bus, const struct options *o,
			 const char *after)
{
	_cleanup_(freep) char *state = NULL;
	int r;

	r = get_state(bus, o->target, &state);
	if (r < 0)
		return r;
	if (strcmp(state, "running") != 0) {
		fprintf(stderr,
			"bench-dbus: the session stopped during the %s phase: State=%s\n",
			after, state);
		return -ECANCELED;
	}
	return 0;
}

/* One timed call; the duration in microseconds, or a negative errno. */
static double time_get(sd_bus *bus, const char *dest, const char *property,
		       const char *type, int *r)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	uint64_t t0 = now_ns();

	*r = get_property(bus, dest, property, type, &m);
	return (double)(now_ns() - t0) / 1e3;
}

static double time_set(sd_bus *bus, const char *dest, uint32_t v, int *r)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t t0 = now_ns();
	double us;

	*r = set_intensity(bus, dest, v, &e);
	us = (double)(now_ns() - t0) / 1e3;
	if (*r < 0)
		die_bus("SetIntensity", dest, *r, &e);
	return us;
}

struct rtt {
	double p50_us, p99_us;
};

/*
 * The order of the calls in a round, all six in turn: each service
 * follows each other one as often, so what one leaves behind after its
 * reply (massaged's PropertiesChanged, its history write) lands on the
 * other two alike. Rotating 0 1 2 would put the echo after massaged in
 * two rounds of three, the second echo in one.
 */
static const unsigned int order3[6][3] = {
	{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
	{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
};

/*
 * @o->count timed calls (after @o->warmup untimed ones) to each of the
 * @n (2 or 3) destinations, in rounds of one call to each, the order
 * changing from round to round (order3, or alternating for two):
 * SetIntensity calls if @set, else Get @o->property.
 */
static int round_trips(sd_bus *bus, const struct options *o, bool set,
		       const char *const *dest, unsigned int n,
		       struct rtt *ret)
{
	const char *type = property_type(o->property);
	_cleanup_(freep) double *v = NULL;
	unsigned int i, k, d, rounds = o->warmup + o->count;
	int r = 0;

	v = calloc((size_t)o->count * n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < rounds; i++)
		for (k = 0; k < n; k++) {
			uint32_t permille = o->intensity - (i % 2) * 10;
			double us;

			d = n == 3 ? order3[i % 6][k] : (i + k) % n;

			if (set)
				us = time_set(bus, dest[d], permille, &r);
			else
				us = time_get(bus, dest[d], o->property, type,
					      &r);
			if (r < 0)
				return r;
			if (i >= o->warmup)
				v[(size_t)d * o->count + i - o->warmup] = us;
		}
	for (d = 0; d < n; d++) {
		ret[d].p50_us = percentile(v + (size_t)d * o->count, o->count,
					   0.5);
		ret[d].p99_us = percentile(v + (size_t)d * o->count, o->count,
					   0.99);
	}
	return 0;
}

static void print_rtt(const char *what, const struct options *o,
		      const struct rtt *t, unsigned int n)
{
	printf("%s x %u interleaved: massaged p50 %.1f p99 %.1f us, echo p50 %.1f p99 %.1f us",
	       what, o->count, t[0].p50_us, t[0].p99_us, t[1].p50_us,
	       t[1].p99_us);
	if (n > 2)
		printf(", second echo p50 %.1f p99 %.1f us (echo/echo %.2f: the noise floor of the ratio)",
		       t[2].p50_us, t[2].p99_us, t[2].p50_us / t[1].p50_us);
	printf("\n");
}

static void usage(void)
{
	printf("usage: bench-dbus --control-socket=PATH [OPTIONS]\n\n"
	       "  -s --control-socket=PATH massaged's debug socket (latency, latency-reset)\n"
	       "     --target=NAME         the service measured (default %s)\n"
	       "     --echo=NAME           the baseline (default %s)\n"
	       "     --second-echo=NAME    a second baseline, for the noise floor (A/A)\n"
	       "     --property=NAME       State, Frequency (default) or ControlLoopStatistics\n"
	       "  -n --count=N             round trips per side (default 2000)\n"
	       "     --warmup=N            untimed calls first (default 200)\n"
	       "     --rounds=N            idle+flood pairs (default 3, at most %d)\n"
	       "     --phase-sec=S         length of each phase (default 5)\n"
	       "     --flood-threads=N     flooding connections (default 4)\n"
	       "     --frequency=HZ        StartManual frequency (default 45)\n"
	       "     --intensity=PERMILLE  StartManual intensity (default 800)\n",
	       MASSAGED_NAME, ECHO_NAME, MAX_ROUNDS);
}

static int parse_args(int argc, char *argv[], struct options *o)
{
	enum { ARG_TARGET = 0x100, ARG_ECHO, ARG_ECHO2, ARG_PROPERTY, ARG_WARMUP,
	       ARG_ROUNDS, ARG_PHASE, ARG_THREADS, ARG_FREQ, ARG_INTENSITY };
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "control-socket", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, ARG_TARGET },
		{ "echo", required_argument, NULL, ARG_ECHO },
		{ "second-echo", required_argument, NULL, ARG_ECHO2 },
		{ "property", required_argument, NULL, ARG_PROPERTY },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, ARG_WARMUP },
		{ "rounds", required_argument, NULL, ARG_ROUNDS },
		{ "phase-sec", required_argument, NULL, ARG_PHASE },
		{ "flood-threads", required_argument, NULL, ARG_THREADS },
		{ "frequency", required_argument, NULL, ARG_FREQ },
		{ "intensity", required_argument, NULL, ARG_INTENSITY },
		{}
	};
	int c;

	*o = (struct options){
		.target = MASSAGED_NAME, .echo = ECHO_NAME,
		.property = "Frequency", .count = 2000, .warmup = 200,
		.rounds = 3, .threads = 4, .phase_s = 5, .hz = 45,
		.intensity = 800,
	};
	while ((c = getopt_long(argc, argv, "hs:n:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage();
			exit(0);
		case 's':
			o->ctl = optarg;
			break;
		case ARG_TARGET:
			o->target = optarg;
			break;
		case ARG_ECHO:
			o->echo = optarg;
			break;
		case ARG_ECHO2:
			o->echo2 = optarg;
			break;
		case ARG_PROPERTY:
			o->property = optarg;
			break;
		case 'n':
			o->count = (unsigned int)atoi(optarg);
			break;
		case ARG_WARMUP:
			o->warmup = (unsigned int)atoi(optarg);
			break;
		case ARG_ROUNDS:
			o->rounds = (unsigned int)atoi(optarg);
			break;
		case ARG_PHASE:
			o->phase_s = atof(optarg);
			break;
		case ARG_THREADS:
			o->threads = (unsigned int)atoi(optarg);
			break;
		case ARG_FREQ:
			o->hz = atof(optarg);
			break;
		case ARG_INTENSITY:
			o->intensity = (uint32_t)atoi(optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !o->ctl || !property_type(o->property) ||
	    o->count < 1 || o->rounds < 1 || o->rounds > MAX_ROUNDS ||
	    o->threads < 1 || o->threads > MAX_THREADS || !(o->phase_s > 0) ||
	    o->intensity < 20 || o->intensity > 1000) {
		fprintf(stderr, "bench-dbus: bad arguments; see --help\n");
		return -EINVAL;
	}
	return 0;
}

static void print_phase(const char *name, unsigned int round,
			const struct loop_stats *s, double calls_per_s,
			uint64_t errors)
{
	printf("loop %s %u: wake p99 %.0f max %.0f us, loop time p99 %.0f us, %.0f periods, overruns +%.0f, telemetry dropped +%.0f",
	       name, round, s->wake_p99_us, s->wake_max_us, s->loop_p99_us,
	       s->count, s->overruns, s->dropped);
	if (calls_per_s >= 0)
		printf(", %.0f calls/s, %llu failed", calls_per_s,
		       (unsigned long long)errors);
	printf("\n");
	fflush(stdout);
}

int main(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	double wake[4][MAX_ROUNDS], loop[4][MAX_ROUNDS];
	double rates[MAX_ROUNDS], get_rates[MAX_ROUNDS];
	double rate = 0, get_us = NAN, echo_us = NAN, idle, spin, gets, flooded;
	const char *dest[3];
	unsigned int n_dest;
	struct rtt rtt[3];
	char what[64];
	uint64_t errors = 0, flood_errors = 0;
	uint32_t intensity_max = 0;
	struct loop_stats s;
	struct options o;
	unsigned int i;
	int r;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr,
			"bench-dbus: cannot connect to the bus (DBUS_SYSTEM_BUS_ADDRESS=%s): %s\n",
			getenv("DBUS_SYSTEM_BUS_ADDRESS") ?: "unset",
			strerror(-r));
		return 1;
	}
	r = bus_wait_for_name(bus, o.echo, 5);
	if (r == -ETIMEDOUT)
		fprintf(stderr,
			"bench-dbus: nobody owns %s on the bus: is dbus-echo-service running?\n",
			o.echo);
	if (r < 0)
		return 1;
	if (o.echo2) {
		r = bus_wait_for_name(bus, o.echo2, 5);
		if (r == -ETIMEDOUT)
			fprintf(stderr,
				"bench-dbus: nobody owns %s on the bus: is the second dbus-echo-service running?\n",
				o.echo2);
		if (r < 0)
			return 1;
	}
	dest[0] = o.target;
	dest[1] = o.echo;
	dest[2] = o.echo2;
	n_dest = o.echo2 ? 3 : 2;
	r = bus_wait_for_name(bus, o.target, 10);
	if (r == -ETIMEDOUT)
		fprintf(stderr,
			"bench-dbus: massaged does not own %s on the bus within 10 s although its control socket answers: the daemon serves no D-Bus API yet (daemon/massaged-bus.c), nothing to measure\n",
			o.target);
	if (r < 0)
		return 1;

	/* "Within limits": not above the station's IntensityMax. */
	if (sd_bus_get_property_trivial(bus, o.target, OBJECT_PATH, INTERFACE,
					"IntensityMax", NULL, 'u',
					&intensity_max) >= 0 &&
	    intensity_max >= 20 && o.intensity > intensity_max) {
		printf("session: intensity %u permille is above IntensityMax, using %u\n",
		       o.intensity, intensity_max);
		o.intensity = intensity_max;
	}
	r = session_start(bus, &o);
	if (r < 0)
		goto stop;
	/* Control calls first, so that the Get figures come last. */
	r = round_trips(bus, &o, true, dest, n_dest, rtt);
	if (r < 0)
		goto stop;
	print_rtt("control: SetIntensity", &o, rtt, n_dest);
	printf("control: control_p50_us=%.1f echo_call_p50_us=%.1f ratio=%.2f\n",
	       rtt[0].p50_us, rtt[1].p50_us, rtt[0].p50_us / rtt[1].p50_us);
	r = round_trips(bus, &o, false, dest, n_dest, rtt);
	if (r < 0)
		goto stop;
	snprintf(what, sizeof(what), "get: Get %s", o.property);
	print_rtt(what, &o, rtt, n_dest);
	get_us = rtt[0].p50_us;
	echo_us = rtt[1].p50_us;

	for (i = 0; i < o.rounds; i++) {
		enum phase p;

		for (p = PHASE_IDLE; p <= PHASE_FLOOD; p++) {
			r = loop_phase(&o, p, &s, &rate, &errors);
			if (r < 0)
				goto stop;
			wake[p][i] = s.wake_p99_us;
			loop[p][i] = s.loop_p99_us;
			if (p == PHASE_FLOOD_GET)
				get_rates[i] = rate;
			if (p == PHASE_FLOOD)
				rates[i] = rate;
			if (p >= PHASE_FLOOD_GET)
				flood_errors += errors;
			print_phase(phase_names[p], i + 1, &s,
				    p >= PHASE_FLOOD_GET ? rate : -1, errors);
			r = session_check(bus, &o, phase_names[p]);
			if (r < 0)
				goto stop;
		}
	}
stop:
	{
		_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
		int k;

		k = sd_bus_call_method(bus, o.target, OBJECT_PATH, INTERFACE,
				       "Stop", &e, NULL, NULL);
		if (k < 0)
			die_bus("Stop", o.target, k, &e);
	}
	if (r < 0)
		return 1;

	idle = median(wake[PHASE_IDLE], o.rounds);
	spin = median(wake[PHASE_SPIN], o.rounds);
	gets = median(wake[PHASE_FLOOD_GET], o.rounds);
	flooded = median(wake[PHASE_FLOOD], o.rounds);
	printf("loop: medians of %u rounds of %.0f s, %u flood threads: wake-up p99 idle %.0f us, spin %.0f us, flood of Gets %.0f us (%.0f calls/s), flood %.0f us (%+.0f %% on idle, %+.0f %% on spin); loop time p99 idle %.0f us, spin %.0f us, flood of Gets %.0f us, flood %.0f us\n",
	       o.rounds, o.phase_s, o.threads, idle, spin, gets,
	       median(get_rates, o.rounds), flooded,
	       (flooded / idle - 1) * 100, (flooded / spin - 1) * 100,
	       median(loop[PHASE_IDLE], o.rounds),
	       median(loop[PHASE_SPIN], o.rounds),
	       median(loop[PHASE_FLOOD_GET], o.rounds),
	       median(loop[PHASE_FLOOD], o.rounds));
	if (flood_errors)
		printf("flood: %llu calls failed (see above); flood_calls_per_s counts completed calls only\n",
		       (unsigned long long)flood_errors);
	printf("targets: get/echo %.2f (<= 1.30: %s), flood raises wake-up p99 by %+.0f %% over idle (<= +10 %%: %s)\n",
	       get_us / echo_us, get_us / echo_us <= 1.3 ? "met" : "missed",
	       (flooded / idle - 1) * 100,
	       flooded <= idle * 1.1 ? "met" : "missed");
	printf("dbus: get_p50_us=%.1f echo_p50_us=%.1f ratio=%.2f flood_calls_per_s=%.0f loop_p99_us_idle=%.0f loop_p99_us_flood=%.0f\n",
	       get_us, echo_us, get_us / echo_us, median(rates, o.rounds),
	       idle, flooded);
	return 0;
}
