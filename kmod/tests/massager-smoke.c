// SPDX-License-Identifier: GPL-2.0-only
/*
 * Driver-side smoke test of massager.ko, run in a VM by smoke-vm.sh.
 *
 * tests/vm/massager-test.c is the real test suite; this one checks what
 * it leaves out and that the driver author wants seen before a change:
 * info and sysfs agree, monitors cannot drive, events reach monitors with
 * contiguous sequence numbers, queue overflow is counted, the watchdog
 * timeout reverts on release, a drive after a trip restarts the motor,
 * poll() says HUP after unbind, suspend stops the motor, the max_duty
 * module parameter, and the
 * cost of a drive ioctl. Prints TAP and "# key=value" figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <uapi/massager.h>

#define DEV "/dev/massager0"
#define SYS "/sys/class/misc/massager0/"
#define DBG "/sys/kernel/debug/massager-sim/"

static int failed;
static int n_test;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	printf("%s %d - %s", ok ? "ok" : "not ok", n_test, name);
	if (!ok && fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		failed++;
	}
	printf("\n");
	fflush(stdout);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static long long read_num(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	return atoll(buf);
}

static int drive(int fd, unsigned int duty)
{
	struct massager_drive d = { .duty_permille = duty };

	return ioctl(fd, MASSAGER_IOC_DRIVE, &d) < 0 ? -errno : 0;
}

static int set_watchdog(int fd, unsigned int ms)
{
	struct massager_watchdog w = { .timeout_ms = ms };

	return ioctl(fd, MASSAGER_IOC_SET_WATCHDOG, &w) < 0 ? -errno : 0;
}

static int get_state(int fd, struct massager_state *st)
{
	return ioctl(fd, MASSAGER_IOC_GET_STATE, st) < 0 ? -errno : 0;
}

static int run(const char *cmd)
{
	return system(cmd);
}

static void test_info_and_sysfs(void)
{
	struct massager_info info;
	struct massager_state st;
	char buf[64], st_name[32];
	int fd, ok;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		result(0, "info and sysfs agree", "open: %s", strerror(errno));
		return;
	}
	memset(&info, 0xa5, sizeof(info));
	ok = ioctl(fd, MASSAGER_IOC_GET_INFO, &info) == 0 &&
	     info.abi_version == MASSAGER_ABI_VERSION &&
	     info.event_size == sizeof(struct massager_event) &&
	     info.watchdog_default_ms == MASSAGER_WATCHDOG_DEFAULT_MS &&
	     !strncmp(info.iio_device, "iio:device", 10) &&
	     info.gpiochip[0] && !info.reserved0 && !info.reserved[7];
	read_text(SYS "iio_device", buf, sizeof(buf));
	ok = ok && !strcmp(buf, info.iio_device);
	read_text(SYS "gpiochip", buf, sizeof(buf));
	ok = ok && !strcmp(buf, info.gpiochip);
	ok = ok && read_num(SYS "owner_pid") == getpid();
	ok = ok && read_num(SYS "max_duty_permille") == info.max_duty_permille;
	ok = ok && read_num(SYS "pwm_period_ns") == info.pwm_period_ns;
	get_state(fd, &st);
	ok = ok && st.owner_pid == getpid();
	read_text(SYS "state", st_name, sizeof(st_name));
	printf("# iio_device=%s gpiochip=%s max_duty=%u period_ns=%u state=%s\n",
	       info.iio_device, info.gpiochip, info.max_duty_permille,
	       info.pwm_period_ns, st_name);
	close(fd);
	ok = ok && read_num(SYS "owner_pid") == 0;
	result(ok, "info and sysfs agree; owner_pid follows the owner", "mismatch");
}

static void test_monitor_cannot_drive(void)
{
	struct massager_watchdog w = { .timeout_ms = 100 };
	struct massager_drive d = { .duty_permille = 100 };
	int mon = open(DEV, O_RDONLY | O_CLOEXEC);
	int e1, e2, e3;

	e1 = ioctl(mon, MASSAGER_IOC_DRIVE, &d) < 0 ? errno : 0;
	e2 = ioctl(mon, MASSAGER_IOC_SET_WATCHDOG, &w) < 0 ? errno : 0;
	e3 = ioctl(mon, MASSAGER_IOC_RESET_ESTOP) < 0 ? errno : 0;
	close(mon);
	result(e1 == EBADF && e2 == EBADF && e3 == EBADF,
	       "drive, set-watchdog and reset on a monitor fail EBADF",
	       "%s %s %s", strerror(e1), strerror(e2), strerror(e3));
}

static void test_events_and_overflow(void)
{
	struct massager_event ev[80];
	struct massager_state st;
	struct pollfd p;
	int fd, mon, i, trips = 70, ok = 1, n_ev;
	ssize_t n;

	mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	n = read(mon, ev, sizeof(ev));
	ok = n < 0 && errno == EAGAIN;
	p = (struct pollfd){ .fd = mon, .events = POLLIN };
	ok = ok && poll(&p, 1, 0) == 0;
	if (!ok) {
		result(0, "events", "empty queue not EAGAIN/quiet");
		goto out;
	}
	set_watchdog(fd, MASSAGER_WATCHDOG_MIN_MS);
	for (i = 0; i < trips; i++) {
		drive(fd, 200);
		sleep_ms(MASSAGER_WATCHDOG_MIN_MS + 8);
	}
	get_state(mon, &st);
	ok = st.watchdog_trips >= (unsigned int)trips && !st.enabled;
	ok = ok && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	/* A drive after a trip restarts the motor: trips do not latch. */
	ok = ok && drive(fd, 300) == 0;
	get_state(fd, &st);
	ok = ok && st.enabled && st.duty_permille == 300;
	drive(fd, 0);
	get_state(mon, &st);
	printf("# trips=%u events_lost=%u\n", st.watchdog_trips,
	       st.events_lost);
	ok = ok && st.events_lost == (unsigned int)trips - 64;
	n = read(mon, ev, sizeof(ev));
	n_ev = n / (int)sizeof(ev[0]);
	ok = ok && n_ev == 64;
	for (i = 1; ok && i < n_ev; i++)
		ok = ev[i].seq == ev[i - 1].seq + 1 &&
		     ev[i].type == MASSAGER_EVENT_WATCHDOG_TRIP &&
		     ev[i].value == 200 && ev[i].timestamp_ns > ev[i - 1].timestamp_ns;
	result(ok, "70 watchdog trips: 64 queued in order, 6 counted lost; a drive restarts",
	       "n_ev=%d events_lost=%u", n_ev, st.events_lost);

	/* The owner's close: OWNER_RELEASED with the duty it cut, lost=6. */
	drive(fd, 250);
	close(fd);
	fd = -1;
	n = read(mon, ev, sizeof(ev));
	ok = n == sizeof(ev[0]) && ev[0].type == MASSAGER_EVENT_OWNER_RELEASED &&
	     ev[0].value == 250 && ev[0].lost == (unsigned int)trips - 64;
	result(ok, "owner's close raises OWNER_RELEASED with the duty, lost carried",
	       "n=%zd type=%u value=%u lost=%u", n, ev[0].type, ev[0].value,
	       ev[0].lost);

	/* The watchdog timeout reverts to the default for the next owner. */
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	get_state(fd, &st);
	result(st.watchdog_ms == MASSAGER_WATCHDOG_DEFAULT_MS,
	       "watchdog timeout reverts to the default on release",
	       "watchdog_ms=%u", st.watchdog_ms);
out:
	if (fd >= 0)
		close(fd);
	close(mon);
}

static void bench_drive(void)
{
	long long t0, t1;
	int fd, i, n = 20000;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		drive(fd, 400);
	t1 = now_ns();
	printf("# drive_same_duty_ns=%lld\n", (t1 - t0) / n);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		drive(fd, 400 + (i & 1));
	t1 = now_ns();
	printf("# drive_new_duty_ns=%lld\n", (t1 - t0) / n);
	drive(fd, 0);
	close(fd);
	result(1, "drive ioctl cost measured", NULL);
}

static void test_unbind_poll(void)
{
	struct pollfd p;
	int mon, ok;

	mon = open(DEV, O_RDONLY | O_CLOEXEC);
	run("echo massager.0 > /sys/bus/platform/drivers/massager/unbind");
	p = (struct pollfd){ .fd = mon, .events = POLLIN };
	ok = poll(&p, 1, 1000) == 1 && (p.revents & POLLHUP) &&
	     (p.revents & POLLERR) && access(SYS "state", F_OK) < 0;
	close(mon);
	run("echo massager.0 > /sys/bus/platform/drivers/massager/bind");
	ok = ok && access(DEV, F_OK) == 0;
	result(ok, "poll says HUP|ERR after unbind; rebind brings the node back",
	       "revents=%#x", p.revents);
}

/* Suspend with the motor on: it must come back off. */
static void test_suspend(void)
{
	struct massager_state before, after;
	struct massager_event ev = { 0 };
	long long t_drive, dt_ms = -1;
	int fd, mon, r;

	mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
	t_drive = now_ns();
	drive(fd, 300);
	get_state(fd, &before);
	/*
	 * QEMU does not wake from suspend-to-idle on an RTC alarm, so use
	 * the PM core's test mode: it freezes userspace and runs every
	 * device's suspend and resume callbacks, then resumes after 5 s
	 * without sleeping. That is the driver's part of a real suspend.
	 */
	r = run("echo devices > /sys/power/pm_test && "
		"echo freeze > /sys/power/state; "
		"s=$?; echo none > /sys/power/pm_test; exit $s");
	get_state(fd, &after);
	drive(fd, 0);
	close(fd);
	/*
	 * The PM test mode does not stop CLOCK_MONOTONIC, so the 1 s watchdog
	 * would trip by itself during its 5 s wait: the trip must come from
	 * the suspend callback, well before the timeout.
	 */
	while (read(mon, &ev, sizeof(ev)) == sizeof(ev))
		if (ev.type == MASSAGER_EVENT_WATCHDOG_TRIP) {
			dt_ms = (long long)(ev.timestamp_ns - t_drive) / 1000000;
			break;
		}
	close(mon);
	printf("# suspend_trip_after_drive_ms=%lld\n", dt_ms);
	if (r) {
		n_test++;
		printf("ok %d - suspend stops the motor # SKIP no /sys/power/pm_test\n",
		       n_test);
		return;
	}
	result(before.enabled && !after.enabled && dt_ms >= 0 &&
	       dt_ms < MASSAGER_WATCHDOG_MAX_MS / 2 &&
	       after.watchdog_trips == before.watchdog_trips + 1 &&
	       after.stop_reason == MASSAGER_STOP_WATCHDOG,
	       "suspend counts as a missed heartbeat: motor off after resume",
	       "enabled %u->%u trips %u->%u reason %u trip after %lld ms",
	       before.enabled, after.enabled, before.watchdog_trips,
	       after.watchdog_trips, after.stop_reason, dt_ms);
}

static void test_max_duty(const char *moddir)
{
	struct massager_info info = { 0 };
	char cmd[256];
	int fd, r, ok;

	snprintf(cmd, sizeof(cmd),
		 "rmmod massager && insmod %s/massager.ko max_duty=700", moddir);
	if (run(cmd)) {
		result(0, "max_duty=700", "reload failed");
		return;
	}
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	ioctl(fd, MASSAGER_IOC_GET_INFO, &info);
	r = drive(fd, 701);
	ok = info.max_duty_permille == 700 && r == -ERANGE &&
	     drive(fd, 700) == 0 && read_num(SYS "max_duty_permille") == 700;
	drive(fd, 0);
	close(fd);
	result(ok, "max_duty=700: info says 700, 701 is ERANGE, 700 runs",
	       "max=%u r=%d", info.max_duty_permille, r);

	snprintf(cmd, sizeof(cmd),
		 "rmmod massager && insmod %s/massager.ko max_duty=0", moddir);
	run(cmd);
	ok = access(DEV, F_OK) < 0;
	snprintf(cmd, sizeof(cmd),
		 "rmmod massager && insmod %s/massager.ko", moddir);
	run(cmd);
	ok = ok && access(DEV, F_OK) == 0;
	result(ok, "max_duty=0 refuses to bind; a plain reload binds again",
	       "node state wrong");
}

int main(int argc, char **argv)
{
	const char *moddir = argc > 1 ? argv[1] : "/lib/modules/massaged";

	printf("1..10\n");
	test_info_and_sysfs();
	test_monitor_cannot_drive();
	test_events_and_overflow();
	bench_drive();
	test_unbind_poll();
	test_suspend();
	test_max_duty(moddir);
	printf("# passed=%d failed=%d\n", n_test - failed, failed);
	return failed ? 1 : 0;
}
