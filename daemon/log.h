/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's logging: one line per message on stderr, with a
 * "<N>" syslog priority prefix so that journald files it at the right
 * level (SYSLOG_PREFIX convention of sd-daemon.h). The _errno variants
 * return the negative errno they were given, so a failure is logged and
 * propagated in one statement:
 *
 *	if (r < 0)
 *		return log_error_errno(r, "Failed to open %s: %m", path);
 *
 * Never call these from the control thread.
 */
#ifndef MASSAGED_LOG_H
#define MASSAGED_LOG_H

#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs at @level with errno set to @error for %m; returns -abs(@error). */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) \
	log_internal((level), (error), __VA_ARGS__)
#define log_debug(...)		log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)		log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)		log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)	log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)		log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(error, ...) \
	log_internal(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) \
	log_internal(LOG_ERR, (error), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, -ENOMEM, "Out of memory.")

#endif
