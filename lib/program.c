/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * program.c - the massaged.program(5) parser; see program.h
 *
 * Strict on purpose: a program drives a motor against someone's neck, so
 * a misspelt key, a repeated key or a value we cannot read is an error
 * with its line, never a silent default.  The format is systemd's,
 * reduced: "[Section]" headers, "Key=Value" lines, "#" and ";" comment
 * lines, blank lines; no line continuation, no comments after a value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "program.h"

#define LINE_MAX_BYTES	2048u
/* Values are echoed in messages up to this many bytes. */
#define ECHO_MAX	40u

enum section {
	SECTION_NONE,
	SECTION_PROGRAM,
	SECTION_STEP,
};

enum key {
	/* [Program] */
	KEY_NAME,
	KEY_DESCRIPTION,
	KEY_SOURCE,
	KEY_MAX_SESSION_MINUTES,
	/* [Step] */
	KEY_SITE,
	KEY_TECHNIQUE,
	KEY_FREQUENCY,
	KEY_INTENSITY,
	KEY_AMPLITUDE,
	KEY_DURATION,
	KEY_REPETITIONS,
	KEY_REST,
	KEY_ADVANCE,
	KEY_ADVANCE_PAUSE,
	_KEY_MAX,
};

static const struct {
	const char *name;
	enum section section;
} keys[_KEY_MAX] = {
	[KEY_NAME] = { "Name", SECTION_PROGRAM },
	[KEY_DESCRIPTION] = { "Description", SECTION_PROGRAM },
	[KEY_SOURCE] = { "Source", SECTION_PROGRAM },
	[KEY_MAX_SESSION_MINUTES] = { "MaxSessionMinutes", SECTION_PROGRAM },
	[KEY_SITE] = { "Site", SECTION_STEP },
	[KEY_TECHNIQUE] = { "Technique", SECTION_STEP },
	[KEY_FREQUENCY] = { "Frequency", SECTION_STEP },
	[KEY_INTENSITY] = { "Intensity", SECTION_STEP },
	[KEY_AMPLITUDE] = { "Amplitude", SECTION_STEP },
	[KEY_DURATION] = { "Duration", SECTION_STEP },
	[KEY_REPETITIONS] = { "Repetitions", SECTION_STEP },
	[KEY_REST] = { "Rest", SECTION_STEP },
	[KEY_ADVANCE] = { "Advance", SECTION_STEP },
	[KEY_ADVANCE_PAUSE] = { "AdvancePause", SECTION_STEP },
};

static const char *const technique_names[_PROGRAM_TECHNIQUE_MAX] = {
	[PROGRAM_TECHNIQUE_VIBRATION] = "vibration",
	[PROGRAM_TECHNIQUE_PRESSURE] = "pressure",
	[PROGRAM_TECHNIQUE_STRIPPING] = "stripping",
	[PROGRAM_TECHNIQUE_COMPRESSION] = "compression",
};

static const char *const advance_names[_PROGRAM_ADVANCE_MAX] = {
	[PROGRAM_ADVANCE_CONFIRM] = "confirm",
	[PROGRAM_ADVANCE_BUTTON] = "button",
	[PROGRAM_ADVANCE_CLIENT] = "client",
	[PROGRAM_ADVANCE_PAUSE] = "pause",
};

struct parser {
	struct program *prog;
	const char *file;
	const struct safety_limits *limits;
	struct program_error *err;
	enum section section;
	unsigned int program_line;	/* of [Program], 0 if none yet */
	unsigned int key_line[_KEY_MAX];	/* 0: not set in this section */
	struct program_step *step;	/* the open [Step], or NULL */
};

const char *program_technique_to_string(enum program_technique t)
{
	if ((unsigned int)t >= _PROGRAM_TECHNIQUE_MAX)
		return "unknown";
	return technique_names[t];
}

const char *program_advance_to_string(enum program_advance a)
{
	if ((unsigned int)a >= _PROGRAM_ADVANCE_MAX)
		return "unknown";
	return advance_names[a];
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool streq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return false;
	return *a == *b;
}

/* "15min", "1min 30s", "1.5s", "250ms": for messages. */
static void format_ms(char buf[32], uint64_t ms)
{
	uint64_t min = ms / 60000u, s = ms / 1000u % 60u, rest = ms % 1000u;

	if (ms == 0)
		snprintf(buf, 32, "0s");
	else if (ms < 1000u)
		snprintf(buf, 32, "%llums", (unsigned long long)ms);
	else if (rest != 0)
		snprintf(buf, 32, "%llu.%03llus", (unsigned long long)(ms / 1000u),
			 (unsigned long long)rest);
	else if (min && s)
		snprintf(buf, 32, "%llumin %llus", (unsigned long long)min,
			 (unsigned long long)s);
	else if (min)
		snprintf(buf, 32, "%llumin", (unsigned long long)min);
	else
		snprintf(buf, 32, "%llus", (unsigned long long)s);
}

/* "45", "47.5": milli-hertz as hertz without trailing zeros. */
static void format_hz(char buf[24], uint32_t mhz)
{
	uint32_t frac = mhz % 1000u;

	if (frac == 0)
		snprintf(buf, 24, "%u", mhz / 1000u);
	else if (frac % 100u == 0)
		snprintf(buf, 24, "%u.%u", mhz / 1000u, frac / 100u);
	else if (frac % 10u == 0)
		snprintf(buf, 24, "%u.%02u", mhz / 1000u, frac / 10u);
	else
		snprintf(buf, 24, "%u.%03u", mhz / 1000u, frac);
}

/*
 * Fill the error: "FILE:LINE: KEY=VALUE: reason".  @key may be NULL (a
 * line-level error), @value NULL to leave the value out (it is not fit to
 * echo).  Always returns @error.
 */
static int fail(struct parser *p, int error, unsigned int line,
		const char *key, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail(struct parser *p, int error, unsigned int line,
		const char *key, const char *value, const char *fmt, ...)
{
	struct program_error *e = p->err;
	size_t size = sizeof(e->message), n;
	char *m;
	va_list ap;
	int k;

	if (!e)
		return error;
	e->error = error;
	e->line = line;
	m = e->message;

	if (line)
		k = snprintf(m, size, "%s:%u: ", p->file, line);
	else
		k = snprintf(m, size, "%s: ", p->file);
	n = k < 0 ? 0 : (size_t)k;
	if (n < size && key) {
		size_t len = value ? strlen(value) : 0;

		if (len > ECHO_MAX) {
			len = ECHO_MAX - 3;
			/* Do not cut a UTF-8 sequence in half. */
			while (len > 0 &&
			       ((unsigned char)value[len] & 0xc0) == 0x80)
				len--;
		}
		k = snprintf(m + n, size - n, "%s=%.*s%s: ", key, (int)len,
			     value ? value : "",
			     value && len < strlen(value) ? "..." : "");
		n += k < 0 ? 0 : (size_t)k;
	}
	if (n < size) {
		va_start(ap, fmt);
		vsnprintf(m + n, size - n, fmt, ap);
		va_end(ap);
	}
	return error;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		unsigned int n, cp;

		if (*u < 0x80) {
			u++;
			continue;
		}
		if ((*u & 0xe0) == 0xc0) {
			n = 1;
			cp = *u & 0x1f;
		} else if ((*u & 0xf0) == 0xe0) {
			n = 2;
			cp = *u & 0x0f;
		} else if ((*u & 0xf8) == 0xf0) {
			n = 3;
			cp = *u & 0x07;
		} else {
			return false;
		}
		for (unsigned int i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		u += n + 1;
	}
	return true;
}

/*
 * A decimal number "12", "12.5" at *s, advancing *s: the value times
 * 10^@decimals in *ret.  -EINVAL when there is no number, -EDOM when it
 * has more than @decimals places, -ERANGE when it overflows.
 */
static int parse_decimal(const char **s, unsigned int decimals, uint64_t *ret)
{
	const char *c = *s;
	uint64_t v = 0;
	unsigned int places = 0;
	bool any = false;

	for (; is_digit(*c); c++) {
		if (v > (UINT64_MAX - 9u) / 10u)
			return -ERANGE;
		v = v * 10u + (uint64_t)(*c - '0');
		any = true;
	}
	if (*c == '.') {
		c++;
		if (!is_digit(*c))
			return -EINVAL;
		for (; is_digit(*c); c++) {
			if (++places > decimals)
				return -EDOM;
			if (v > (UINT64_MAX - 9u) / 10u)
				return -ERANGE;
			v = v * 10u + (uint64_t)(*c - '0');
			any = true;
		}
	}
	if (!any)
		return -EINVAL;
	for (; places < decimals; places++) {
		if (v > UINT64_MAX / 10u)
			return -ERANGE;
		v *= 10u;
	}
	*s = c;
	*ret = v;
	return 0;
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/*
 * A number with an optional unit: "45", "45Hz", "45 Hz".  The unit is
 * compared without case.  Returns as parse_decimal(); -EINVAL also for
 * anything after the number that is not @unit.
 */
static int parse_with_unit(const char *s, unsigned int decimals,
			   const char *const *units, uint64_t *ret)
{
	uint64_t v;
	int r;

	if (*s == '+' || *s == '-')
		return -EINVAL;
	r = parse_decimal(&s, decimals, &v);
	if (r < 0)
		return r;
	s = skip_space(s);
	if (*s) {
		bool ok = false;

		for (; units && *units && !ok; units++)
			ok = streq_nocase(s, *units);
		if (!ok)
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

int program_parse_freq_mhz(const char *s, uint32_t *ret_mhz)
{
	static const char *const units[] = { "Hz", NULL };
	uint64_t v;
	int r;

	if (!s || !ret_mhz)
		return -EINVAL;
	r = parse_with_unit(s, 3, units, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret_mhz = (uint32_t)v;
	return 0;
}

static const struct {
	const char *name;
	uint64_t ms;
} time_units[] = {
	{ "ms", 1 },		{ "msec", 1 },
	{ "s", 1000 },		{ "sec", 1000 },
	{ "second", 1000 },	{ "seconds", 1000 },
	{ "m", 60000 },		{ "min", 60000 },
	{ "minute", 60000 },	{ "minutes", 60000 },
	{ "h", 3600000 },	{ "hr", 3600000 },
	{ "hour", 3600000 },	{ "hours", 3600000 },
};

int program_parse_timespan_ms(const char *s, uint64_t *ret_ms)
{
	uint64_t total = 0;
	bool any = false;

	if (!s || !ret_ms)
		return -EINVAL;

	s = skip_space(s);
	while (*s) {
		uint64_t v, unit_ms = 1000, whole, frac, part;
		const char *w;
		size_t n;
		int r;

		if (!is_digit(*s) && *s != '.')
			return -EINVAL;
		/* Nanosecond resolution in the fraction, then rounded down. */
		r = parse_decimal(&s, 9, &v);
		if (r == -EDOM)
			return -EINVAL;
		if (r < 0)
			return r;
		s = skip_space(s);
		for (w = s; is_alpha(*w); w++)
			;
		n = (size_t)(w - s);
		if (n > 0) {
			size_t i;

			for (i = 0; i < sizeof(time_units) / sizeof(*time_units);
			     i++)
				if (strlen(time_units[i].name) == n &&
				    !strncmp(time_units[i].name, s, n))
					break;
			if (i == sizeof(time_units) / sizeof(*time_units))
				return -EINVAL;
			unit_ms = time_units[i].ms;
		} else if (*s) {
			/* Only the last number may go without a unit. */
			return -EINVAL;
		}
		s = skip_space(w);

		whole = v / 1000000000u;
		frac = v % 1000000000u;
		if (whole > UINT64_MAX / unit_ms)
			return -ERANGE;
		part = whole * unit_ms + frac * unit_ms / 1000000000u;
		if (total > UINT64_MAX - part)
			return -ERANGE;
		total += part;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret_ms = total;
	return 0;
}

bool program_name_is_valid(const char *name)
{
	size_t n;

	if (!name || !*name || *name == '-')
		return false;
	for (n = 0; name[n]; n++) {
		char c = name[n];

		if (n >= PROGRAM_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
			return false;
	}
	return true;
}

int program_name_from_path(const char *path, char *ret_name, size_t size)
{
	static const char suffix[] = ".program";
	const char *base, *slash;
	size_t n;

	if (!path || !ret_name)
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	n = strlen(base);
	if (n <= sizeof(suffix) - 1 ||
	    strcmp(base + n - (sizeof(suffix) - 1), suffix))
		return -EINVAL;
	n -= sizeof(suffix) - 1;
	if (n > PROGRAM_NAME_MAX)
		return -EINVAL;
	if (n + 1 > size)
		return -ENOBUFS;
	memcpy(ret_name, base, n);
	ret_name[n] = '\0';
	if (!program_name_is_valid(ret_name)) {
		ret_name[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

uint64_t program_step_scheduled_ms(const struct program_step *st, bool last)
{
	uint64_t t = st->duration_ms * st->repetitions +
		     st->rest_ms * (st->repetitions - 1);

	if (!last && st->advance == PROGRAM_ADVANCE_PAUSE)
		t += st->advance_pause_ms;
	return t;
}

static int set_text(struct parser *p, unsigned int line, const char *key,
		    const char *value, char *dst, size_t size)
{
	size_t n = strlen(value);

	if (n >= size)
		return fail(p, -E2BIG, line, key, value,
			    "longer than %zu bytes", size - 1);
	memcpy(dst, value, n + 1);
	return 0;
}

static int parse_timespan_key(struct parser *p, unsigned int line,
			      const char *key, const char *value,
			      uint64_t *ret)
{
	int r = program_parse_timespan_ms(value, ret);

	if (r == -ERANGE)
		return fail(p, -ERANGE, line, key, value, "number too large");
	if (r < 0)
		return fail(p, -EINVAL, line, key, value,
			    "not a time span; write e.g. 30s, 1min 30s or 90 (seconds)");
	return 0;
}

static int parse_uint_key(struct parser *p, unsigned int line, const char *key,
			  const char *value, uint64_t min, uint64_t max,
			  uint64_t *ret)
{
	const char *s = value;
	uint64_t v;
	int r;

	r = parse_decimal(&s, 0, &v);
	if (r == -ERANGE)
		return fail(p, -ERANGE, line, key, value, "number too large");
	if (r < 0 || *s)
		return fail(p, -EINVAL, line, key, value,
			    "not a whole number");
	if (v < min || v > max)
		return fail(p, -ERANGE, line, key, value,
			    "out of range %llu-%llu", (unsigned long long)min,
			    (unsigned long long)max);
	*ret = v;
	return 0;
}

static int check_frequency(struct parser *p, unsigned int line,
			   const char *key, const char *value, uint32_t mhz)
{
	const struct safety_limits *l = p->limits;
	enum safety_reason reason;
	char f[24], lo[24], hi[24];

	if (safety_check_target(l, mhz, 0, &reason) == 0)
		return 0;
	format_hz(f, mhz);
	format_hz(lo, l->min_freq_mhz);
	format_hz(hi, l->max_freq_mhz);
	switch (reason) {
	case SAFETY_REASON_CONTRACTION_BAND:
		return fail(p, -ERANGE, line, key, value,
			    "in the %u-%u Hz contraction band (the muscle contracts); therapy runs at %s-%s Hz",
			    SAFETY_CONTRACTION_MIN_FREQ_MHZ / 1000u,
			    SAFETY_CONTRACTION_MAX_FREQ_MHZ / 1000u, lo, hi);
	case SAFETY_REASON_ABOVE_ABSOLUTE:
		return fail(p, -ERANGE, line, key, value,
			    "above the absolute %u Hz limit; therapy runs at %s-%s Hz",
			    SAFETY_ABS_MAX_FREQ_MHZ / 1000u, lo, hi);
	case SAFETY_REASON_ABOVE_BAND:
		return fail(p, -ERANGE, line, key, value,
			    "above this station's band of %s-%s Hz", lo, hi);
	default:
		return fail(p, -ERANGE, line, key, value,
			    "below this station's band of %s-%s Hz", lo, hi);
	}
}

static int parse_program_key(struct parser *p, enum key k, unsigned int line,
			     const char *key, const char *value)
{
	struct program *prog = p->prog;
	uint64_t v;
	int r;

	switch (k) {
	case KEY_NAME:
		return set_text(p, line, key, value, prog->title,
				sizeof(prog->title));
	case KEY_DESCRIPTION:
		return set_text(p, line, key, value, prog->description,
				sizeof(prog->description));
	case KEY_SOURCE:
		return set_text(p, line, key, value, prog->source,
				sizeof(prog->source));
	case KEY_MAX_SESSION_MINUTES: {
		uint64_t max = p->limits->max_session_ms / 60000u;

		r = parse_uint_key(p, line, key, value, 1, UINT32_MAX, &v);
		if (r < 0)
			return r;
		if (v > max)
			return fail(p, -ERANGE, line, key, value,
				    "longer than this station's session limit of %llumin",
				    (unsigned long long)max);
		prog->max_session_ms = v * 60000u;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int parse_step_key(struct parser *p, enum key k, unsigned int line,
			  const char *key, const char *value)
{
	struct program_step *st = p->step;
	const struct safety_limits *l = p->limits;
	uint64_t v;
	size_t i;
	int r;

	switch (k) {
	case KEY_SITE:
		return set_text(p, line, key, value, st->site,
				sizeof(st->site));

	case KEY_TECHNIQUE:
		for (i = 0; i < _PROGRAM_TECHNIQUE_MAX; i++)
			if (!strcmp(value, technique_names[i])) {
				st->technique = (enum program_technique)i;
				return 0;
			}
		return fail(p, -EINVAL, line, key, value,
			    "unknown technique; expected vibration, pressure, stripping or compression");

	case KEY_FREQUENCY: {
		static const char *const units[] = { "Hz", NULL };

		r = parse_with_unit(value, 3, units, &v);
		if (r == -EDOM)
			return fail(p, -EINVAL, line, key, value,
				    "more than 3 decimal places");
		if (r == -ERANGE || (r == 0 && v > UINT32_MAX))
			return fail(p, -ERANGE, line, key, value,
				    "number too large");
		if (r < 0)
			return fail(p, -EINVAL, line, key, value,
				    "not a frequency; write e.g. 45Hz or 47.5");
		st->freq_mhz = (uint32_t)v;
		return check_frequency(p, line, key, value, st->freq_mhz);
	}

	case KEY_INTENSITY: {
		static const char *const units[] = { "%", NULL };

		if (p->key_line[KEY_AMPLITUDE])
			return fail(p, -EINVAL, line, key, value,
				    "Amplitude= already set on line %u; give Intensity= or Amplitude=, not both",
				    p->key_line[KEY_AMPLITUDE]);
		r = parse_with_unit(value, 1, units, &v);
		if (r == -EDOM)
			return fail(p, -EINVAL, line, key, value,
				    "more than 1 decimal place");
		if (r == -ERANGE)
			return fail(p, -ERANGE, line, key, value,
				    "number too large");
		if (r < 0)
			return fail(p, -EINVAL, line, key, value,
				    "not a percentage; write e.g. 40%%");
		if (v == 0 || v > SAFETY_PERMILLE_MAX)
			return fail(p, -ERANGE, line, key, value,
				    "out of range; intensity is above 0%% and at most 100%%");
		if (v > l->max_intensity_permille)
			return fail(p, -ERANGE, line, key, value,
				    "above this station's limit of %u.%u%%",
				    l->max_intensity_permille / 10u,
				    l->max_intensity_permille % 10u);
		st->intensity_permille = (uint32_t)v;
		return 0;
	}

	case KEY_AMPLITUDE: {
		static const char *const units[] = { "m/s^2", "m/s\xc2\xb2",
						     NULL };

		if (p->key_line[KEY_INTENSITY])
			return fail(p, -EINVAL, line, key, value,
				    "Intensity= already set on line %u; give Intensity= or Amplitude=, not both",
				    p->key_line[KEY_INTENSITY]);
		r = parse_with_unit(value, 3, units, &v);
		if (r == -EDOM)
			return fail(p, -EINVAL, line, key, value,
				    "more than 3 decimal places");
		if (r == -ERANGE)
			return fail(p, -ERANGE, line, key, value,
				    "number too large");
		if (r < 0)
			return fail(p, -EINVAL, line, key, value,
				    "not an acceleration; write e.g. 12.5m/s^2 (RMS)");
		if (v == 0 || v > PROGRAM_MAX_AMPLITUDE_MMS2)
			return fail(p, -ERANGE, line, key, value,
				    "out of range; amplitude is above 0 and at most %u m/s^2 RMS",
				    PROGRAM_MAX_AMPLITUDE_MMS2 / 1000u);
		st->amplitude_mms2 = (uint32_t)v;
		return 0;
	}

	case KEY_DURATION: {
		char max[32];

		r = parse_timespan_key(p, line, key, value, &v);
		if (r < 0)
			return r;
		if (v == 0)
			return fail(p, -ERANGE, line, key, value,
				    "a step must last longer than 0s");
		if (safety_check_step_duration(l, v, NULL) < 0) {
			format_ms(max, l->max_continuous_site_ms);
			return fail(p, -ERANGE, line, key, value,
				    "longer than the %s of continuous vibration this station allows on one site",
				    max);
		}
		st->duration_ms = v;
		return 0;
	}

	case KEY_REPETITIONS:
		r = parse_uint_key(p, line, key, value, 1,
				   PROGRAM_MAX_REPETITIONS, &v);
		if (r < 0)
			return r;
		st->repetitions = (uint32_t)v;
		return 0;

	case KEY_REST:
	case KEY_ADVANCE_PAUSE: {
		char max[32];

		r = parse_timespan_key(p, line, key, value, &v);
		if (r < 0)
			return r;
		if (v > PROGRAM_MAX_REST_MS) {
			format_ms(max, PROGRAM_MAX_REST_MS);
			return fail(p, -ERANGE, line, key, value,
				    "longer than %s", max);
		}
		if (k == KEY_REST) {
			st->rest_ms = v;
			return 0;
		}
		if (v == 0)
			return fail(p, -ERANGE, line, key, value,
				    "must be longer than 0s; use Advance=confirm to wait for the person");
		st->advance_pause_ms = v;
		return 0;
	}

	case KEY_ADVANCE:
		for (i = 0; i < _PROGRAM_ADVANCE_MAX; i++)
			if (!strcmp(value, advance_names[i])) {
				st->advance = (enum program_advance)i;
				return 0;
			}
		return fail(p, -EINVAL, line, key, value,
			    "expected button, client, confirm (button or client) or pause");

	default:
		return -EINVAL;
	}
}

/* Checks that need the whole section; the section's line is reported. */
static int finish_program_section(struct parser *p)
{
	if (!p->key_line[KEY_NAME])
		return fail(p, -EINVAL, p->program_line, NULL, NULL,
			    "[Program]: missing Name=");
	if (!p->key_line[KEY_SOURCE])
		return fail(p, -EINVAL, p->program_line, NULL, NULL,
			    "[Program]: missing Source=; cite where the protocol comes from");
	return 0;
}

static int finish_step_section(struct parser *p)
{
	struct program_step *st = p->step;
	struct program *prog = p->prog;
	const struct safety_limits *l = p->limits;
	static const enum key required[] = { KEY_SITE, KEY_TECHNIQUE,
					     KEY_FREQUENCY, KEY_DURATION };
	uint64_t vib, cap;
	char a[32], b[32];

	for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++)
		if (!p->key_line[required[i]])
			return fail(p, -EINVAL, st->line, NULL, NULL,
				    "[Step]: missing %s=",
				    keys[required[i]].name);
	if (!st->intensity_permille && !st->amplitude_mms2)
		return fail(p, -EINVAL, st->line, NULL, NULL,
			    "[Step]: missing Intensity= or Amplitude=");
	if (st->advance == PROGRAM_ADVANCE_PAUSE && !st->advance_pause_ms)
		return fail(p, -EINVAL, st->line, NULL, NULL,
			    "[Step]: Advance=pause needs AdvancePause=");
	if (st->advance != PROGRAM_ADVANCE_PAUSE &&
	    p->key_line[KEY_ADVANCE_PAUSE])
		return fail(p, -EINVAL, p->key_line[KEY_ADVANCE_PAUSE],
			    NULL, NULL,
			    "AdvancePause= only applies with Advance=pause");

	/* The safety monitor counts vibration on one site across repetitions. */
	vib = st->duration_ms * st->repetitions;
	if (safety_check_step_duration(l, vib, NULL) < 0) {
		format_ms(a, vib);
		format_ms(b, l->max_continuous_site_ms);
		return fail(p, -ERANGE,
			    p->key_line[KEY_REPETITIONS] ?
				    p->key_line[KEY_REPETITIONS] : st->line,
			    NULL, NULL,
			    "[Step]: %u repetitions vibrate %s on one site, more than the %s this station allows",
			    st->repetitions, a, b);
	}

	prog->total_vibration_ms += vib;
	cap = l->max_session_ms;
	if (prog->max_session_ms && prog->max_session_ms < cap)
		cap = prog->max_session_ms;
	if (safety_check_session_total(l, prog->total_vibration_ms, NULL) < 0 ||
	    prog->total_vibration_ms > cap) {
		format_ms(a, prog->total_vibration_ms);
		format_ms(b, cap);
		return fail(p, -ERANGE, st->line, NULL, NULL,
			    "[Step]: the program's vibration time reaches %s, more than the %s %s",
			    a, b,
			    cap == prog->max_session_ms ?
				    "MaxSessionMinutes= allows" :
				    "this station allows in one session");
	}
	return 0;
}

static int finish_section(struct parser *p)
{
	switch (p->section) {
	case SECTION_PROGRAM:
		return finish_program_section(p);
	case SECTION_STEP:
		return finish_step_section(p);
	default:
		return 0;
	}
}

static int parse_section(struct parser *p, unsigned int line, char *s)
{
	size_t n = strlen(s);
	int r;

	if (n < 2 || s[n - 1] != ']')
		return fail(p, -EINVAL, line, NULL, NULL,
			    "a section header must end with ']'");
	s[n - 1] = '\0';
	s++;

	r = finish_section(p);
	if (r < 0)
		return r;
	memset(p->key_line, 0, sizeof(p->key_line));

	if (!strcmp(s, "Program")) {
		if (p->program_line)
			return fail(p, -EINVAL, line, NULL, NULL,
				    "[Program] already given on line %u",
				    p->program_line);
		p->program_line = line;
		p->section = SECTION_PROGRAM;
		return 0;
	}
	if (!strcmp(s, "Step")) {
		if (!p->program_line)
			return fail(p, -EINVAL, line, NULL, NULL,
				    "[Step] before [Program]; the file starts with [Program]");
		if (p->prog->n_steps >= PROGRAM_MAX_STEPS)
			return fail(p, -E2BIG, line, NULL, NULL,
				    "more than %u steps", PROGRAM_MAX_STEPS);
		p->step = &p->prog->steps[p->prog->n_steps++];
		*p->step = (struct program_step){
			.repetitions = 1,
			.advance = PROGRAM_ADVANCE_CONFIRM,
			.line = line,
		};
		p->section = SECTION_STEP;
		return 0;
	}

	for (const char *c = s; *c; c++)
		if (!is_alpha(*c) && !is_digit(*c))
			return fail(p, -EINVAL, line, NULL, NULL,
				    "not a section name; expected [Program] or [Step]");
	return fail(p, -EINVAL, line, NULL, NULL,
		    "[%s]: unknown section; expected [Program] or [Step]", s);
}

static int parse_assignment(struct parser *p, unsigned int line, char *s)
{
	char *eq = strchr(s, '='), *key = s, *value, *end;
	enum key k;

	if (!eq || eq == s)
		return fail(p, -EINVAL, line, NULL, NULL,
			    "expected Key=Value, [Program] or [Step]");
	value = (char *)skip_space(eq + 1);
	for (end = eq; end > key && is_space(end[-1]); end--)
		;
	*end = '\0';
	for (const char *c = key; *c; c++)
		if (!is_alpha(*c) && !is_digit(*c))
			return fail(p, -EINVAL, line, NULL, NULL,
				    "expected Key=Value with a key of letters and digits");

	for (k = 0; k < _KEY_MAX; k++)
		if (!strcmp(keys[k].name, key))
			break;

	if (p->section == SECTION_NONE)
		return fail(p, -EINVAL, line, key, value,
			    "outside of any section; the file starts with [Program]");

	if (k == _KEY_MAX || keys[k].section != p->section) {
		const char *in = p->section == SECTION_PROGRAM ? "[Program]" :
								 "[Step]";

		for (k = 0; k < _KEY_MAX; k++)
			if (keys[k].section == p->section &&
			    streq_nocase(keys[k].name, key))
				return fail(p, -EINVAL, line, key, value,
					    "unknown key in %s; did you mean %s=?",
					    in, keys[k].name);
		for (k = 0; k < _KEY_MAX; k++)
			if (!strcmp(keys[k].name, key))
				return fail(p, -EINVAL, line, key, value,
					    "belongs in [%s], not in %s",
					    keys[k].section == SECTION_PROGRAM ?
						    "Program" : "Step",
					    in);
		return fail(p, -EINVAL, line, key, value, "unknown key in %s",
			    in);
	}

	if (p->key_line[k])
		return fail(p, -EINVAL, line, key, value,
			    "%s= already set on line %u", key, p->key_line[k]);
	if (!*value)
		return fail(p, -EINVAL, line, key, value, "empty value");
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(p, -EINVAL, line, key, NULL,
				    "the value contains a control character");
		else if (*c == 0x7f)
			return fail(p, -EINVAL, line, key, NULL,
				    "the value contains a control character");
	if (!utf8_valid(value))
		return fail(p, -EINVAL, line, key, NULL,
			    "the value is not valid UTF-8");

	p->key_line[k] = line;
	if (p->section == SECTION_PROGRAM)
		return parse_program_key(p, k, line, key, value);
	return parse_step_key(p, k, line, key, value);
}

static int parse_line(struct parser *p, unsigned int line, char *s)
{
	size_t n;

	s = (char *)skip_space(s);
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	if (n == 0 || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return parse_section(p, line, s);
	return parse_assignment(p, line, s);
}

int program_parse(struct program *ret, const char *data, size_t size,
		  const char *file_name, const struct safety_limits *limits,
		  struct program_error *ret_error)
{
	struct parser p = {
		.prog = ret,
		.file = file_name ? file_name : "(program)",
		.limits = limits,
		.err = ret_error,
	};
	char buf[LINE_MAX_BYTES];
	unsigned int line = 0;
	size_t pos = 0;
	int r;

	if (ret_error)
		*ret_error = (struct program_error){ 0 };
	if (!ret || (!data && size) || !limits)
		return fail(&p, -EINVAL, 0, NULL, NULL, "invalid arguments");
	if (safety_limits_validate(limits, NULL) < 0)
		return fail(&p, -EINVAL, 0, NULL, NULL,
			    "the station's safety limits are not valid");
	*ret = (struct program){ 0 };
	if (size > PROGRAM_MAX_FILE_SIZE)
		return fail(&p, -EFBIG, 0, NULL, NULL,
			    "larger than %u bytes; not a program",
			    PROGRAM_MAX_FILE_SIZE);

	while (pos < size) {
		const char *start = data + pos, *nl;
		size_t n;

		nl = memchr(start, '\n', size - pos);
		n = nl ? (size_t)(nl - start) : size - pos;
		pos += n + (nl ? 1 : 0);
		line++;

		if (memchr(start, '\0', n))
			return fail(&p, -EINVAL, line, NULL, NULL,
				    "contains a NUL byte; not a text file");
		/* CRLF line ends are accepted. */
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n >= sizeof(buf))
			return fail(&p, -E2BIG, line, NULL, NULL,
				    "line longer than %zu bytes",
				    sizeof(buf) - 1);
		memcpy(buf, start, n);
		buf[n] = '\0';
		/* Editors on some systems start a UTF-8 file with a BOM. */
		if (line == 1 && n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
			memmove(buf, buf + 3, n - 2);

		r = parse_line(&p, line, buf);
		if (r < 0)
			return r;
	}

	r = finish_section(&p);
	if (r < 0)
		return r;
	if (!p.program_line)
		return fail(&p, -EINVAL, 0, NULL, NULL,
			    "no [Program] section; a program starts with [Program] and Name=");
	if (ret->n_steps == 0)
		return fail(&p, -EINVAL, 0, NULL, NULL,
			    "no [Step] section; a program needs at least one step");
	return 0;
}
