/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * massager.h - user ABI of the massager board driver (massager.ko)
 *
 * The driver exposes one character device per board, /dev/massagerN
 * (a misc device; udev names it from KERNEL=="massager[0-9]*").
 * docs/kernel-abi.md describes every ioctl, error, event and sysfs
 * attribute, and what happens on close, e-stop, watchdog trip and unbind.
 *
 * All structures have fixed sizes and explicit padding; "reserved" fields
 * must be zero on input (else EINVAL) and are zeroed by the kernel on
 * output. The size of each structure is part of the ioctl number: a
 * request with a known type and number but another size or direction
 * fails with EINVAL, an unknown request with ENOTTY.
 */
#ifndef _UAPI_MASSAGER_H
#define _UAPI_MASSAGER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; reported by MASSAGER_IOC_GET_INFO. */
#define MASSAGER_ABI_VERSION		1

/* Intensity is a PWM duty cycle in permille: 0 (off) .. 1000 (full). */
#define MASSAGER_DUTY_FULL_PERMILLE	1000

/* Heartbeat watchdog bounds and default, in milliseconds. */
#define MASSAGER_WATCHDOG_MIN_MS	10
#define MASSAGER_WATCHDOG_MAX_MS	1000
#define MASSAGER_WATCHDOG_DEFAULT_MS	50

/* Length of the fixed-size name arrays, including the terminating NUL. */
#define MASSAGER_NAME_LEN		32

/**
 * struct massager_info - static facts about the board (MASSAGER_IOC_GET_INFO)
 * @abi_version: MASSAGER_ABI_VERSION of the running driver
 * @max_duty_permille: hard duty ceiling: the lower of the device property
 *	"massaged,max-duty-permille" and the module parameter max_duty
 * @duty_full_permille: MASSAGER_DUTY_FULL_PERMILLE (full scale)
 * @watchdog_min_ms: smallest heartbeat timeout accepted
 * @watchdog_max_ms: largest heartbeat timeout accepted
 * @watchdog_default_ms: timeout after open and after the owner's release
 * @pwm_period_ns: period of the motor PWM
 * @event_size: sizeof(struct massager_event)
 * @event_queue_len: events each open file can hold before it drops
 * @reserved0: zero
 * @iio_device: IIO device holding the accelerometer, e.g. "iio:device0"
 * @gpiochip: label of the gpiochip holding the e-stop line, and the
 *	handset lines "massager-button", "massager-run-led",
 *	"massager-fault-led" that userspace requests by name
 * @reserved: zero
 */
struct massager_info {
	__u32 abi_version;
	__u32 max_duty_permille;
	__u32 duty_full_permille;
	__u32 watchdog_min_ms;
	__u32 watchdog_max_ms;
	__u32 watchdog_default_ms;
	__u32 pwm_period_ns;
	__u32 event_size;
	__u32 event_queue_len;
	__u32 reserved0;
	char iio_device[MASSAGER_NAME_LEN];
	char gpiochip[MASSAGER_NAME_LEN];
	__u32 reserved[8];
};

/* Why the motor is off (struct massager_state.stop_reason). */
enum massager_stop_reason {
	MASSAGER_STOP_NONE	= 0,	/* running, or never started */
	MASSAGER_STOP_COMMAND	= 1,	/* a drive command with duty 0 */
	MASSAGER_STOP_RELEASE	= 2,	/* the owner closed or died */
	MASSAGER_STOP_WATCHDOG	= 3,	/* missed heartbeat */
	MASSAGER_STOP_ESTOP	= 4,	/* e-stop pressed (see estop_latched) */
	MASSAGER_STOP_FAULT	= 5,	/* PWM or GPIO call failed */
	MASSAGER_STOP_REMOVED	= 6,	/* device unbound */
};

/**
 * struct massager_state - live state (MASSAGER_IOC_GET_STATE)
 * @duty_permille: duty currently applied (0 when off)
 * @enabled: 1 when the enable line is driven high
 * @estop_latched: 1 while the e-stop latch is set; cleared only by
 *	MASSAGER_IOC_RESET_ESTOP
 * @estop_asserted: 1 while the e-stop line itself is asserted
 * @watchdog_ms: heartbeat timeout in force
 * @watchdog_armed: 1 while the heartbeat watchdog is running
 * @watchdog_trips: missed heartbeats since the driver bound
 * @estop_count: e-stop presses since the driver bound
 * @fault_count: PWM/GPIO failures since the driver bound
 * @stop_reason: enum massager_stop_reason of the last stop
 * @owner_pid: thread-group id of the control owner in the caller's pid
 *	namespace, 0 if none (or not visible there)
 * @events_lost: events this file dropped because its queue was full
 * @reserved: zero
 */
struct massager_state {
	__u32 duty_permille;
	__u32 enabled;
	__u32 estop_latched;
	__u32 estop_asserted;
	__u32 watchdog_ms;
	__u32 watchdog_armed;
	__u32 watchdog_trips;
	__u32 estop_count;
	__u32 fault_count;
	__u32 stop_reason;
	__s32 owner_pid;
	__u32 events_lost;
	__u32 reserved[4];
};

/**
 * struct massager_drive - set the intensity (MASSAGER_IOC_DRIVE)
 * @duty_permille: 0 stops the motor and disarms the watchdog; 1 ..
 *	max_duty_permille runs it and (re)arms the heartbeat watchdog;
 *	above the ceiling fails with ERANGE
 * @flags: zero (no flags defined yet)
 * @reserved: zero
 */
struct massager_drive {
	__u32 duty_permille;
	__u32 flags;
	__u32 reserved[2];
};

/**
 * struct massager_watchdog - set the heartbeat timeout
 * @timeout_ms: MASSAGER_WATCHDOG_MIN_MS .. MASSAGER_WATCHDOG_MAX_MS, else
 *	ERANGE; reverts to MASSAGER_WATCHDOG_DEFAULT_MS on the owner's release
 * @reserved: zero
 */
struct massager_watchdog {
	__u32 timeout_ms;
	__u32 reserved;
};

/* Event types (struct massager_event.type). */
enum massager_event_type {
	MASSAGER_EVENT_ESTOP_PRESSED	= 1,	/* value: duty it cut */
	MASSAGER_EVENT_ESTOP_RELEASED	= 2,	/* line released, still latched */
	MASSAGER_EVENT_ESTOP_RESET	= 3,	/* latch cleared by the owner */
	MASSAGER_EVENT_WATCHDOG_TRIP	= 4,	/* value: duty it cut */
	MASSAGER_EVENT_FAULT		= 5,	/* value: positive errno */
	MASSAGER_EVENT_OWNER_RELEASED	= 6,	/* value: duty it cut */
	MASSAGER_EVENT_REMOVED		= 7,	/* last event; then ENODEV */
};

/**
 * struct massager_event - one record returned by read()
 * @timestamp_ns: CLOCK_MONOTONIC time the event happened
 * @type: enum massager_event_type
 * @seq: per-device sequence number, counts every event the device raised
 * @value: type-specific, see enum massager_event_type
 * @lost: events this file had dropped (queue full) when this one was queued
 * @reserved: zero
 *
 * read() returns whole records only: a buffer shorter than one record
 * fails with EINVAL.
 */
struct massager_event {
	__u64 timestamp_ns;
	__u32 type;
	__u32 seq;
	__u32 value;
	__u32 lost;
	__u32 reserved[2];
};

#define MASSAGER_IOC_MAGIC	0xC8

/* Allowed on every open file. */
#define MASSAGER_IOC_GET_INFO	_IOR(MASSAGER_IOC_MAGIC, 0x00, struct massager_info)
#define MASSAGER_IOC_GET_STATE	_IOR(MASSAGER_IOC_MAGIC, 0x01, struct massager_state)
/* Control open (O_WRONLY or O_RDWR) only; EBADF on an O_RDONLY file. */
#define MASSAGER_IOC_DRIVE	_IOW(MASSAGER_IOC_MAGIC, 0x02, struct massager_drive)
#define MASSAGER_IOC_SET_WATCHDOG _IOW(MASSAGER_IOC_MAGIC, 0x03, struct massager_watchdog)
#define MASSAGER_IOC_RESET_ESTOP _IO(MASSAGER_IOC_MAGIC, 0x04)

#endif /* _UAPI_MASSAGER_H */
