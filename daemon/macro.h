/* SPDX-License-Identifier: MIT */
/*
 * macro.h - small helpers shared by the daemon's files: cleanup
 * attributes, array sizes, time conversions
 */
#ifndef MASSAGED_MACRO_H
#define MASSAGED_MACRO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NSEC_PER_USEC	1000ull
#define NSEC_PER_MSEC	1000000ull
#define NSEC_PER_SEC	1000000000ull
#define USEC_PER_SEC	1000000ull

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Close @fd if it is valid; always returns -EBADF for "fd = safe_close(fd)". */
static inline int safe_close(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline uint64_t timespec_to_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static inline struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec) {
		.tv_sec = (time_t)(ns / NSEC_PER_SEC),
		.tv_nsec = (long)(ns % NSEC_PER_SEC),
	};
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return timespec_to_ns(&ts);
}

static inline const char *yes_no(int b)
{
	return b ? "yes" : "no";
}

#endif
