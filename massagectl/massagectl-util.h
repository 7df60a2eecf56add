/* SPDX-License-Identifier: MIT */
/*
 * massagectl-util.h - massagectl's argument parsers and output formatters.
 * Pure functions, no bus and no logging, so that tests/unit can pin down
 * what the command line accepts and refuses. Parsers return 0 or -EINVAL
 * (-ERANGE when the syntax is right but the value is out of range); the
 * caller says what was wrong to the person.
 */
#ifndef MASSAGECTL_UTIL_H
#define MASSAGECTL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USEC_PER_MSEC	1000ull
#define USEC_PER_SEC_	1000000ull
#define USEC_PER_MINUTE (60ull * USEC_PER_SEC_)
#define USEC_PER_HOUR	(60ull * USEC_PER_MINUTE)
#define USEC_PER_DAY	(24ull * USEC_PER_HOUR)

/* "30s", "1min 30s", "1min30s", "2h", "500ms", "90" (seconds), "0". */
int parse_timespan_usec(const char *s, uint64_t *ret_usec);
/* "45", "45Hz", "45.5 Hz": finite and > 0; the band is the daemon's. */
int parse_frequency_hz(const char *s, double *ret_hz);
/* Per mille "600" or percent "60%", 0..1000. */
int parse_intensity_permille(const char *s, uint32_t *ret);
/* A pain score on the 0-10 scale. */
int parse_pain_score(const char *s, uint32_t *ret);
/* A session, entry, plan or course id: a whole number > 0. */
int parse_id(const char *s, uint64_t *ret);
/* A whole number in min..max. */
int parse_u32_range(const char *s, uint32_t min, uint32_t max,
		    uint32_t *ret);
/* "9:05" or "09:05" -> "09:05" in @ret (6 bytes). */
int parse_time_of_day(const char *s, char ret[static 6]);
/*
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (or with a "T"), local time, to
 * CLOCK_REALTIME microseconds.
 */
int parse_local_datetime_usec(const char *s, uint64_t *ret_usec);
/*
 * The argument of --since: a date or date and time as above, "today",
 * "yesterday", or a span back from @now_usec: "-7d", "7d ago", "2h ago".
 */
int parse_since_usec(const char *s, uint64_t now_usec, uint64_t *ret_usec);
/*
 * The WHEN of a plan, as the daemon's Plan() takes it: a time of day
 * "HH:MM" as is, or a date and time turned into its microseconds in
 * decimal. @ret is at least 24 bytes.
 */
int parse_plan_when(const char *s, char *ret, size_t size);

/* "1min 30s", "250ms", "0"; UINT64_MAX is "infinity". Returns @buf. */
char *format_timespan(char *buf, size_t size, uint64_t usec);
/* Local "2026-11-22 01:30:05"; 0 is "-". Returns @buf. */
char *format_timestamp(char *buf, size_t size, uint64_t usec);
/* "[#####.....]" of @width inner cells for @fraction 0..1. Returns @buf. */
char *format_progress_bar(char *buf, size_t size, double fraction,
			  unsigned int width);

/*
 * How far a session is, 0..1, from the Progress property: whole steps
 * done plus the part of this step done, judged against @step_total_usec
 * (the step's length as first seen; 0 when not known).
 */
double session_fraction(uint32_t step, uint32_t steps, uint64_t step_left_usec,
			uint64_t step_total_usec);

#endif
