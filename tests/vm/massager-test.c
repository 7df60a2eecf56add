// SPDX-License-Identifier: MIT
/*
 * massager-test.c - massager.ko and massager-sim.ko in a real kernel
 *
 * Runs as init's child inside the QEMU guest that tests/vm/run.sh boots,
 * with the modules loaded. Prints TAP: "ok N - name" or "not ok N - name:
 * reason", measured figures as "# key=value" lines, and a final
 * "# passed=N failed=M". The kernel is real, only the board is simulated:
 * the motor, accelerometer and e-stop switch are massager-sim.ko, observed
 * and poked through /sys/kernel/debug/massager-sim/.
 *
 * Usage: massager-test MODULE_DIR   (holds massager.ko and massager-sim.ko)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/massager.h"
#include "plant.h"

#define DBG		"/sys/kernel/debug/massager-sim/"
#define DEV		"/dev/massager0"
#define DRV_SYSFS	"/sys/bus/platform/drivers/massager/"
#define IIO_NAME	"massager-sim-accel"

/*
 * Tolerances, and why:
 * - frequency: the zero-crossing estimate over ~1 s of 3200 Hz samples is
 *   good to a few hundredths of a hertz; 1 Hz leaves room for the plant
 *   still settling, while catching a wrong rate or a wrong timestamp.
 * - amplitude: the RMS of x and y is compared with the same plant model
 *   (lib/plant.c) run here at the same duty; the kernel's plant advances
 *   in steps set by its timer, so noise and the speed reached differ a
 *   little: 15 % is wide for that and far below the 2x a wrong duty or a
 *   wrong scale would give.
 * - watchdog trip: the default timeout is 50 ms; the event must come no
 *   earlier and within 50 ms more (a TCG guest on a shared host).
 */
#define FREQ_TOL_MHZ		1000
#define AMPL_TOL_PCT		15
#define TRIP_LATE_MS		50
#define STOP_MAX_MS		200

static const char *moddir;
static int n_test, n_fail;

static void ok(const char *name)
{
	printf("ok %d - %s\n", ++n_test, name);
	fflush(stdout);
}

static void not_ok(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok %d - %s: ", ++n_test, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	n_fail++;
}

/* Fail the current test with a reason; used as "return FAIL(...)". */
#define FAIL(...) (snprintf(why, sizeof(why), __VA_ARGS__), -1)
static char why[512];

static void report(const char *name, int r)
{
	if (r < 0)
		not_ok(name, "%s", why);
	else
		ok(name);
	why[0] = 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_int(const char *path, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return write_str(path, buf);
}

static int read_str(const char *path, char *buf, size_t len)
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
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Integer in a sysfs/debugfs file, or LLONG_MIN when unreadable. */
static long long read_int(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)) < 0)
		return LLONG_MIN;
	return strtoll(buf, NULL, 0);
}

static long long dbg(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "%s", name);
	return read_int(path);
}

static int dbg_set(const char *name, long long v)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "%s", name);
	return write_int(path, v);
}

/* Wait up to @ms for debugfs @name to read @want; ns waited, or -1. */
static long long wait_dbg(const char *name, long long want, unsigned int ms)
{
	uint64_t t0 = now_ns(), end = t0 + ms * 1000000ull;

	for (;;) {
		uint64_t t = now_ns();

		if (dbg(name) == want)
			return (long long)(t - t0);
		if (t > end)
			return -1;
		usleep(200);
	}
}

static int wait_path(const char *path, bool present, unsigned int ms)
{
	for (unsigned int i = 0; i <= ms; i += 10) {
		if ((access(path, F_OK) == 0) == present)
			return 0;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

static int drive(int fd, uint32_t duty)
{
	struct massager_drive d = { .duty_permille = duty };

	return ioctl(fd, MASSAGER_IOC_DRIVE, &d) < 0 ? -errno : 0;
}

static int set_watchdog(int fd, uint32_t ms)
{
	struct massager_watchdog w = { .timeout_ms = ms };

	return ioctl(fd, MASSAGER_IOC_SET_WATCHDOG, &w) < 0 ? -errno : 0;
}

static int get_state(int fd, struct massager_state *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, MASSAGER_IOC_GET_STATE, st) < 0 ? -errno : 0;
}

/* ---- modules ----------------------------------------------------------- */

static int mod_load(const char *file)
{
	char path[256];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", moddir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int mod_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ? -errno : 0;
}

static bool mod_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Load the simulated board, then the driver, and wait for the node. */
static int board_up(void)
{
	int r;

	if (!mod_loaded("massager_sim")) {
		r = mod_load("massager-sim.ko");
		if (r < 0)
			return FAIL("insmod massager-sim.ko: %s", strerror(-r));
	}
	if (!mod_loaded("massager")) {
		r = mod_load("massager.ko");
		if (r < 0)
			return FAIL("insmod massager.ko: %s", strerror(-r));
	}
	if (wait_path(DEV, true, 3000) < 0)
		return FAIL(DEV " did not appear within 3 s");
	return 0;
}

static int test_load_unload(void)
{
	int r;

	r = board_up();
	if (r < 0)
		return r;
	r = mod_unload("massager");
	if (r < 0)
		return FAIL("rmmod massager: %s", strerror(-r));
	if (wait_path(DEV, false, 2000) < 0)
		return FAIL(DEV " still there after rmmod massager");
	r = mod_unload("massager_sim");
	if (r < 0)
		return FAIL("rmmod massager-sim: %s", strerror(-r));
	if (access(DBG, F_OK) == 0)
		return FAIL(DBG " still there after rmmod massager-sim");
	/* Twice, so that a leak of the first load shows in the second. */
	for (int i = 0; i < 2; i++) {
		r = board_up();
		if (r < 0)
			return r;
		if (i == 0 && (mod_unload("massager") < 0 ||
			       mod_unload("massager_sim") < 0))
			return FAIL("second unload failed: %m");
	}
	if (dbg("enabled") != 0 || dbg("duty_ppm") != 0)
		return FAIL("motor not off after load: enabled=%lld duty_ppm=%lld",
			    dbg("enabled"), dbg("duty_ppm"));
	return 0;
}

static int test_exclusive_control(void)
{
	int a, b, m1, m2, r = 0;

	a = open(DEV, O_RDWR | O_CLOEXEC);
	if (a < 0)
		return FAIL("first O_RDWR open: %m");
	b = open(DEV, O_RDWR | O_CLOEXEC);
	if (b >= 0 || errno != EBUSY) {
		r = FAIL("second O_RDWR open: got %s, want EBUSY",
			 b >= 0 ? "success" : strerror(errno));
		goto out;
	}
	b = open(DEV, O_WRONLY | O_CLOEXEC);
	if (b >= 0 || errno != EBUSY) {
		r = FAIL("O_WRONLY open beside the owner: got %s, want EBUSY",
			 b >= 0 ? "success" : strerror(errno));
		goto out;
	}
	m1 = open(DEV, O_RDONLY | O_CLOEXEC);
	m2 = open(DEV, O_RDONLY | O_CLOEXEC);
	if (m1 < 0 || m2 < 0) {
		r = FAIL("monitoring O_RDONLY opens beside the owner: %m");
	} else {
		struct massager_state st;

		if (drive(m1, 100) != -EBADF)
			r = FAIL("drive on an O_RDONLY file: want EBADF");
		else if (get_state(m1, &st) < 0 || st.owner_pid != getpid())
			r = FAIL("GET_STATE on a monitor: owner_pid %d, want %d",
				 st.owner_pid, getpid());
	}
	if (m1 >= 0)
		close(m1);
	if (m2 >= 0)
		close(m2);
out:
	if (b >= 0)
		close(b);
	close(a);
	if (r == 0) {
		/* The owner gone, control is free again. */
		a = open(DEV, O_RDWR | O_CLOEXEC);
		if (a < 0)
			return FAIL("O_RDWR after the owner closed: %m");
		close(a);
	}
	return r;
}

/* ---- heartbeat thread: keeps the watchdog fed while a test measures ---- */

struct heartbeat {
	pthread_t thread;
	int fd;
	uint32_t duty;
	volatile bool stop;
	volatile int error;
};

static void *heartbeat_run(void *arg)
{
	struct heartbeat *hb = arg;

	while (!hb->stop) {
		int r = drive(hb->fd, hb->duty);

		if (r < 0) {
			hb->error = r;
			break;
		}
		sleep_ms(10);
	}
	return NULL;
}

static int heartbeat_start(struct heartbeat *hb, int fd, uint32_t duty)
{
	*hb = (struct heartbeat){ .fd = fd, .duty = duty };
	return -pthread_create(&hb->thread, NULL, heartbeat_run, hb);
}

static int heartbeat_stop(struct heartbeat *hb)
{
	hb->stop = true;
	pthread_join(hb->thread, NULL);
	return hb->error;
}

/* ---- IIO buffered capture --------------------------------------------- */

struct iio {
	char dir[300];
	char node[300];
	int fd;
	unsigned int scan_bytes;
	unsigned int off[4];	/* x, y, z, timestamp */
};

static int iio_find(struct iio *io)
{
	DIR *d = opendir("/sys/bus/iio/devices");
	struct dirent *de;
	int r = -ENODEV;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300], name[64];

		if (strncmp(de->d_name, "iio:device", 10) ||
		    strlen(de->d_name) > 64)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/iio/devices/%s/name",
			 de->d_name);
		if (read_str(path, name, sizeof(name)) == 0 &&
		    !strcmp(name, IIO_NAME)) {
			snprintf(io->dir, sizeof(io->dir),
				 "/sys/bus/iio/devices/%s", de->d_name);
			snprintf(io->node, sizeof(io->node), "/dev/%s",
				 de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static int iio_attr(struct iio *io, const char *attr, long long v)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", io->dir, attr);
	return write_int(path, v);
}

/* Storage bytes of a scan element, from its "le:s16/16>>0" type. */
static int iio_storage_bytes(struct iio *io, const char *elem)
{
	char path[700], type[64];
	unsigned int real, storage, shift;
	char sign;

	snprintf(path, sizeof(path), "%s/scan_elements/%s_type", io->dir, elem);
	if (read_str(path, type, sizeof(type)) < 0 ||
	    sscanf(type, "%*[^:]:%c%u/%u>>%u", &sign, &real, &storage,
		   &shift) != 4)
		return -EINVAL;
	return storage / 8;
}

static int iio_index(struct iio *io, const char *elem)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/scan_elements/%s_index", io->dir,
		 elem);
	return (int)read_int(path);
}

/* Enable x, y, z and timestamp at @rate_hz and open the buffer. */
static int iio_start(struct iio *io, unsigned int rate_hz,
		     unsigned int length, unsigned int watermark)
{
	static const char *const elem[4] = {
		"in_accel_x", "in_accel_y", "in_accel_z", "in_timestamp",
	};
	int order[4] = { 0, 1, 2, 3 }, idx[4];
	unsigned int off = 0;
	char attr[64], path[700];
	int r;

	r = iio_find(io);
	if (r < 0)
		return FAIL("no IIO device named " IIO_NAME);
	iio_attr(io, "buffer/enable", 0);
	for (int i = 0; i < 4; i++) {
		snprintf(attr, sizeof(attr), "scan_elements/%s_en", elem[i]);
		r = iio_attr(io, attr, 1);
		if (r < 0)
			return FAIL("enable %s: %s", elem[i], strerror(-r));
		idx[i] = iio_index(io, elem[i]);
	}
	/* Lay the scan out in index order, each element naturally aligned. */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (idx[order[j]] < idx[order[i]]) {
				int t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	for (int i = 0; i < 4; i++) {
		int b = iio_storage_bytes(io, elem[order[i]]);

		if (b <= 0)
			return FAIL("bad scan type of %s", elem[order[i]]);
		off = (off + b - 1) / b * b;
		io->off[order[i]] = off;
		off += b;
	}
	io->scan_bytes = (off + 7) / 8 * 8;
	r = iio_attr(io, "sampling_frequency", rate_hz);
	if (r < 0)
		return FAIL("sampling_frequency=%u: %s", rate_hz, strerror(-r));
	snprintf(path, sizeof(path), "%s/sampling_frequency", io->dir);
	if (read_int(path) != rate_hz)
		return FAIL("sampling_frequency reads back %lld, want %u",
			    read_int(path), rate_hz);
	r = iio_attr(io, "buffer/length", length);
	if (r < 0)
		return FAIL("buffer/length=%u: %s", length, strerror(-r));
	r = iio_attr(io, "buffer/watermark", watermark);
	if (r < 0)
		return FAIL("buffer/watermark=%u: %s", watermark, strerror(-r));
	io->fd = open(io->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (io->fd < 0)
		return FAIL("open %s: %m", io->node);
	r = iio_attr(io, "buffer/enable", 1);
	if (r < 0) {
		close(io->fd);
		return FAIL("buffer/enable=1: %s", strerror(-r));
	}
	return 0;
}

static void iio_stop(struct iio *io)
{
	iio_attr(io, "buffer/enable", 0);
	close(io->fd);
}

struct sample {
	int16_t x, y, z;
	int64_t ts;
};

/* Read whatever is there, waiting up to @ms; number of samples, or -errno. */
static int iio_read(struct iio *io, struct sample *s, int max, int ms)
{
	static uint8_t buf[64 * 1024];
	struct pollfd p = { .fd = io->fd, .events = POLLIN };
	ssize_t n;
	int k;

	if (poll(&p, 1, ms) < 0)
		return errno == EINTR ? 0 : -errno;
	n = read(io->fd, buf,
		 (size_t)(max < 4096 ? max : 4096) * io->scan_bytes);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	k = (int)(n / io->scan_bytes);
	for (int i = 0; i < k; i++) {
		const uint8_t *b = buf + (size_t)i * io->scan_bytes;

		memcpy(&s[i].x, b + io->off[0], 2);
		memcpy(&s[i].y, b + io->off[1], 2);
		memcpy(&s[i].z, b + io->off[2], 2);
		memcpy(&s[i].ts, b + io->off[3], 8);
	}
	return k;
}

/* Capture @count samples (or until @ms elapse); number captured. */
static int iio_capture(struct iio *io, struct sample *s, int count, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;
	int got = 0;

	while (got < count && now_ns() < end) {
		int k = iio_read(io, s + got, count - got, 50);

		if (k < 0)
			return k;
		got += k;
	}
	return got;
}

/*
 * Frequency of the x axis from its rising zero crossings, interpolated
 * between samples, with a hysteresis of half the RMS against noise.
 */
static double freq_hz_of(const struct sample *s, int n, double *ret_rms_x,
			 double *ret_rms_y)
{
	double mx = 0, my = 0, rx = 0, ry = 0, hyst, t_first = 0, t_last = 0;
	int crossings = 0;
	bool armed = false;

	for (int i = 0; i < n; i++) {
		mx += s[i].x;
		my += s[i].y;
	}
	mx /= n;
	my /= n;
	for (int i = 0; i < n; i++) {
		rx += (s[i].x - mx) * (s[i].x - mx);
		ry += (s[i].y - my) * (s[i].y - my);
	}
	rx = sqrt(rx / n);
	ry = sqrt(ry / n);
	*ret_rms_x = rx;
	*ret_rms_y = ry;
	hyst = rx / 2;
	for (int i = 1; i < n; i++) {
		double a = s[i - 1].x - mx, b = s[i].x - mx;

		if (a < -hyst)
			armed = true;
		if (armed && a < 0 && b >= 0) {
			double t = s[i - 1].ts +
				   (s[i].ts - s[i - 1].ts) * (-a / (b - a));

			if (!crossings)
				t_first = t;
			t_last = t;
			crossings++;
			armed = false;
		}
	}
	if (crossings < 2)
		return 0;
	return (crossings - 1) / ((t_last - t_first) * 1e-9);
}

/*
 * What lib/plant.c says the accelerometer shows at @duty_permille after
 * @settle_ms: RMS of x and y in LSB and the frequency in mHz. The kernel's
 * simulated board runs the same code with the default parameters.
 */
static void plant_expect_pressed(uint32_t duty_permille,
				 unsigned int settle_ms, int32_t pressure_mn,
				 unsigned int pressed_ms, unsigned int rate_hz,
				 double *ret_rms, int32_t *ret_freq_mhz)
{
	static struct plant pl;
	struct plant_params p;
	uint32_t period_ns = 1000000000u / rate_hz;
	double sx = 0, sy = 0, mx = 0, my = 0, qx = 0, qy = 0;
	int n = 0;

	plant_params_default(&p);
	plant_init(&pl, &p, 1);
	plant_set_drive(&pl, duty_permille * 1000, true);
	for (unsigned int t = 0; t < settle_ms; t++)
		plant_advance(&pl, 1000000);
	if (pressure_mn) {
		plant_set_contact(&pl, true, pressure_mn);
		for (unsigned int t = 0; t < pressed_ms; t++)
			plant_advance(&pl, 1000000);
	}
	for (unsigned int i = 0; i < rate_hz; i++) {
		struct plant_sample ps;

		plant_advance(&pl, period_ns);
		if (plant_sample(&pl, &ps) < 0)
			continue;
		sx += ps.x;
		sy += ps.y;
		qx += (double)ps.x * ps.x;
		qy += (double)ps.y * ps.y;
		n++;
	}
	mx = sx / n;
	my = sy / n;
	*ret_rms = (sqrt(qx / n - mx * mx) + sqrt(qy / n - my * my)) / 2;
	*ret_freq_mhz = plant_freq_mhz(&pl);
}

/* Next event on @fd within @ms: 0, or -errno. */
static int event_wait(int fd, struct massager_event *ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	n = read(fd, ev, sizeof(*ev));
	if (n < 0)
		return -errno;
	return n == sizeof(*ev) ? 0 : -EIO;
}

static void plant_expect(uint32_t duty_permille, unsigned int settle_ms,
			 unsigned int rate_hz, double *ret_rms,
			 int32_t *ret_freq_mhz)
{
	plant_expect_pressed(duty_permille, settle_ms, 0, 0, rate_hz, ret_rms,
			     ret_freq_mhz);
}

/*
 * Pressing the head on a body loads the motor and damps the head: open
 * loop the speed drops and the amplitude falls (how the daemon detects
 * contact). Both must match the plant model within the same tolerances.
 */
static int test_contact_slows_and_damps(void)
{
	const uint32_t duty = 600;
	const int32_t press_mn = 6000;
	const unsigned int rate = 3200, settle_ms = 1500, pressed_ms = 1000;
	static struct sample s[3200];
	double f, rx, ry, rms, want_rms, free_rms;
	long long free_mhz, pressed_mhz;
	int32_t want_mhz, want_free_mhz;
	struct heartbeat hb;
	struct iio io;
	int fd, n = 0, r;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	r = heartbeat_start(&hb, fd, duty);
	if (r < 0) {
		close(fd);
		return FAIL("heartbeat thread: %s", strerror(-r));
	}
	sleep_ms(settle_ms);
	free_mhz = dbg("freq_mhz");
	dbg_set("pressure_mn", press_mn);
	dbg_set("contact", 1);
	sleep_ms(pressed_ms);
	r = iio_start(&io, rate, 8192, 64);
	if (r == 0) {
		n = iio_capture(&io, s, rate / 2, 3000);
		iio_stop(&io);
	}
	pressed_mhz = dbg("freq_mhz");
	heartbeat_stop(&hb);
	drive(fd, 0);
	close(fd);
	dbg_set("contact", 0);
	dbg_set("pressure_mn", 0);
	if (r < 0)
		return r;
	if (hb.error)
		return FAIL("drive: %s", strerror(-hb.error));
	if (n < (int)rate / 4)
		return FAIL("only %d samples at %u Hz", n, rate);
	f = freq_hz_of(s, n, &rx, &ry);
	rms = (rx + ry) / 2;
	plant_expect(duty, settle_ms, rate, &free_rms, &want_free_mhz);
	plant_expect_pressed(duty, settle_ms, press_mn, pressed_ms, rate,
			     &want_rms, &want_mhz);
	printf("# contact pressure_mn=%d free_mhz=%lld pressed_mhz=%lld "
	       "plant_pressed_mhz=%d freq_hz=%.2f rms=%.1f plant_rms=%.1f "
	       "plant_free_rms=%.1f\n", press_mn, free_mhz, pressed_mhz,
	       want_mhz, f, rms, want_rms, free_rms);
	if (pressed_mhz >= free_mhz * 95 / 100)
		return FAIL("pressing did not slow the motor: %lld -> %lld mHz",
			    free_mhz, pressed_mhz);
	if (llabs(pressed_mhz - want_mhz) > FREQ_TOL_MHZ)
		return FAIL("pressed speed %lld mHz, plant model says %d",
			    pressed_mhz, want_mhz);
	if (fabs(f * 1000 - pressed_mhz) > FREQ_TOL_MHZ)
		return FAIL("accelerometer shows %.2f Hz, motor turns at %.3f Hz",
			    f, pressed_mhz / 1000.0);
	if (fabs(rms - want_rms) > want_rms * AMPL_TOL_PCT / 100)
		return FAIL("pressed RMS %.1f LSB, plant model says %.1f", rms,
			    want_rms);
	return 0;
}

static int test_watchdog_timeout_setting(void)
{
	const uint32_t timeout_ms = 200;
	struct massager_event ev;
	struct massager_state st;
	uint64_t t_drive;
	double trip_ms;
	int fd, mon, r;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	while (read(mon, &ev, sizeof(ev)) > 0)
		;
	r = set_watchdog(fd, timeout_ms);
	t_drive = now_ns();
	if (r == 0)
		r = drive(fd, 500);
	if (r < 0) {
		close(mon);
		close(fd);
		return FAIL("set watchdog / drive: %s", strerror(-r));
	}
	r = event_wait(mon, &ev, 2000);
	close(fd);
	/* The owner gone, the timeout reverts to the default. */
	get_state(mon, &st);
	close(mon);
	if (r < 0 || ev.type != MASSAGER_EVENT_WATCHDOG_TRIP)
		return FAIL("no WATCHDOG_TRIP within 2 s (%s, type %u)",
			    strerror(-r), r ? 0 : ev.type);
	trip_ms = ((double)ev.timestamp_ns - (double)t_drive) / 1e6;
	printf("# trip_ms_at_%u=%.1f\n", timeout_ms, trip_ms);
	if (trip_ms < timeout_ms || trip_ms > timeout_ms + TRIP_LATE_MS)
		return FAIL("tripped after %.1f ms with a %u ms timeout",
			    trip_ms, timeout_ms);
	if (st.watchdog_ms != MASSAGER_WATCHDOG_DEFAULT_MS)
		return FAIL("timeout %u ms after the owner left, want %d",
			    st.watchdog_ms, MASSAGER_WATCHDOG_DEFAULT_MS);
	return 0;
}

static int test_drive_vibrates(void)
{
	const uint32_t duty = 600;
	const unsigned int rate = 3200, settle_ms = 1500;
	static struct sample s[3200];
	struct heartbeat hb;
	struct iio io;
	double f, rx, ry, rms, want_rms;
	long long fmhz, fmhz_after;
	int32_t want_fmhz;
	int fd, n = 0, r;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	r = heartbeat_start(&hb, fd, duty);
	if (r < 0) {
		close(fd);
		return FAIL("heartbeat thread: %s", strerror(-r));
	}
	sleep_ms(settle_ms);
	r = iio_start(&io, rate, 8192, 64);
	if (r == 0) {
		n = iio_capture(&io, s, rate, 3000);
		iio_stop(&io);
	}
	fmhz = dbg("freq_mhz");
	heartbeat_stop(&hb);
	fmhz_after = dbg("freq_mhz");
	drive(fd, 0);
	close(fd);
	if (r < 0)
		return r;
	if (hb.error)
		return FAIL("drive: %s", strerror(-hb.error));
	if (n < (int)rate / 2)
		return FAIL("only %d samples in 3 s at %u Hz", n, rate);
	f = freq_hz_of(s, n, &rx, &ry);
	rms = (rx + ry) / 2;
	plant_expect(duty, settle_ms, rate, &want_rms, &want_fmhz);
	printf("# drive duty=%u freq_hz=%.2f freq_mhz=%lld plant_freq_mhz=%d "
	       "rms_x=%.1f rms_y=%.1f plant_rms=%.1f samples=%d\n",
	       duty, f, fmhz, want_fmhz, rx, ry, want_rms, n);
	(void)fmhz_after;
	if (fmhz <= 0)
		return FAIL("motor did not spin up: freq_mhz=%lld", fmhz);
	if (fabs(f * 1000 - fmhz) > FREQ_TOL_MHZ)
		return FAIL("accelerometer shows %.2f Hz, motor turns at %.3f Hz",
			    f, fmhz / 1000.0);
	if (fabs(rms - want_rms) > want_rms * AMPL_TOL_PCT / 100)
		return FAIL("RMS amplitude %.1f LSB, plant model says %.1f "
			    "(tolerance %d %%)", rms, want_rms, AMPL_TOL_PCT);
	return 0;
}

static int test_heartbeat_loss(void)
{
	struct massager_event ev;
	struct massager_state st;
	uint64_t t_drive, t_wait;
	long long off_ns;
	double trip_ms, off_ms;
	int fd, mon, r;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	/* Drain old events. */
	while (read(mon, &ev, sizeof(ev)) > 0)
		;
	t_drive = now_ns();
	r = drive(fd, 500);
	if (r < 0) {
		close(mon);
		close(fd);
		return FAIL("drive: %s", strerror(-r));
	}
	t_wait = now_ns();
	off_ns = wait_dbg("enabled", 0, 2000);
	off_ms = (double)(off_ns + (long long)(t_wait - t_drive)) / 1e6;
	r = event_wait(mon, &ev, 1000);
	get_state(mon, &st);
	close(mon);
	close(fd);
	if (off_ns < 0)
		return FAIL("motor still enabled 2 s after the last drive");
	if (r < 0)
		return FAIL("no event after the trip: %s", strerror(-r));
	if (ev.type != MASSAGER_EVENT_WATCHDOG_TRIP)
		return FAIL("event type %u, want WATCHDOG_TRIP", ev.type);
	trip_ms = ((double)ev.timestamp_ns - (double)t_drive) / 1e6;
	printf("# trip_ms=%.1f enabled_off_ms=%.1f timeout_ms=%d\n", trip_ms,
	       off_ms, MASSAGER_WATCHDOG_DEFAULT_MS);
	if (st.stop_reason != MASSAGER_STOP_WATCHDOG)
		return FAIL("stop_reason %u, want WATCHDOG", st.stop_reason);
	if (trip_ms < MASSAGER_WATCHDOG_DEFAULT_MS)
		return FAIL("tripped after %.1f ms, before the %d ms timeout",
			    trip_ms, MASSAGER_WATCHDOG_DEFAULT_MS);
	if (trip_ms > MASSAGER_WATCHDOG_DEFAULT_MS + TRIP_LATE_MS)
		return FAIL("tripped after %.1f ms, timeout %d ms", trip_ms,
			    MASSAGER_WATCHDOG_DEFAULT_MS);
	return 0;
}

static int test_owner_killed(void)
{
	struct massager_state st;
	int p[2], mon;
	long long off_ns;
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return FAIL("pipe: %m");
	pid = fork();
	if (pid == 0) {
		int fd = open(DEV, O_RDWR | O_CLOEXEC);

		/* A long timeout: only the owner's death may stop it. */
		if (fd < 0 || set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS) < 0 ||
		    drive(fd, 500) < 0)
			_exit(1);
		for (;;) {
			static bool told;

			drive(fd, 500);
			if (!told) {
				told = write(p[1], "x", 1) == 1;
			}
			sleep_ms(100);
		}
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		return FAIL("child could not open and drive");
	}
	close(p[0]);
	if (wait_dbg("enabled", 1, 1000) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return FAIL("motor not enabled by the child");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	off_ns = wait_dbg("enabled", 0, STOP_MAX_MS);
	mon = open(DEV, O_RDONLY | O_CLOEXEC);
	get_state(mon, &st);
	close(mon);
	if (off_ns < 0)
		return FAIL("motor still on %d ms after SIGKILL of the owner",
			    STOP_MAX_MS);
	printf("# owner_killed_off_ms=%.2f\n", off_ns / 1e6);
	if (dbg("duty_ppm") != 0)
		return FAIL("PWM duty %lld after the owner died",
			    dbg("duty_ppm"));
	if (st.stop_reason != MASSAGER_STOP_RELEASE || st.owner_pid)
		return FAIL("stop_reason %u owner_pid %d, want RELEASE and 0",
			    st.stop_reason, st.owner_pid);
	return 0;
}

static int test_estop_latch(void)
{
	struct massager_state st;
	long long off_ns;
	int fd, r = 0;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
	if ((r = drive(fd, 500)) < 0) {
		r = FAIL("drive before e-stop: %s", strerror(-r));
		goto out;
	}
	dbg_set("estop", 1);
	off_ns = wait_dbg("enabled", 0, STOP_MAX_MS);
	if (off_ns < 0) {
		r = FAIL("motor on %d ms after e-stop", STOP_MAX_MS);
		goto out;
	}
	printf("# estop_off_ms=%.2f\n", off_ns / 1e6);
	get_state(fd, &st);
	if (!st.estop_latched || !st.estop_asserted ||
	    st.stop_reason != MASSAGER_STOP_ESTOP) {
		r = FAIL("state latched=%u asserted=%u reason=%u",
			 st.estop_latched, st.estop_asserted, st.stop_reason);
		goto out;
	}
	if ((r = drive(fd, 500)) != -ECANCELED) {
		r = FAIL("drive while pressed: %s, want ECANCELED",
			 strerror(-r));
		goto out;
	}
	if (ioctl(fd, MASSAGER_IOC_RESET_ESTOP) == 0 || errno != EBUSY) {
		r = FAIL("reset while still pressed: want EBUSY, got %m");
		goto out;
	}
	dbg_set("estop", 0);
	sleep_ms(20);
	if ((r = drive(fd, 500)) != -ECANCELED) {
		r = FAIL("drive released but latched: %s, want ECANCELED",
			 strerror(-r));
		goto out;
	}
	if (dbg("enabled") != 0) {
		r = FAIL("motor on while latched");
		goto out;
	}
	if (ioctl(fd, MASSAGER_IOC_RESET_ESTOP) < 0) {
		r = FAIL("reset after release: %m");
		goto out;
	}
	get_state(fd, &st);
	if (st.estop_latched || dbg("enabled") != 0) {
		r = FAIL("after reset latched=%u enabled=%lld: the motor must "
			 "stay off until driven", st.estop_latched,
			 dbg("enabled"));
		goto out;
	}
	if ((r = drive(fd, 500)) < 0 || wait_dbg("enabled", 1, 500) < 0) {
		r = FAIL("drive after reset did not start the motor: %s",
			 strerror(-r));
		goto out;
	}
	r = 0;
out:
	dbg_set("estop", 0);
	drive(fd, 0);
	close(fd);
	return r;
}

/* The parts of the state an ioctl could change. */
static bool state_same(const struct massager_state *a,
		       const struct massager_state *b)
{
	return a->duty_permille == b->duty_permille &&
	       a->enabled == b->enabled &&
	       a->estop_latched == b->estop_latched &&
	       a->watchdog_ms == b->watchdog_ms &&
	       a->watchdog_armed == b->watchdog_armed &&
	       a->watchdog_trips == b->watchdog_trips &&
	       a->stop_reason == b->stop_reason &&
	       a->owner_pid == b->owner_pid;
}

struct bad_ioctl {
	const char *what;
	unsigned long req;
	int arg;		/* 0 valid buffer, 1 NULL, 2 unmapped */
	struct massager_drive drive;
	struct massager_watchdog wd;
	int want;
};

static int malformed_round(int fd, bool running)
{
	static const struct bad_ioctl cases[] = {
		{ "unknown number", _IO(MASSAGER_IOC_MAGIC, 0x3f), 0, {}, {}, ENOTTY },
		{ "foreign type", _IO('x', 0x02), 0, {}, {}, ENOTTY },
		{ "DRIVE short size", _IOW(MASSAGER_IOC_MAGIC, 0x02, uint32_t), 0,
		  { .duty_permille = 100 }, {}, EINVAL },
		{ "DRIVE long size", _IOW(MASSAGER_IOC_MAGIC, 0x02, struct massager_state),
		  0, { .duty_permille = 100 }, {}, EINVAL },
		{ "DRIVE wrong direction", _IOR(MASSAGER_IOC_MAGIC, 0x02,
						struct massager_drive), 0,
		  { .duty_permille = 100 }, {}, EINVAL },
		{ "DRIVE above full scale", MASSAGER_IOC_DRIVE, 0,
		  { .duty_permille = MASSAGER_DUTY_FULL_PERMILLE + 1 }, {}, ERANGE },
		{ "DRIVE UINT32_MAX", MASSAGER_IOC_DRIVE, 0,
		  { .duty_permille = UINT32_MAX }, {}, ERANGE },
		{ "DRIVE flags", MASSAGER_IOC_DRIVE, 0,
		  { .duty_permille = 100, .flags = 1 }, {}, EINVAL },
		{ "DRIVE reserved[0]", MASSAGER_IOC_DRIVE, 0,
		  { .duty_permille = 100, .reserved = { 1, 0 } }, {}, EINVAL },
		{ "DRIVE reserved[1]", MASSAGER_IOC_DRIVE, 0,
		  { .duty_permille = 100, .reserved = { 0, 0x80000000u } }, {},
		  EINVAL },
		{ "DRIVE NULL", MASSAGER_IOC_DRIVE, 1, {}, {}, EFAULT },
		{ "DRIVE unmapped", MASSAGER_IOC_DRIVE, 2, {}, {}, EFAULT },
		{ "SET_WATCHDOG below min", MASSAGER_IOC_SET_WATCHDOG, 0, {},
		  { .timeout_ms = MASSAGER_WATCHDOG_MIN_MS - 1 }, ERANGE },
		{ "SET_WATCHDOG zero", MASSAGER_IOC_SET_WATCHDOG, 0, {},
		  { .timeout_ms = 0 }, ERANGE },
		{ "SET_WATCHDOG above max", MASSAGER_IOC_SET_WATCHDOG, 0, {},
		  { .timeout_ms = MASSAGER_WATCHDOG_MAX_MS + 1 }, ERANGE },
		{ "SET_WATCHDOG reserved", MASSAGER_IOC_SET_WATCHDOG, 0, {},
		  { .timeout_ms = 100, .reserved = 1 }, EINVAL },
		{ "SET_WATCHDOG NULL", MASSAGER_IOC_SET_WATCHDOG, 1, {}, {}, EFAULT },
		{ "SET_WATCHDOG short size", _IOW(MASSAGER_IOC_MAGIC, 0x03, uint16_t),
		  0, {}, { .timeout_ms = 100 }, EINVAL },
		{ "RESET_ESTOP with a size", _IOW(MASSAGER_IOC_MAGIC, 0x04, uint32_t),
		  0, {}, {}, EINVAL },
		{ "GET_STATE NULL", MASSAGER_IOC_GET_STATE, 1, {}, {}, EFAULT },
		{ "GET_STATE unmapped", MASSAGER_IOC_GET_STATE, 2, {}, {}, EFAULT },
		{ "GET_STATE wrong direction", _IOW(MASSAGER_IOC_MAGIC, 0x01,
						    struct massager_state), 0, {}, {},
		  EINVAL },
		{ "GET_INFO NULL", MASSAGER_IOC_GET_INFO, 1, {}, {}, EFAULT },
		{ "GET_INFO short size", _IOR(MASSAGER_IOC_MAGIC, 0x00, uint32_t), 0,
		  {}, {}, EINVAL },
	};
	struct massager_state before, after;
	long long duty_before = dbg("duty_ppm"), en_before = dbg("enabled");

	if (get_state(fd, &before) < 0)
		return FAIL("GET_STATE: %m");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_ioctl *c = &cases[i];
		union {
			struct massager_drive d;
			struct massager_watchdog w;
			struct massager_state s;
			struct massager_info in;
		} u;
		void *arg = &u;
		int e;

		memset(&u, 0, sizeof(u));
		if (_IOC_NR(c->req) == 0x03)
			u.w = c->wd;
		else
			u.d = c->drive;
		if (c->arg == 1)
			arg = NULL;
		else if (c->arg == 2)
			arg = (void *)(uintptr_t)0x1000;	/* never mapped */
		e = ioctl(fd, c->req, arg) < 0 ? errno : 0;
		if (e != c->want)
			return FAIL("%s%s: got %s, want %s", c->what,
				    running ? " (running)" : "",
				    e ? strerror(e) : "success",
				    strerror(c->want));
	}
	{
		char small[sizeof(struct massager_event) - 1];
		int mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ssize_t n = read(mon, small, sizeof(small));
		int e = errno;

		close(mon);
		if (n >= 0 || e != EINVAL)
			return FAIL("read of %zu bytes: want EINVAL, got %s",
				    sizeof(small), n >= 0 ? "data" : strerror(e));
	}
	{
		/* No write(2) and no seeking (docs/kernel-abi.md). */
		struct massager_drive d = { .duty_permille = 900 };
		ssize_t n = write(fd, &d, sizeof(d));
		int e = errno;

		if (n >= 0 || e != EINVAL)
			return FAIL("write: want EINVAL, got %s",
				    n >= 0 ? "success" : strerror(e));
		if (lseek(fd, 0, SEEK_SET) >= 0 || errno != ESPIPE)
			return FAIL("lseek: want ESPIPE, got %m");
	}
	if (get_state(fd, &after) < 0)
		return FAIL("GET_STATE: %m");
	if (!state_same(&before, &after))
		return FAIL("state changed%s: duty %u->%u enabled %u->%u wd %u->%u "
			    "reason %u->%u", running ? " (running)" : "",
			    before.duty_permille, after.duty_permille,
			    before.enabled, after.enabled, before.watchdog_ms,
			    after.watchdog_ms, before.stop_reason,
			    after.stop_reason);
	if (dbg("duty_ppm") != duty_before || dbg("enabled") != en_before)
		return FAIL("board outputs changed%s: duty_ppm %lld->%lld",
			    running ? " (running)" : "", duty_before,
			    dbg("duty_ppm"));
	return 0;
}

static int test_malformed_ioctls(void)
{
	int fd, r;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	r = malformed_round(fd, false);
	if (r == 0) {
		/* Again with the motor running: nothing may stop or change it. */
		set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
		r = drive(fd, 300);
		if (r < 0)
			r = FAIL("drive: %s", strerror(-r));
		else
			r = malformed_round(fd, true);
	}
	drive(fd, 0);
	close(fd);
	return r;
}

static int rebind(void)
{
	write_str(DRV_SYSFS "bind", "massager.0");
	if (wait_path(DEV, true, 3000) < 0)
		return FAIL("rebind: " DEV " did not come back");
	return 0;
}

static int test_unbind_while_open(void)
{
	struct massager_event ev;
	struct massager_state st;
	int fd, mon, r, e;
	ssize_t n;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || mon < 0)
		return FAIL("open: %m");
	while (read(mon, &ev, sizeof(ev)) > 0)
		;
	set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
	r = drive(fd, 500);
	if (r < 0 || wait_dbg("enabled", 1, 500) < 0) {
		close(mon);
		close(fd);
		return FAIL("drive before unbind: %s", strerror(-r));
	}
	r = write_str(DRV_SYSFS "unbind", "massager.0");
	if (r < 0) {
		close(mon);
		close(fd);
		return FAIL("unbind: %s", strerror(-r));
	}
	r = 0;
	if (dbg("enabled") != 0 || dbg("duty_ppm") != 0)
		r = FAIL("motor on after unbind: enabled=%lld duty_ppm=%lld",
			 dbg("enabled"), dbg("duty_ppm"));
	/* Events then ENODEV on read: REMOVED is the last one. */
	while (!r && (n = read(mon, &ev, sizeof(ev))) == sizeof(ev) &&
	       ev.type != MASSAGER_EVENT_REMOVED)
		;
	if (!r && ev.type != MASSAGER_EVENT_REMOVED)
		r = FAIL("no REMOVED event before the end");
	if (!r) {
		n = read(mon, &ev, sizeof(ev));
		e = errno;
		if (n >= 0 || e != ENODEV)
			r = FAIL("read after unbind: want ENODEV, got %s",
				 n >= 0 ? "data" : strerror(e));
	}
	if (!r && (drive(fd, 500) != -ENODEV || get_state(fd, &st) != -ENODEV))
		r = FAIL("ioctls after unbind: want ENODEV");
	if (!r && open(DEV, O_RDONLY) >= 0)
		r = FAIL(DEV " still opens after unbind");
	close(mon);
	close(fd);
	if (rebind() < 0 && !r)
		r = -1;
	return r;
}

static int test_rmmod_while_open(void)
{
	struct massager_state st;
	int fd, r, e;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	set_watchdog(fd, MASSAGER_WATCHDOG_MAX_MS);
	drive(fd, 500);
	/*
	 * The open file pins massager.ko (fops owner), and massager.ko pins
	 * the simulated board's PWM and GPIO providers: both unloads must be
	 * refused and leave the motor as it was.
	 */
	r = mod_unload("massager");
	e = mod_unload("massager_sim");
	if (r == 0 || e == 0) {
		close(fd);
		board_up();
		return FAIL("rmmod %s succeeded with " DEV " open",
			    r == 0 ? "massager" : "massager-sim");
	}
	if (get_state(fd, &st) < 0 || !st.enabled || dbg("enabled") != 1) {
		close(fd);
		return FAIL("refused rmmod disturbed the motor");
	}
	close(fd);
	if (dbg("enabled") != 0)
		return FAIL("motor on after the owner closed");
	r = mod_unload("massager");
	if (r < 0)
		return FAIL("rmmod massager once closed: %s", strerror(-r));
	r = mod_unload("massager_sim");
	if (r < 0)
		return FAIL("rmmod massager-sim once closed: %s", strerror(-r));
	return board_up();
}

/*
 * The board's GPIO chip through libgpiod (1.6, linked statically): the
 * chip the driver names in GET_INFO, with the five named lines; the
 * driver holds enable and e-stop, the handset lines are free for the
 * daemon, and the button line reads what the simulated handset does.
 */
static int test_gpio_lines(void)
{
	static const char *const names[] = {
		"massager-enable", "massager-estop", "massager-button",
		"massager-run-led", "massager-fault-led",
	};
	struct massager_info info = { 0 };
	struct gpiod_chip *chip;
	struct gpiod_line *button = NULL;
	int fd, r = 0, v1, v0;

	fd = open(DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open: %m");
	if (ioctl(fd, MASSAGER_IOC_GET_INFO, &info) < 0) {
		close(fd);
		return FAIL("GET_INFO: %m");
	}
	close(fd);
	chip = gpiod_chip_open_by_label(info.gpiochip);
	if (!chip)
		return FAIL("no gpiochip labelled '%s' (GET_INFO.gpiochip): %m",
			    info.gpiochip);
	if (strcmp(gpiod_chip_label(chip), "massager-sim-gpio")) {
		r = FAIL("chip label '%s', want massager-sim-gpio",
			 gpiod_chip_label(chip));
		goto out;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct gpiod_line *l = gpiod_chip_find_line(chip, names[i]);
		bool want_used = i < 2;

		if (!l) {
			r = FAIL("no line named %s", names[i]);
			goto out;
		}
		if (gpiod_line_is_used(l) != want_used) {
			r = FAIL("%s %s, want %s", names[i],
				 gpiod_line_is_used(l) ? "in use" : "free",
				 want_used ? "held by massager.ko" : "free");
			goto out;
		}
		if (i == 2)
			button = l;
	}
	if (gpiod_line_request_input(button, "massager-test") < 0) {
		r = FAIL("request massager-button: %m");
		goto out;
	}
	dbg_set("button", 1);
	v1 = gpiod_line_get_value(button);
	dbg_set("button", 0);
	v0 = gpiod_line_get_value(button);
	gpiod_line_release(button);
	if (v1 != 1 || v0 != 0)
		r = FAIL("button line read %d pressed, %d released", v1, v0);
out:
	gpiod_chip_close(chip);
	return r;
}

/*
 * Capture @secs of samples at @rate in the IIO timestamp @clock and check
 * that none is lost and each interval is exactly one period (+-1 us).
 */
static int capture_check(unsigned int rate, unsigned int secs,
			 const char *clock)
{
	const int64_t period_ns = 1000000000 / rate;
	static struct sample s[4096];
	int64_t first = 0, prev = 0, max_dev = 0;
	long long irregular = 0, holes = 0, count = 0;
	long long pushed0 = dbg("samples"), catchups0 = dbg("catchups");
	long long overruns0 = dbg("overruns");
	char clk[400];
	struct iio io;
	uint64_t end, t_start;
	int r;

	if (iio_find(&io) == 0) {
		snprintf(clk, sizeof(clk), "%s/current_timestamp_clock", io.dir);
		r = write_str(clk, clock);
		if (r < 0)
			return FAIL("current_timestamp_clock=%s: %s", clock,
				    strerror(-r));
	}
	r = iio_start(&io, rate, 16384, 320);
	if (r < 0)
		return r;
	t_start = now_ns();
	end = t_start + secs * 1000000000ull + 2000000000ull;
	if (!strcmp(clock, "realtime")) {
		struct timespec ts;

		/* first_ts_lag compares like with like. */
		clock_gettime(CLOCK_REALTIME, &ts);
		t_start = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	while (now_ns() < end) {
		int k = iio_read(&io, s, 4096, 100);

		if (k < 0) {
			iio_stop(&io);
			return FAIL("read: %s", strerror(-k));
		}
		for (int i = 0; i < k; i++) {
			int64_t d;

			if (!count++) {
				first = prev = s[i].ts;
				continue;
			}
			/* Count the samples of [first, first + 10 s). */
			if (s[i].ts - first >= (int64_t)secs * 1000000000) {
				count--;
				goto done;
			}
			d = s[i].ts - prev;
			/* A hole: intervals of about two or more periods. */
			if (d > period_ns * 3 / 2)
				holes += (d + period_ns / 2) / period_ns - 1;
			if (llabs(d - period_ns) > 1000)
				irregular++;
			if (llabs(d - period_ns) > max_dev)
				max_dev = llabs(d - period_ns);
			prev = s[i].ts;
		}
	}
done:
	iio_stop(&io);
	{
		long long expected = (long long)rate * secs;
		/* What the span of the timestamps says we should hold. */
		long long lost = (prev - first + period_ns / 2) / period_ns + 1 -
				 count;

		printf("# samples=%lld expected=%lld gaps=%lld lost=%lld "
		       "irregular_intervals=%lld max_jitter_ns=%lld "
		       "span_ms=%.3f first_ts_lag_ms=%.1f pushed=%lld "
		       "catchups=%lld overruns=%lld clock=%s\n",
		       count, expected, holes, lost, irregular,
		       (long long)max_dev, (prev - first) / 1e6,
		       ((double)first - (double)t_start) / 1e6,
		       dbg("samples") - pushed0, dbg("catchups") - catchups0,
		       dbg("overruns") - overruns0, clock);
		if (lost)
			return FAIL("%lld samples lost (timestamps span %lld "
				    "periods)", lost, count + lost);
		if (llabs(count - expected) > 1)
			return FAIL("%lld samples in %u s, want %lld", count,
				    secs, expected);
		if (irregular)
			return FAIL("%lld intervals off the %lld ns period by "
				    "more than 1 us (worst %lld ns, %lld holes)",
				    irregular, (long long)period_ns,
				    (long long)max_dev, holes);
	}
	return 0;
}

/* CLOCK_MONOTONIC: what the daemon compares the timestamps with. */
static int test_capture_3200hz_10s(void)
{
	return capture_check(3200, 10, "monotonic");
}

/* The IIO default clock: a consumer that keeps it gets regular data too. */
static int test_capture_realtime(void)
{
	return capture_check(3200, 2, "realtime");
}

/* ---- runaway: a real-time hog on every CPU ----------------------------- */

/*
 * The worst userspace can do to the kernel's stop: a SCHED_FIFO 99 busy
 * loop pinned on every CPU while the motor runs. Nothing below priority 99
 * runs then, kernel threads included (the stop worker, the IRQ thread),
 * so only what the driver does in hard interrupt context can stop the
 * motor in time.
 *
 * - RT throttling stays at the kernel's default (sched_rt_runtime_us 950 ms
 *   a second) and never cuts in: each hog spins RUNAWAY_HOG_MS and rounds
 *   leave the bandwidth time to recover, so throttling cannot be what
 *   stopped the motor (rt_throttled= says whether the kernel ever did).
 * - Times come from the kernel, read once the hog is over (it starves the
 *   measurer too): the board dates the enable line's rise and fall and the
 *   e-stop edge (debugfs), the driver dates its events.
 * - The test thread is pinned to CPU 0, so the heartbeat timer (armed by
 *   its drive) and the e-stop (pressed by a timer it arms) fire there.
 * - Under QEMU TCG a vCPU stops now and then (the host runs something else;
 *   with one TCG thread, the other vCPU runs until its next interrupt), and
 *   an interrupt then waits, whatever the guest kernel does. Each hog notes
 *   every gap in its loop, so the time the hog on CPU 0 actually ran while
 *   the stop was due is known: that is how long userspace held the stop
 *   off, and it must stay within RUNAWAY_LATE_MS. The wall-clock figures
 *   are printed beside it. A design that leaves the stop to a thread shows
 *   the hog's whole run there.
 */
#define RUNAWAY_PRIO		99
#define RUNAWAY_HOG_MS		100
/* The press comes this long into the hog. */
#define RUNAWAY_PRESS_MS	40
/* Rounds of each kind per variant: 3 x 20 = 60 trips, 60 e-stops. */
#define RUNAWAY_ROUNDS		20
#define RUNAWAY_LATE_MS		2
/* Rounds re-run when the emulator, not the guest, held a vCPU (below). */
#define RUNAWAY_RETRIES		30
/*
 * A round late by at most this much hog time is run once more before it
 * counts as a miss: under TCG a timer interrupt now and then reaches a
 * running vCPU a few ms late (seen about once in 360 rounds on an idle
 * host), which no guest can help. A stop left to a thread is held off for
 * the hog's whole run (18-89 ms), far beyond it, and so is never re-run;
 * a late stop that repeats in the same round is a miss.
 */
#define RUNAWAY_RECHECK_MS	10
#define RUNAWAY_MAX_CPUS	64
/* A longer pause in a hog's loop means its vCPU ran something else. */
#define HOG_GAP_NS		20000
#define HOG_GAPS		1024

enum runaway_variant {
	RUNAWAY_BY_OWNER,	/* the owner starts the hog after its drive */
	RUNAWAY_BY_OTHER,	/* another process starts it */
	RUNAWAY_OWNER_SPINS,	/* the owner spins too, the device open */
	RUNAWAY_VARIANTS,
};

static const char *const runaway_name[RUNAWAY_VARIANTS] = {
	[RUNAWAY_BY_OWNER] = "by_owner",
	[RUNAWAY_BY_OTHER] = "by_other",
	[RUNAWAY_OWNER_SPINS] = "owner_spins",
};

/* One hog's run, in memory shared with the helper process. */
struct hog_span {
	uint64_t start_ns, end_ns;
	int error;
	int n_gaps;			/* may exceed HOG_GAPS: then unknown */
	struct {
		uint64_t from_ns, to_ns;
	} gap[HOG_GAPS];
};

/*
 * Hogs parked on futexes, already pinned and at SCHED_FIFO 99, so that a
 * round starts them within microseconds of the drive: thread creation
 * under TCG takes tens of milliseconds, past the trip. One futex each: the
 * hog of the waker's CPU (0) is woken last, since it preempts the waker at
 * once and would keep it from waking the others until its round is over.
 */
struct hog_pool {
	int first_cpu, n_cpus;		/* the pool hogs first_cpu..n_cpus-1 */
	pthread_t thread[RUNAWAY_MAX_CPUS];
	struct hog_span *spans;
	_Atomic uint32_t gen[RUNAWAY_MAX_CPUS];	/* futex: a round starts */
	_Atomic uint32_t done;		/* futex: hogs that ended a round */
	_Atomic uint64_t until_ns;
	_Atomic bool quit;
};

struct hog_thread {
	struct hog_pool *pool;
	int cpu;
};

static struct hog_thread hog_threads[RUNAWAY_MAX_CPUS];

static int hog_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > RUNAWAY_MAX_CPUS ? RUNAWAY_MAX_CPUS : (int)n;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

static void unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < hog_cpus(); i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int set_fifo(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(0, prio ? SCHED_FIFO : SCHED_OTHER, &sp) < 0 ?
		-errno : 0;
}

/* Busy until @until_ns, noting when it ran and every pause in between. */
static void hog_spin(uint64_t until_ns, struct hog_span *span)
{
	uint64_t prev = now_ns(), t;

	span->start_ns = prev;
	span->n_gaps = 0;
	while ((t = now_ns()) < until_ns) {
		if (t - prev > HOG_GAP_NS) {
			if (span->n_gaps < HOG_GAPS) {
				span->gap[span->n_gaps].from_ns = prev;
				span->gap[span->n_gaps].to_ns = t;
			}
			span->n_gaps++;
		}
		prev = t;
	}
	span->end_ns = t;
}

/*
 * How long the hog of @span ran within [@from, @to]; *@ret_all says whether
 * it was there all along (a hog that started late or ended early ran less).
 * -1 if it paused too often to say.
 */
static double hog_ran_ms(const struct hog_span *span, uint64_t from,
			 uint64_t to, bool *ret_all)
{
	uint64_t a = span->start_ns > from ? span->start_ns : from;
	uint64_t b = span->end_ns < to ? span->end_ns : to;
	uint64_t ran = b > a ? b - a : 0;

	*ret_all = span->start_ns <= from && span->end_ns >= to;
	if (span->n_gaps > HOG_GAPS)
		return -1;
	for (int i = 0; ran && i < span->n_gaps; i++) {
		uint64_t ga = span->gap[i].from_ns, gb = span->gap[i].to_ns;

		ga = ga < a ? a : ga;
		gb = gb > b ? b : gb;
		if (gb > ga)
			ran -= gb - ga;
	}
	return ran / 1e6;
}

/*
 * Pauses of the hog that began in [@from, @to), the one that ends after @to
 * (in which the stop came) left out: interrupts its vCPU took in between.
 */
static int hog_pauses_in(const struct hog_span *span, uint64_t from,
			 uint64_t to)
{
	int n = 0;

	for (int i = 0; i < span->n_gaps && i < HOG_GAPS; i++)
		if (span->gap[i].from_ns >= from && span->gap[i].to_ns < to)
			n++;
	return n;
}

static void *hog_run(void *arg)
{
	struct hog_thread *t = arg;
	struct hog_pool *p = t->pool;
	uint32_t seen = 0;
	int r;

	r = pin_to(t->cpu);
	if (!r)
		r = set_fifo(RUNAWAY_PRIO);
	p->spans[t->cpu].error = r;
	for (;;) {
		while (atomic_load(&p->gen[t->cpu]) == seen)
			futex_wait(&p->gen[t->cpu], seen);
		seen = atomic_load(&p->gen[t->cpu]);
		if (atomic_load(&p->quit))
			break;
		if (!r)
			hog_spin(atomic_load(&p->until_ns), &p->spans[t->cpu]);
		atomic_fetch_add(&p->done, 1);
		futex_wake_all(&p->done);
	}
	return NULL;
}

static int hog_pool_start(struct hog_pool *p, int first_cpu,
			  struct hog_span *spans)
{
	int r = 0;

	*p = (struct hog_pool){ .first_cpu = first_cpu, .n_cpus = hog_cpus(),
				.spans = spans };
	for (int i = first_cpu; i < p->n_cpus && !r; i++) {
		hog_threads[i] = (struct hog_thread){ .pool = p, .cpu = i };
		r = -pthread_create(&p->thread[i], NULL, hog_run,
				    &hog_threads[i]);
		if (r)
			p->n_cpus = i;
	}
	return r;
}

/* Wake the pool's hogs, CPU 0's last. */
static void hog_pool_wake(struct hog_pool *p)
{
	for (int i = p->n_cpus - 1; i >= p->first_cpu; i--) {
		atomic_fetch_add(&p->gen[i], 1);
		futex_wake_all(&p->gen[i]);
	}
}

static void hog_pool_stop(struct hog_pool *p)
{
	atomic_store(&p->quit, true);
	hog_pool_wake(p);
	for (int i = p->first_cpu; i < p->n_cpus; i++)
		pthread_join(p->thread[i], NULL);
}

/* Release the pool's hogs until @until_ns; the caller runs on CPU 0. */
static void hog_pool_go(struct hog_pool *p, uint64_t until_ns)
{
	atomic_store(&p->done, 0);
	atomic_store(&p->until_ns, until_ns);
	hog_pool_wake(p);
}

static void hog_pool_wait(struct hog_pool *p)
{
	uint32_t d, want = (uint32_t)(p->n_cpus - p->first_cpu);

	while ((d = atomic_load(&p->done)) < want)
		futex_wait(&p->done, d);
}

/* The other process: hogs every CPU on each deadline it reads from @cmd. */
static void hog_helper(int cmd, int done, struct hog_span *spans)
{
	struct hog_pool pool;
	uint64_t until;
	int r;

	/* Like its parent, pinned to CPU 0: it wakes that CPU's hog last. */
	r = pin_to(0);
	if (!r)
		r = hog_pool_start(&pool, 0, spans);
	while (read(cmd, &until, sizeof(until)) == sizeof(until)) {
		if (!r) {
			hog_pool_go(&pool, until);
			hog_pool_wait(&pool);
		}
		if (write(done, &r, sizeof(r)) != sizeof(r))
			break;
	}
	hog_pool_stop(&pool);
	_exit(0);
}

/* Worst figures of a variant; *_wall_ms the wall clock, else hog time. */
struct runaway_worst {
	double trip_ms, trip_wall_ms, trip_early_ms;
	double estop_ms, estop_wall_ms;
};

struct runaway {
	int fd, mon;
	enum runaway_variant v;
	struct hog_pool pool;		/* the owner's hogs (not BY_OTHER) */
	int cmd, done;			/* pipes to the helper (BY_OTHER) */
	struct hog_span *spans;		/* shared with the helper */
	struct runaway_worst worst;
};

/* Hog every CPU for RUNAWAY_HOG_MS from now, the way @ra->v says. */
static int runaway_hog(struct runaway *ra)
{
	uint64_t until = now_ns() + RUNAWAY_HOG_MS * 1000000ull;
	int n = hog_cpus(), r = 0;

	for (int i = 0; i < n; i++)
		ra->spans[i].start_ns = ra->spans[i].end_ns = 0;
	switch (ra->v) {
	case RUNAWAY_BY_OWNER:
		hog_pool_go(&ra->pool, until);
		hog_pool_wait(&ra->pool);
		break;
	case RUNAWAY_OWNER_SPINS:
		/* The pool hogs CPUs 1..n-1; this thread, CPU 0. */
		r = set_fifo(RUNAWAY_PRIO);
		hog_pool_go(&ra->pool, until);
		if (!r)
			hog_spin(until, &ra->spans[0]);
		set_fifo(0);
		hog_pool_wait(&ra->pool);
		break;
	default:
		if (write(ra->cmd, &until, sizeof(until)) != sizeof(until) ||
		    read(ra->done, &r, sizeof(r)) != sizeof(r))
			return FAIL("the hog process is gone");
		break;
	}
	if (r < 0)
		return FAIL("could not start the hog: %s", strerror(-r));
	for (int i = 0; i < n; i++)
		if (ra->spans[i].error < 0)
			return FAIL("hog on CPU %d: %s", i,
				    strerror(-ra->spans[i].error));
	return 0;
}

/*
 * Set when a round did not have every CPU hogged while the stop was due
 * (under TCG a vCPU may start its hog late): it is run again.
 */
static bool runaway_invalid;
/* The hog time by which the round's stop was late, 0 if it was not. */
static double runaway_late_ms;

/*
 * The stop fell due at @due and the board saw the motor off at @off, from
 * CPU @cpu (where the timer or the interrupt ran): how long that CPU's hog
 * ran in between (the old driver: until the hog ended, when its thread
 * could run); the wall time in *@ret_wall_ms. -1 and runaway_invalid if
 * some CPU was not hogged all along, unless @cpu's hog ran too long anyway.
 */
static double runaway_held_off_ms(struct runaway *ra, uint64_t due,
				  uint64_t off, int cpu, double *ret_wall_ms)
{
	const struct hog_span *s;
	double ran;
	bool all;

	*ret_wall_ms = off > due ? (off - due) / 1e6 : 0;
	if (off <= due)
		return 0;
	if (cpu < 0 || cpu >= hog_cpus())
		return FAIL("the board names CPU %d", cpu);
	s = &ra->spans[cpu];
	ran = hog_ran_ms(s, due, off, &all);
	/*
	 * A hard timer fires at the latest at the CPU's next tick, and the
	 * hog sees every interrupt as a pause. If the stop's vCPU took none
	 * while the stop was due, no interrupt reached it at all: the
	 * emulator did not deliver them (its timer thread starved on a loaded
	 * host) and no guest could have stopped the motor. Run it again.
	 */
	runaway_invalid = true;
	if (ran > RUNAWAY_LATE_MS && !hog_pauses_in(s, due, off))
		return FAIL("no interrupt reached CPU %d in the %.3f ms the "
			    "stop was due: the emulator did not deliver them",
			    cpu, *ret_wall_ms);
	runaway_invalid = false;
	if (ran > RUNAWAY_LATE_MS)
		return ran;
	runaway_invalid = true;
	if (ran < 0 || !all)
		return FAIL("the hog on CPU %d ran %.3f..%.3f ms from the time "
			    "the stop was due, which took %.3f ms (%d pauses)",
			    cpu, ((double)s->start_ns - (double)due) / 1e6,
			    ((double)s->end_ns - (double)due) / 1e6,
			    *ret_wall_ms, s->n_gaps);
	for (int i = 0; i < hog_cpus(); i++)
		if (ra->spans[i].start_ns > due || ra->spans[i].end_ns < off)
			return FAIL("the hog on CPU %d ran %.3f..%.3f ms from "
				    "the time the stop was due, which took "
				    "%.3f ms", i,
				    ((double)ra->spans[i].start_ns -
				     (double)due) / 1e6,
				    ((double)ra->spans[i].end_ns -
				     (double)due) / 1e6, *ret_wall_ms);
	runaway_invalid = false;
	return ran;
}

/* The events of one round, in order, each with the @want type. */
static int runaway_events(struct runaway *ra, const uint32_t *want, int n,
			  struct massager_event *ret_first)
{
	struct massager_event ev;

	for (int i = 0; i < n; i++) {
		if (event_wait(ra->mon, &ev, 1000) < 0)
			return FAIL("event %d of %d (type %u) missing", i + 1, n,
				    want[i]);
		if (ev.type != want[i] || ev.lost)
			return FAIL("event %d: type %u lost %u, want type %u",
				    i + 1, ev.type, ev.lost, want[i]);
		if (!i)
			*ret_first = ev;
	}
	if (event_wait(ra->mon, &ev, 0) == 0)
		return FAIL("an extra event, type %u", ev.type);
	return 0;
}

/* Drive, hog; the timer alone must stop the motor, on time. */
static int runaway_trip(struct runaway *ra)
{
	static const uint32_t want[] = { MASSAGER_EVENT_WATCHDOG_TRIP };
	const uint64_t timeout_ns = MASSAGER_WATCHDOG_DEFAULT_MS * 1000000ull;
	struct massager_event ev;
	struct massager_state st0, st;
	uint64_t t0, t1;
	long long fall0 = dbg("enable_fall_ns"), fall, rise;
	double held_ms, wall_ms, early_ms;
	int r;

	get_state(ra->mon, &st0);
	t0 = now_ns();
	r = drive(ra->fd, 500);
	t1 = now_ns();
	if (r < 0)
		return FAIL("drive: %s", strerror(-r));
	if (runaway_hog(ra) < 0)
		return -1;
	/* A stop left to a thread comes once the hog is over: wait for it. */
	for (int i = 0; i < 100 && dbg("enable_fall_ns") == fall0; i++)
		sleep_ms(10);
	fall = dbg("enable_fall_ns");
	rise = dbg("enable_rise_ns");
	if (fall == fall0)
		return FAIL("the enable line never fell");
	if ((uint64_t)rise < t0 || (uint64_t)rise > t1)
		return FAIL("the drive did not raise the enable line");
	/*
	 * The board dates the rise once it has taken it in; the driver arms
	 * the timer after that: the trip cannot be due before rise + timeout.
	 */
	early_ms = ((double)fall - (double)rise) / 1e6;
	if (early_ms < ra->worst.trip_early_ms)
		ra->worst.trip_early_ms = early_ms;
	if (early_ms < MASSAGER_WATCHDOG_DEFAULT_MS)
		return FAIL("motor off %.2f ms after the drive raised the "
			    "enable line, before the %d ms timeout", early_ms,
			    MASSAGER_WATCHDOG_DEFAULT_MS);
	held_ms = runaway_held_off_ms(ra, rise + timeout_ns, fall,
				      (int)dbg("enable_fall_cpu"), &wall_ms);
	if (held_ms < 0)
		return -1;
	if (wall_ms + MASSAGER_WATCHDOG_DEFAULT_MS > ra->worst.trip_wall_ms)
		ra->worst.trip_wall_ms = wall_ms + MASSAGER_WATCHDOG_DEFAULT_MS;
	if (held_ms + MASSAGER_WATCHDOG_DEFAULT_MS > ra->worst.trip_ms)
		ra->worst.trip_ms = held_ms + MASSAGER_WATCHDOG_DEFAULT_MS;
	if (held_ms > RUNAWAY_LATE_MS)
		runaway_late_ms = held_ms;
	if (held_ms > RUNAWAY_LATE_MS)
		return FAIL("motor off %.2f ms after the last heartbeat "
			    "(timeout %d ms): the hog on CPU %lld ran %.2f ms "
			    "of it after the timeout",
			    wall_ms + MASSAGER_WATCHDOG_DEFAULT_MS,
			    MASSAGER_WATCHDOG_DEFAULT_MS,
			    dbg("enable_fall_cpu"), held_ms);
	if (runaway_events(ra, want, 1, &ev) < 0)
		return -1;
	/* Dated by the timer callback, just before the line fell. */
	if (ev.value != 500 || ev.timestamp_ns > (uint64_t)fall ||
	    ev.timestamp_ns < (uint64_t)rise + timeout_ns)
		return FAIL("trip event value %u at %.3f ms from the fall",
			    ev.value,
			    ((double)ev.timestamp_ns - (double)fall) / 1e6);
	get_state(ra->mon, &st);
	if (st.stop_reason != MASSAGER_STOP_WATCHDOG || st.enabled ||
	    st.duty_permille || st.watchdog_trips != st0.watchdog_trips + 1 ||
	    dbg("duty_ppm") != 0)
		return FAIL("after the trip: reason %u enabled %u duty %u "
			    "trips +%u PWM duty %lld ppm", st.stop_reason,
			    st.enabled, st.duty_permille,
			    st.watchdog_trips - st0.watchdog_trips,
			    dbg("duty_ppm"));
	return 0;
}

/* Drive, hog, the board presses the e-stop: off within 2 ms, latched. */
static int runaway_estop(struct runaway *ra)
{
	static const uint32_t want[] = { MASSAGER_EVENT_ESTOP_PRESSED,
					 MASSAGER_EVENT_ESTOP_RELEASED,
					 MASSAGER_EVENT_ESTOP_RESET };
	struct massager_event ev, reset;
	struct massager_state st;
	long long edge0 = dbg("estop_edge_ns"), edge, fall;
	double held_ms, wall_ms;
	int r;

	r = set_watchdog(ra->fd, MASSAGER_WATCHDOG_MAX_MS);
	if (!r)
		r = drive(ra->fd, 500);
	if (r < 0)
		return FAIL("drive: %s", strerror(-r));
	dbg_set("estop_press_in_us", RUNAWAY_PRESS_MS * 1000);
	if (runaway_hog(ra) < 0)
		return -1;
	edge = dbg("estop_edge_ns");
	fall = dbg("enable_fall_ns");
	if (edge == edge0) {
		/* A hard timer of the board: no interrupt reached CPU 0. */
		runaway_invalid = true;
		return FAIL("the board's press did not come during the hog");
	}
	if (fall < edge)
		return FAIL("the enable line did not fall after the press");
	held_ms = runaway_held_off_ms(ra, edge, fall,
				      (int)dbg("enable_fall_cpu"), &wall_ms);
	if (held_ms < 0)
		return -1;
	if (wall_ms > ra->worst.estop_wall_ms)
		ra->worst.estop_wall_ms = wall_ms;
	if (held_ms > ra->worst.estop_ms)
		ra->worst.estop_ms = held_ms;
	if (held_ms > RUNAWAY_LATE_MS)
		runaway_late_ms = held_ms;
	if (held_ms > RUNAWAY_LATE_MS)
		return FAIL("motor off %.3f ms after the e-stop edge: the hog "
			    "ran %.3f ms of it, want <= %d", wall_ms, held_ms,
			    RUNAWAY_LATE_MS);
	get_state(ra->fd, &st);
	if (!st.estop_latched || !st.estop_asserted ||
	    st.stop_reason != MASSAGER_STOP_ESTOP || st.enabled ||
	    dbg("duty_ppm") != 0)
		return FAIL("after the press: latched %u asserted %u reason %u "
			    "enabled %u PWM duty %lld ppm", st.estop_latched,
			    st.estop_asserted, st.stop_reason, st.enabled,
			    dbg("duty_ppm"));
	if ((r = drive(ra->fd, 500)) != -ECANCELED)
		return FAIL("drive while latched: %s, want ECANCELED",
			    strerror(-r));
	dbg_set("estop", 0);
	/* Pressed, then released (the IRQ thread's), then reset. */
	if (runaway_events(ra, want, 2, &ev) < 0)
		return -1;
	if (ioctl(ra->fd, MASSAGER_IOC_RESET_ESTOP) < 0)
		return FAIL("reset after release: %m");
	if (runaway_events(ra, want + 2, 1, &reset) < 0)
		return -1;
	/* Dated by the primary handler, between the edge and the fall. */
	if (ev.value != 500 || ev.timestamp_ns < (uint64_t)edge ||
	    ev.timestamp_ns > (uint64_t)fall)
		return FAIL("press event value %u at %.3f ms from the edge",
			    ev.value,
			    ((double)ev.timestamp_ns - (double)edge) / 1e6);
	if (dbg("enabled") != 0)
		return FAIL("motor on after the reset, before any drive");
	return 0;
}

static bool rt_throttled(void)
{
	static char buf[1 << 17];
	int n = klogctl(3, buf, sizeof(buf) - 1);	/* SYSLOG_ACTION_READ_ALL */

	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "RT throttling activated");
}

/* One variant: RUNAWAY_ROUNDS trips and e-stops; misses counted. */
static int runaway_variant(struct runaway *ra, int *misses, int *retries,
			   char *first, size_t first_len)
{
	struct massager_event ev;
	int cmd[2], done[2], r;
	pid_t helper = -1;
	bool rechecked = false, again;

	ra->worst = (struct runaway_worst){ .trip_early_ms = 1e9 };
	if (ra->v == RUNAWAY_BY_OTHER) {
		/* Forked before the open: it never holds the device. */
		if (pipe(cmd) < 0 || pipe(done) < 0)
			return FAIL("pipe: %m");
		helper = fork();
		if (helper < 0)
			return FAIL("fork: %m");
		if (helper == 0) {
			close(cmd[1]);
			close(done[0]);
			hog_helper(cmd[0], done[1], ra->spans);
		}
		close(cmd[0]);
		close(done[1]);
		ra->cmd = cmd[1];
		ra->done = done[0];
	} else if (hog_pool_start(&ra->pool, ra->v == RUNAWAY_OWNER_SPINS,
				  ra->spans) < 0) {
		return FAIL("could not start the hog threads");
	}
	ra->fd = open(DEV, O_RDWR | O_CLOEXEC);
	ra->mon = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	for (int i = 0; ra->fd >= 0 && ra->mon >= 0 && i < RUNAWAY_ROUNDS;
	     i++) {
		for (int kind = 0; kind < 2; kind++) {
			while (read(ra->mon, &ev, sizeof(ev)) > 0)
				;
			set_watchdog(ra->fd, MASSAGER_WATCHDOG_DEFAULT_MS);
			runaway_invalid = false;
			runaway_late_ms = 0;
			r = kind ? runaway_estop(ra) : runaway_trip(ra);
			again = r < 0 && (runaway_invalid || (!rechecked &&
				runaway_late_ms > 0 &&
				runaway_late_ms <= RUNAWAY_RECHECK_MS)) &&
				*retries < RUNAWAY_RETRIES;
			if (r < 0 && runaway_invalid &&
			    *retries < RUNAWAY_RETRIES) {
				printf("# runaway_retry: %s round %d %s: %s\n",
				       runaway_name[ra->v], i + 1,
				       kind ? "e-stop" : "trip", why);
				(*retries)++;
				kind--;
			} else if (r < 0 && !rechecked && runaway_late_ms > 0 &&
				   runaway_late_ms <= RUNAWAY_RECHECK_MS &&
				   *retries < RUNAWAY_RETRIES) {
				printf("# runaway_recheck: %s round %d %s: %s\n",
				       runaway_name[ra->v], i + 1,
				       kind ? "e-stop" : "trip", why);
				(*retries)++;
				rechecked = true;
				kind--;
			} else if (r < 0) {
				/* Every miss is shown; the first says why. */
				printf("# runaway_miss: %s round %d %s: %s\n",
				       runaway_name[ra->v], i + 1,
				       kind ? "e-stop" : "trip", why);
				if (!(*misses)++)
					snprintf(first, first_len,
						 "%s round %d %s: %s",
						 runaway_name[ra->v], i + 1,
						 kind ? "e-stop" : "trip", why);
			}
			if (!again)
				rechecked = false;
			if (r < 0) {
				/* Back to a released, reset, idle board. */
				dbg_set("estop_press_in_us", 0);
				dbg_set("estop", 0);
				sleep_ms(20);
				ioctl(ra->fd, MASSAGER_IOC_RESET_ESTOP);
			}
			drive(ra->fd, 0);
			/* Let the RT bandwidth recover: no throttling. */
			sleep_ms(RUNAWAY_HOG_MS);
		}
	}
	printf("# runaway_%s: trip_ms=%.2f trip_wall_ms=%.2f "
	       "trip_early_ms=%.2f estop_off_ms=%.3f estop_wall_ms=%.3f\n",
	       runaway_name[ra->v], ra->worst.trip_ms, ra->worst.trip_wall_ms,
	       ra->worst.trip_early_ms, ra->worst.estop_ms,
	       ra->worst.estop_wall_ms);
	dbg_set("estop", 0);
	r = ra->fd < 0 || ra->mon < 0 ? FAIL("open: %m") : 0;
	if (ra->fd >= 0)
		close(ra->fd);
	if (ra->mon >= 0)
		close(ra->mon);
	if (ra->v == RUNAWAY_BY_OTHER) {
		close(ra->cmd);
		close(ra->done);
		waitpid(helper, NULL, 0);
	} else {
		hog_pool_stop(&ra->pool);
	}
	return r;
}

static int test_runaway(void)
{
	const char *flavour = getenv("MASSAGED_VM_FLAVOUR");
	const int rounds = 2 * RUNAWAY_ROUNDS * RUNAWAY_VARIANTS;
	struct runaway_worst worst = { .trip_early_ms = 1e9 };
	char first[sizeof(why) + 64] = "";
	struct runaway ra = { 0 };
	struct utsname u;
	int misses = 0, retries = 0, r = 0;

	if (!flavour) {
		uname(&u);
		flavour = u.release;
	}
	ra.spans = mmap(NULL, sizeof(*ra.spans) * RUNAWAY_MAX_CPUS,
			PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
			0);
	if (ra.spans == MAP_FAILED)
		return FAIL("mmap: %m");
	r = pin_to(0);
	for (ra.v = 0; !r && ra.v < RUNAWAY_VARIANTS; ra.v++) {
		r = runaway_variant(&ra, &misses, &retries, first,
				    sizeof(first));
		worst.trip_ms = fmax(worst.trip_ms, ra.worst.trip_ms);
		worst.trip_wall_ms = fmax(worst.trip_wall_ms,
					  ra.worst.trip_wall_ms);
		worst.trip_early_ms = fmin(worst.trip_early_ms,
					   ra.worst.trip_early_ms);
		worst.estop_ms = fmax(worst.estop_ms, ra.worst.estop_ms);
		worst.estop_wall_ms = fmax(worst.estop_wall_ms,
					   ra.worst.estop_wall_ms);
	}
	unpin();
	munmap(ra.spans, sizeof(*ra.spans) * RUNAWAY_MAX_CPUS);
	printf("# runaway: kernel=%s hog_prio=%d cpus=%d trip_ms=%.2f "
	       "timeout_ms=%d estop_off_ms=%.3f\n", flavour, RUNAWAY_PRIO,
	       hog_cpus(), worst.trip_ms, MASSAGER_WATCHDOG_DEFAULT_MS,
	       worst.estop_ms);
	printf("# runaway_wall: trip_ms=%.2f estop_off_ms=%.3f rounds=%d "
	       "misses=%d retried=%d rt_runtime_us=%lld rt_throttled=%d\n",
	       worst.trip_wall_ms, worst.estop_wall_ms, rounds, misses, retries,
	       read_int("/proc/sys/kernel/sched_rt_runtime_us"),
	       rt_throttled());
	if (r < 0)
		return r;
	if (misses)
		return FAIL("%d of %d rounds missed; first: %s", misses, rounds,
			    first);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} tests[] = {
		{ "modules load, unload and reload cleanly", test_load_unload },
		{ "second control open is EBUSY, monitors may open",
		  test_exclusive_control },
		{ "drive spins the motor and the accelerometer shows its "
		  "frequency and amplitude", test_drive_vibrates },
		{ "pressing the head slows the motor and damps the vibration "
		  "as the plant model says", test_contact_slows_and_damps },
		{ "missed heartbeat stops the motor", test_heartbeat_loss },
		{ "heartbeat timeout is settable and reverts when the owner "
		  "leaves", test_watchdog_timeout_setting },
		{ "SIGKILL of the owner stops the motor", test_owner_killed },
		{ "e-stop latches until reset, reset refused while pressed",
		  test_estop_latch },
		{ "malformed ioctls fail with the documented error and change "
		  "nothing", test_malformed_ioctls },
		{ "unbind while open stops the motor and reads fail ENODEV",
		  test_unbind_while_open },
		{ "rmmod while open is refused and leaves the motor alone",
		  test_rmmod_while_open },
		{ "gpiochip has the board's named lines, the driver holds "
		  "enable and e-stop, the button reads", test_gpio_lines },
		{ "IIO capture at 3200 Hz for 10 s loses no sample",
		  test_capture_3200hz_10s },
		{ "IIO timestamps in the default CLOCK_REALTIME are exactly "
		  "one period apart", test_capture_realtime },
		{ "runaway: with a FIFO 99 hog on every CPU a missed heartbeat "
		  "and an e-stop still stop the motor within 2 ms",
		  test_runaway },
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);
	const char *only = getenv("MASSAGER_TEST_ONLY");
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MODULE_DIR\n", argv[0]);
		return 2;
	}
	moddir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		if (only && !strstr(tests[i].name, only))
			continue;
		/* Every test starts with the board up and the motor off. */
		if (board_up() < 0) {
			not_ok(tests[i].name, "%s", why);
			continue;
		}
		r = tests[i].fn();
		/* Whatever it checked, no test may leave the motor running. */
		if (r == 0 && dbg("enabled") > 0)
			r = FAIL("left the motor on");
		report(tests[i].name, r);
		dbg_set("estop", 0);
	}
	printf("# passed=%d failed=%d\n", n_test - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
