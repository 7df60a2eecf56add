// SPDX-License-Identifier: MIT
/*
 * massagectl-util.c - the command line's parsers and the output's
 * formatters: pure, so that the unit tests can hold them to what
 * massagectl(1) promises
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "massagectl-util.h"

static const struct {
	const char *suffix;
	uint64_t usec;
} time_units[] = {
	{ "us", 1 },
	{ "usec", 1 },
	{ "ms", USEC_PER_MSEC },
	{ "msec", USEC_PER_MSEC },
	{ "s", USEC_PER_SEC_ },
	{ "sec", USEC_PER_SEC_ },
	{ "second", USEC_PER_SEC_ },
	{ "seconds", USEC_PER_SEC_ },
	{ "m", USEC_PER_MINUTE },
	{ "min", USEC_PER_MINUTE },
	{ "minute", USEC_PER_MINUTE },
	{ "minutes", USEC_PER_MINUTE },
	{ "h", USEC_PER_HOUR },
	{ "hr", USEC_PER_HOUR },
	{ "hour", USEC_PER_HOUR },
	{ "hours", USEC_PER_HOUR },
	{ "d", USEC_PER_DAY },
	{ "day", USEC_PER_DAY },
	{ "days", USEC_PER_DAY },
	{ "w", 7 * USEC_PER_DAY },
	{ "week", 7 * USEC_PER_DAY },
	{ "weeks", 7 * USEC_PER_DAY },
};

int parse_timespan_usec(const char *s, uint64_t *ret_usec)
{
	uint64_t total = 0;
	bool any = false;

	if (!s)
		return -EINVAL;
	for (;;) {
		const char *unit;
		uint64_t mult = 0;
		double v, part;
		size_t n;
		char *end;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		/* strtod would take "-", "inf", "nan" and hex: digits only. */
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (unit = s; isdigit((unsigned char)*unit) || *unit == '.';
		     unit++)
			;
		errno = 0;
		v = strtod(s, &end);
		if (end != unit)
			return -EINVAL;
		if (errno || !isfinite(v))
			return -ERANGE;
		while (isalpha((unsigned char)*end))
			end++;
		n = (size_t)(end - unit);
		if (n == 0) {
			/* A bare number is seconds, but only on its own. */
			if (any || *end)
				return -EINVAL;
			mult = USEC_PER_SEC_;
		} else {
			for (size_t i = 0;
			     i < sizeof(time_units) / sizeof(time_units[0]);
			     i++)
				if (strlen(time_units[i].suffix) == n &&
				    !strncmp(unit, time_units[i].suffix, n))
					mult = time_units[i].usec;
			if (!mult)
				return -EINVAL;
		}
		part = v * (double)mult;
		if (part >= (double)(UINT64_MAX / 2) ||
		    total + (uint64_t)llround(part) < total)
			return -ERANGE;
		total += (uint64_t)llround(part);
		any = true;
		s = end;
	}
	if (!any)
		return -EINVAL;
	*ret_usec = total;
	return 0;
}

int parse_frequency_hz(const char *s, double *ret_hz)
{
	char *end;
	double v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v))
		return -ERANGE;
	while (isspace((unsigned char)*end))
		end++;
	if (*end && strcasecmp(end, "hz"))
		return -EINVAL;
	if (v <= 0)
		return -ERANGE;
	*ret_hz = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u32_range(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_intensity_permille(const char *s, uint32_t *ret)
{
	size_t n = s ? strlen(s) : 0;
	char num[32];
	uint32_t v;
	int r;

	if (n > 1 && s[n - 1] == '%') {
		if (n >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		r = parse_u32_range(num, 0, 100, &v);
		if (r < 0)
			return r;
		*ret = v * 10;
		return 0;
	}
	return parse_u32_range(s, 0, 1000, ret);
}

int parse_pain_score(const char *s, uint32_t *ret)
{
	return parse_u32_range(s, 0, 10, ret);
}

int parse_id(const char *s, uint64_t *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v == 0)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_time_of_day(const char *s, char ret[static 6])
{
	unsigned int h, m;
	int n = 0;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	if (sscanf(s, "%2u:%2u%n", &h, &m, &n) != 2 || s[n] ||
	    !isdigit((unsigned char)s[n - 1]) || !isdigit((unsigned char)s[n - 2]))
		return -EINVAL;
	if (h > 23 || m > 59)
		return -ERANGE;
	snprintf(ret, 6, "%02u:%02u", h, m);
	return 0;
}

int parse_local_datetime_usec(const char *s, uint64_t *ret_usec)
{
	static const char *const formats[] = {
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%dT%H:%M",    "%Y-%m-%d",
	};

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = { .tm_isdst = -1 };
		int year, mon, mday;
		const char *end;
		time_t t;

		end = strptime(s, formats[i], &tm);
		if (!end || *end)
			continue;
		/* mktime() would turn 02-31 into 03-03: refuse it. */
		year = tm.tm_year;
		mon = tm.tm_mon;
		mday = tm.tm_mday;
		t = mktime(&tm);
		if (t == (time_t)-1 || t < 0 || tm.tm_year != year ||
		    tm.tm_mon != mon || tm.tm_mday != mday)
			return -ERANGE;
		*ret_usec = (uint64_t)t * USEC_PER_SEC_;
		return 0;
	}
	return -EINVAL;
}

static uint64_t local_midnight_usec(uint64_t usec, int days_back)
{
	time_t t = (time_t)(usec / USEC_PER_SEC_);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = 0;
	tm.tm_min = 0;
	tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t < 0 ? 0 : (uint64_t)t * USEC_PER_SEC_;
}

int parse_since_usec(const char *s, uint64_t now_usec, uint64_t *ret_usec)
{
	char span[64];
	uint64_t usec;
	size_t n;
	int r;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "today")) {
		*ret_usec = local_midnight_usec(now_usec, 0);
		return 0;
	}
	if (!strcmp(s, "yesterday")) {
		*ret_usec = local_midnight_usec(now_usec, 1);
		return 0;
	}
	n = strlen(s);
	if (s[0] == '-' || (n > 4 && !strcmp(s + n - 4, " ago"))) {
		const char *from = s[0] == '-' ? s + 1 : s;
		size_t len = s[0] == '-' ? n - 1 : n - 4;

		if (s[0] == '-' && n > 4 && !strcmp(s + n - 4, " ago"))
			return -EINVAL;
		if (len >= sizeof(span))
			return -EINVAL;
		memcpy(span, from, len);
		span[len] = '\0';
		r = parse_timespan_usec(span, &usec);
		if (r < 0)
			return r;
		*ret_usec = usec > now_usec ? 0 : now_usec - usec;
		return 0;
	}
	return parse_local_datetime_usec(s, ret_usec);
}

int parse_plan_when(const char *s, char *ret, size_t size)
{
	char tod[6];
	uint64_t usec;
	int r;

	if (size < 24)
		return -ENOBUFS;
	r = parse_time_of_day(s, tod);
	if (r == 0) {
		snprintf(ret, size, "%s", tod);
		return 0;
	}
	if (r != -EINVAL)
		return r;
	r = parse_local_datetime_usec(s, &usec);
	if (r < 0)
		return r;
	snprintf(ret, size, "%llu", (unsigned long long)usec);
	return 0;
}

char *format_timespan(char *buf, size_t size, uint64_t usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "d", USEC_PER_DAY },	   { "h", USEC_PER_HOUR },
		{ "min", USEC_PER_MINUTE }, { "s", USEC_PER_SEC_ },
		{ "ms", USEC_PER_MSEC },    { "us", 1 },
	};
	size_t len = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (usec == UINT64_MAX) {
		snprintf(buf, size, "infinity");
		return buf;
	}
	if (usec == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	/* Parts below a thousandth of the whole are noise to a person. */
	if (usec >= USEC_PER_SEC_)
		usec = (usec + USEC_PER_SEC_ / 2) / USEC_PER_SEC_ * USEC_PER_SEC_;
	else if (usec >= USEC_PER_MSEC)
		usec = (usec + USEC_PER_MSEC / 2) / USEC_PER_MSEC * USEC_PER_MSEC;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && usec; i++) {
		uint64_t n = usec / units[i].usec;
		int k;

		if (!n)
			continue;
		usec -= n * units[i].usec;
		k = snprintf(buf + len, size - len, "%s%llu%s", len ? " " : "",
			     (unsigned long long)n, units[i].suffix);
		if (k < 0 || (size_t)k >= size - len)
			break;
		len += (size_t)k;
	}
	return buf;
}

char *format_timestamp(char *buf, size_t size, uint64_t usec)
{
	time_t t = (time_t)(usec / USEC_PER_SEC_);
	struct tm tm;

	if (size == 0)
		return buf;
	if (usec == 0 || !localtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
	return buf;
}

char *format_progress_bar(char *buf, size_t size, double fraction,
			  unsigned int width)
{
	unsigned int done, i;
	size_t len = 0;

	if (size == 0)
		return buf;
	if (!(fraction >= 0))
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	if (width + 3 > size)
		width = size > 3 ? (unsigned int)size - 3 : 0;
	done = (unsigned int)lround(fraction * width);
	buf[len++] = '[';
	for (i = 0; i < width; i++)
		buf[len++] = i < done ? '#' : '.';
	buf[len++] = ']';
	buf[len] = '\0';
	return buf;
}

double session_fraction(uint32_t step, uint32_t steps, uint64_t step_left_usec,
			uint64_t step_total_usec)
{
	double in_step = 0;

	if (steps == 0)
		return 0;
	if (step >= steps)
		return 1;
	if (step_total_usec > 0 && step_left_usec <= step_total_usec)
		in_step = 1.0 - (double)step_left_usec / (double)step_total_usec;
	return ((double)step + in_step) / (double)steps;
}
