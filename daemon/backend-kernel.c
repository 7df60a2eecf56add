// SPDX-License-Identifier: MIT
/*
 * backend-kernel.c - the massager behind massager.ko (docs/kernel-abi.md)
 *
 *  - discovery: libudev, subsystem "misc", sysname "massager*"; hotplug
 *    through a udev monitor on the same subsystem;
 *  - control: /dev/massagerN opened O_RDWR (we are the owner); every
 *    MASSAGER_IOC_DRIVE is also the heartbeat of the kernel's watchdog;
 *  - events: read() on the same file, O_NONBLOCK;
 *  - samples: the IIO device the driver names, buffered capture of
 *    accel_x/y/z (16-bit, no timestamp) from /dev/iio:deviceN with the
 *    watermark at one control period's worth, so poll() wakes the control
 *    thread once per period, paced by the sensor's own clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libudev.h>

#include "backend.h"
#include "log.h"
#include "macro.h"

#define IIO_SYSFS		"/sys/bus/iio/devices"
#define IIO_BUFFER_SAMPLES	1024
#define SCAN_BYTES		6	/* x, y, z: le16 each */

struct kdev {
	struct udev *udev;
	struct udev_monitor *monitor;
	uint32_t rate_hz;
	int fd;				/* /dev/massagerN, O_RDWR */
	int iio_fd;			/* /dev/iio:deviceN */
	struct massager_info info;
	char path[64];
	char iio_dir[PATH_MAX];
	int32_t lsb_ug;
	uint8_t buf[SCAN_BYTES * 256];
};

static struct kdev *KDEV(struct backend *b)
{
	return b->data;
}

static int write_attr(const char *dir, const char *attr, const char *value)
{
	char p[PATH_MAX + 64];
	int fd, r = 0;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static int read_attr(const char *dir, const char *attr, char *buf, size_t size)
{
	char p[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int kernel_discover(struct backend *b, char *ret_path, size_t size)
{
	struct kdev *k = KDEV(b);
	struct udev_enumerate *e;
	struct udev_list_entry *it;
	int r = -ENODEV;

	e = udev_enumerate_new(k->udev);
	if (!e)
		return -ENOMEM;
	udev_enumerate_add_match_subsystem(e, "misc");
	udev_enumerate_add_match_sysname(e, "massager[0-9]*");
	if (udev_enumerate_scan_devices(e) < 0) {
		udev_enumerate_unref(e);
		return -EIO;
	}
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e)) {
		struct udev_device *d;
		const char *node;

		d = udev_device_new_from_syspath(k->udev,
						 udev_list_entry_get_name(it));
		if (!d)
			continue;
		node = udev_device_get_devnode(d);
		if (node) {
			snprintf(ret_path, size, "%s", node);
			r = 0;
		}
		udev_device_unref(d);
		if (r == 0)
			break;
	}
	udev_enumerate_unref(e);
	return r;
}

static void kernel_close(struct backend *b)
{
	struct kdev *k = KDEV(b);
	struct massager_drive d = { 0 };

	if (k->fd >= 0)
		(void)ioctl(k->fd, MASSAGER_IOC_DRIVE, &d);
	if (k->iio_dir[0])
		(void)write_attr(k->iio_dir, "buffer/enable", "0");
	k->iio_fd = safe_close(k->iio_fd);
	/* Closing the owner's file stops the motor in the kernel too. */
	k->fd = safe_close(k->fd);
	k->iio_dir[0] = '\0';
}

static int kernel_setup_iio(struct kdev *k, uint32_t period_samples)
{
	static const char *const axes[] = { "x", "y", "z" };
	char attr[64], val[32], dev[PATH_MAX];
	double scale;
	size_t i;
	int r;

	snprintf(k->iio_dir, sizeof(k->iio_dir), "%s/%s", IIO_SYSFS,
		 k->info.iio_device);
	(void)write_attr(k->iio_dir, "buffer/enable", "0");
	snprintf(val, sizeof(val), "%u", k->rate_hz);
	r = write_attr(k->iio_dir, "sampling_frequency", val);
	if (r < 0)
		r = write_attr(k->iio_dir, "in_accel_sampling_frequency", val);
	if (r < 0)
		return log_error_errno(r, "Failed to set %s sampling_frequency=%u: %m",
				       k->iio_dir, k->rate_hz);
	for (i = 0; i < ARRAY_SIZE(axes); i++) {
		snprintf(attr, sizeof(attr), "scan_elements/in_accel_%s_en",
			 axes[i]);
		r = write_attr(k->iio_dir, attr, "1");
		if (r < 0)
			return log_error_errno(r, "Failed to enable %s/%s: %m",
					       k->iio_dir, attr);
	}
	(void)write_attr(k->iio_dir, "scan_elements/in_accel_timestamp_en",
			 "0");
	(void)write_attr(k->iio_dir, "scan_elements/in_timestamp_en", "0");
	snprintf(val, sizeof(val), "%u", IIO_BUFFER_SAMPLES);
	r = write_attr(k->iio_dir, "buffer/length", val);
	if (r < 0)
		return log_error_errno(r, "Failed to set the IIO buffer length: %m");
	snprintf(val, sizeof(val), "%u", period_samples ?: 1);
	(void)write_attr(k->iio_dir, "buffer/watermark", val);

	r = read_attr(k->iio_dir, "in_accel_scale", val, sizeof(val));
	if (r == 0 && (scale = strtod(val, NULL)) > 0)
		k->lsb_ug = (int32_t)lround(scale / 9.80665 * 1e6);
	else
		k->lsb_ug = 3900;

	snprintf(dev, sizeof(dev), "/dev/%s", k->info.iio_device);
	k->iio_fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->iio_fd < 0)
		return log_error_errno(-errno, "Failed to open %s: %m", dev);
	r = write_attr(k->iio_dir, "buffer/enable", "1");
	if (r < 0)
		return log_error_errno(r, "Failed to enable the IIO buffer of %s: %m",
				       k->info.iio_device);
	return 0;
}

static int kernel_open(struct backend *b, const char *path)
{
	struct kdev *k = KDEV(b);
	int r;

	k->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return log_error_errno(-errno, "Failed to open %s: %m%s", path,
				       errno == EBUSY ? " (another program owns it)" : "");
	if (ioctl(k->fd, MASSAGER_IOC_GET_INFO, &k->info) < 0) {
		r = log_error_errno(-errno, "%s: MASSAGER_IOC_GET_INFO failed: %m",
				    path);
		goto fail;
	}
	if (k->info.abi_version != MASSAGER_ABI_VERSION) {
		r = log_error_errno(-EPROTO, "%s speaks ABI %u, we speak %u.",
				    path, k->info.abi_version,
				    MASSAGER_ABI_VERSION);
		goto fail;
	}
	k->info.iio_device[MASSAGER_NAME_LEN - 1] = '\0';
	k->info.gpiochip[MASSAGER_NAME_LEN - 1] = '\0';
	if (!k->info.iio_device[0] || strchr(k->info.iio_device, '/')) {
		r = log_error_errno(-ENXIO, "%s names no usable IIO device.",
				    path);
		goto fail;
	}
	/*
	 * The heartbeat timeout: the kernel's default (50 ms) is 50 control
	 * periods; set it explicitly so a changed default cannot surprise us.
	 */
	{
		struct massager_watchdog wd = {
			.timeout_ms = MASSAGER_WATCHDOG_DEFAULT_MS,
		};

		if (ioctl(k->fd, MASSAGER_IOC_SET_WATCHDOG, &wd) < 0) {
			r = log_error_errno(-errno, "%s: MASSAGER_IOC_SET_WATCHDOG failed: %m",
					    path);
			goto fail;
		}
	}
	/* Watermark: one millisecond period's worth, at least one scan. */
	r = kernel_setup_iio(k, k->rate_hz / 1000);
	if (r < 0)
		goto fail;
	snprintf(k->path, sizeof(k->path), "%s", path);
	return 0;
fail:
	kernel_close(b);
	return r;
}

static int kernel_info(struct backend *b, struct backend_info *ret)
{
	struct kdev *k = KDEV(b);
	struct massager_state st = { 0 };

	if (ioctl(k->fd, MASSAGER_IOC_GET_STATE, &st) < 0)
		return -errno;

	*ret = (struct backend_info) {
		.max_duty_permille = k->info.max_duty_permille,
		.sample_rate_hz = k->rate_hz,
		.lsb_ug = k->lsb_ug,
		/* 16-bit storage; the sensor's own range is not exported */
		.range_lsb = 32767,
	};
	snprintf(ret->name, sizeof(ret->name), "%s", k->path);
	snprintf(ret->gpiochip, sizeof(ret->gpiochip), "%s",
		 k->info.gpiochip);
	ret->estop_latched = st.estop_latched;
	ret->estop_asserted = st.estop_asserted;
	return 0;
}

static int kernel_wait_samples(struct backend *b, uint64_t deadline_ns)
{
	struct kdev *k = KDEV(b);
	struct pollfd p = { .fd = k->iio_fd, .events = POLLIN };
	uint64_t now = now_ns();
	/* Up to one deadline late: a silent sensor must not hang the loop. */
	struct timespec ts = ns_to_timespec(deadline_ns > now ?
					    2 * (deadline_ns - now) : 0);
	int r;

	r = ppoll(&p, 1, &ts, NULL);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (p.revents & (POLLERR | POLLHUP))
		return -ENODEV;
	return 0;
}

static int kernel_read_samples(struct backend *b, uint64_t now_ns _unused_,
			       struct accel_sample *out, size_t n)
{
	struct kdev *k = KDEV(b);
	size_t want = n * SCAN_BYTES, got, i;
	ssize_t r;

	if (want > sizeof(k->buf))
		want = sizeof(k->buf) / SCAN_BYTES * SCAN_BYTES;
	r = read(k->iio_fd, k->buf, want);
	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	got = (size_t)r / SCAN_BYTES;
	for (i = 0; i < got; i++) {
		const uint8_t *s = k->buf + i * SCAN_BYTES;

		out[i].x = (int16_t)(s[0] | s[1] << 8);
		out[i].y = (int16_t)(s[2] | s[3] << 8);
		out[i].z = (int16_t)(s[4] | s[5] << 8);
	}
	return (int)got;
}

static int kernel_drive(struct backend *b, uint32_t duty_permille)
{
	struct massager_drive d = { .duty_permille = duty_permille };

	if (ioctl(KDEV(b)->fd, MASSAGER_IOC_DRIVE, &d) < 0)
		return -errno;
	return 0;
}

static void kernel_flush(struct backend *b)
{
	struct kdev *k = KDEV(b);

	while (read(k->iio_fd, k->buf, sizeof(k->buf)) > 0)
		;
}

static int kernel_events_fd(struct backend *b)
{
	return KDEV(b)->fd;
}

static int kernel_read_event(struct backend *b, struct massager_event *ret)
{
	ssize_t n = read(KDEV(b)->fd, ret, sizeof(*ret));

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n == sizeof(*ret) ? 1 : -EIO;
}

static int kernel_reset_estop(struct backend *b)
{
	if (ioctl(KDEV(b)->fd, MASSAGER_IOC_RESET_ESTOP) < 0)
		return -errno;
	return 0;
}

static int kernel_hotplug_fd(struct backend *b)
{
	return KDEV(b)->monitor ? udev_monitor_get_fd(KDEV(b)->monitor) : -1;
}

static void kernel_hotplug_ack(struct backend *b)
{
	struct udev_device *d;

	while ((d = udev_monitor_receive_device(KDEV(b)->monitor)))
		udev_device_unref(d);
}

static void kernel_destroy(struct backend *b)
{
	struct kdev *k = KDEV(b);

	kernel_close(b);
	udev_monitor_unref(k->monitor);
	udev_unref(k->udev);
	free(k);
}

static const struct backend_ops kernel_ops = {
	.name = "kernel",
	.discover = kernel_discover,
	.open = kernel_open,
	.close = kernel_close,
	.info = kernel_info,
	.wait_samples = kernel_wait_samples,
	.read_samples = kernel_read_samples,
	.drive = kernel_drive,
	.flush = kernel_flush,
	.events_fd = kernel_events_fd,
	.read_event = kernel_read_event,
	.reset_estop = kernel_reset_estop,
	.hotplug_fd = kernel_hotplug_fd,
	.hotplug_ack = kernel_hotplug_ack,
	.destroy = kernel_destroy,
};

int backend_kernel_new(struct backend **ret, uint32_t sample_rate_hz)
{
	struct backend *b;
	struct kdev *k;

	b = calloc(1, sizeof(*b));
	k = calloc(1, sizeof(*k));
	if (!b || !k) {
		free(b);
		free(k);
		return -ENOMEM;
	}
	k->fd = k->iio_fd = -1;
	k->rate_hz = sample_rate_hz;
	b->ops = &kernel_ops;
	b->data = k;
	k->udev = udev_new();
	if (!k->udev) {
		backend_free(b);
		return -ENOMEM;
	}
	k->monitor = udev_monitor_new_from_netlink(k->udev, "udev");
	if (k->monitor) {
		udev_monitor_filter_add_match_subsystem_devtype(k->monitor,
								"misc", NULL);
		if (udev_monitor_enable_receiving(k->monitor) < 0) {
			udev_monitor_unref(k->monitor);
			k->monitor = NULL;
		}
	}
	if (!k->monitor)
		log_warning("No udev monitor: a massager plugged in later will not be seen until restart.");
	*ret = b;
	return 0;
}
