// SPDX-License-Identifier: MIT
/*
 * log.c - stderr logging with syslog priority prefixes
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved_errno = errno;
	char buf[1024];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > max_level)
		return -error;

	/* %m in @fmt prints @error, not whatever errno happens to hold. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	/*
	 * The "<N>" prefix is for journald (and anything reading our stderr
	 * through a pipe); a person at a terminal gets the plain text.
	 */
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "massaged: %s\n", buf);
	else
		fprintf(stderr, "<%d>%s\n", level, buf);
	errno = saved_errno;
	return -error;
}
