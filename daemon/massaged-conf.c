// SPDX-License-Identifier: MIT
/*
 * massaged-conf.c - a small INI parser for massaged.conf
 *
 * The format is the systemd one, reduced: "[Section]" headers, "Key=Value"
 * lines, "#" or ";" comment lines, blank lines. Unknown sections and keys
 * are errors rather than warnings: a misspelt safety limit must not be
 * silently ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "massaged-conf.h"

enum conf_type {
	CONF_INT,		/* int */
	CONF_U32,		/* uint32_t, value * scale */
	CONF_U64,		/* uint64_t */
	CONF_BOOL,
	CONF_FREQ_MHZ,		/* "45" or "45.5" Hz -> uint32_t mHz */
	CONF_STRING,		/* char[MASSAGED_LINE_NAME_MAX] */
	CONF_LOST_CONTACT,	/* "pause" | "stop" -> bool */
};

struct conf_key {
	const char *section;
	const char *key;
	enum conf_type type;
	size_t offset;
	uint64_t min, max;	/* before scaling */
	uint32_t scale;
};

#define C(f) offsetof(struct massaged_config, f)
#define L(f) (offsetof(struct massaged_config, limits) + \
	      offsetof(struct safety_limits, f))

static const struct conf_key conf_keys[] = {
	{ "Control", "Priority", CONF_INT, C(priority), 1, 99, 1 },
	{ "Control", "PeriodUSec", CONF_U32, C(period_us), 250, 10000, 1 },
	{ "Control", "SampleRate", CONF_U32, C(sample_rate_hz), 100, 3200, 1 },
	{ "Control", "AllowDegraded", CONF_BOOL, C(allow_degraded), 0, 0, 0 },
	{ "Control", "CalibrateAtStart", CONF_BOOL, C(calibrate_at_start),
	  0, 0, 0 },
	{ "Control", "DefaultFrequency", CONF_FREQ_MHZ, C(default_freq_mhz),
	  SAFETY_ABS_MIN_FREQ_MHZ, SAFETY_ABS_MAX_FREQ_MHZ, 1 },
	{ "Control", "DefaultIntensity", CONF_U32,
	  C(default_intensity_permille), 1, 1000, 1 },
	{ "Safety", "MinFrequency", CONF_FREQ_MHZ, L(min_freq_mhz),
	  SAFETY_ABS_MIN_FREQ_MHZ, SAFETY_ABS_MAX_FREQ_MHZ, 1 },
	{ "Safety", "MaxFrequency", CONF_FREQ_MHZ, L(max_freq_mhz),
	  SAFETY_ABS_MIN_FREQ_MHZ, SAFETY_ABS_MAX_FREQ_MHZ, 1 },
	{ "Safety", "MaxIntensity", CONF_U32, L(max_intensity_permille),
	  1, 1000, 1 },
	{ "Safety", "ThermalTauSec", CONF_U32, L(thermal_tau_ms),
	  1, 3600, 1000 },
	{ "Safety", "ThermalTripSec", CONF_U32, L(thermal_trip_full_ms),
	  1, 7200, 1000 },
	{ "Safety", "ThermalResumePermille", CONF_U32,
	  L(thermal_resume_permille), 1, 999, 1 },
	{ "Safety", "MaxSiteSec", CONF_U32, L(max_continuous_site_ms),
	  1, SAFETY_ABS_MAX_SITE_MS / 1000, 1000 },
	{ "Safety", "MaxSessionSec", CONF_U32, L(max_session_ms),
	  1, SAFETY_ABS_MAX_SESSION_MS / 1000, 1000 },
	{ "Safety", "SensorLossMSec", CONF_U32, L(sensor_loss_ms),
	  1, SAFETY_ABS_MAX_SENSOR_LOSS_MS, 1 },
	{ "Safety", "WarmupMSec", CONF_U32, L(warmup_ms),
	  1, SAFETY_ABS_MAX_WARMUP_MS, 1 },
	{ "Safety", "StallMSec", CONF_U32, L(stall_ms),
	  1, SAFETY_ABS_MAX_STALL_MS, 1 },
	{ "Safety", "OverspeedMSec", CONF_U32, L(overspeed_grace_ms),
	  1, SAFETY_ABS_MAX_OVERSPEED_MS, 1 },
	{ "Safety", "LostContact", CONF_LOST_CONTACT, L(lost_contact_pause),
	  0, 0, 0 },
	{ "Handset", "ButtonLine", CONF_STRING, C(button_line), 0, 0, 0 },
	{ "Handset", "RunLedLine", CONF_STRING, C(run_led_line), 0, 0, 0 },
	{ "Handset", "FaultLedLine", CONF_STRING, C(fault_led_line), 0, 0, 0 },
	/* 100 years: beyond any retention a law asks for. */
	{ "History", "KeepDays", CONF_U32, C(keep_days), 0, 36500, 1 },
	{ "Simulation", "Seed", CONF_U64, C(sim_seed), 0, UINT64_MAX, 1 },
};

void massaged_config_default(struct massaged_config *c)
{
	*c = (struct massaged_config) {
		.priority = MASSAGED_PRIORITY_DEFAULT,
		.period_us = 1000,
		.sample_rate_hz = 3200,
		.allow_degraded = false,
		.calibrate_at_start = true,
		.default_freq_mhz = 45000,
		.default_intensity_permille = 800,
		.button_line = "massager-button",
		.run_led_line = "massager-run-led",
		.fault_led_line = "massager-fault-led",
		.sim_seed = 1,
	};
	safety_limits_default(&c->limits);
}

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Unsigned decimal, digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* "45", "45.5", "45.125" Hz -> milli-hertz. */
static int parse_freq_mhz(const char *s, uint64_t *ret)
{
	char whole[24];
	const char *dot = strchr(s, '.');
	uint64_t w, frac = 0;
	size_t n;
	int r, i;

	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof(whole))
		return -EINVAL;
	memcpy(whole, s, n);
	whole[n] = '\0';
	r = parse_u64(whole, &w);
	if (r < 0)
		return r;
	if (w > 1000000)
		return -ERANGE;
	if (dot) {
		const char *f = dot + 1;

		if (!*f || strlen(f) > 3)
			return -EINVAL;
		for (i = 0; i < 3; i++) {
			frac *= 10;
			if (*f) {
				if (*f < '0' || *f > '9')
					return -EINVAL;
				frac += (uint64_t)(*f++ - '0');
			}
		}
	}
	*ret = w * 1000 + frac;
	return 0;
}

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int conf_assign(struct massaged_config *c, const struct conf_key *k,
		       const char *value, const char *name, unsigned int line)
{
	void *p = (char *)c + k->offset;
	uint64_t v;
	bool b;
	int r;

	switch (k->type) {
	case CONF_BOOL:
		r = parse_bool(value, &b);
		if (r < 0)
			return log_error_errno(r, "%s:%u: %s=%s is not a boolean (yes/no).",
					       name, line, k->key, value);
		*(bool *)p = b;
		return 0;
	case CONF_LOST_CONTACT:
		if (strcmp(value, "pause") == 0)
			*(bool *)p = true;
		else if (strcmp(value, "stop") == 0)
			*(bool *)p = false;
		else
			return log_error_errno(-EINVAL, "%s:%u: %s=%s: expected \"pause\" or \"stop\".",
					       name, line, k->key, value);
		return 0;
	case CONF_STRING:
		if (strlen(value) >= MASSAGED_LINE_NAME_MAX)
			return log_error_errno(-ERANGE, "%s:%u: %s= is longer than %d characters.",
					       name, line, k->key,
					       MASSAGED_LINE_NAME_MAX - 1);
		strcpy(p, value);
		return 0;
	case CONF_FREQ_MHZ:
		r = parse_freq_mhz(value, &v);
		if (r < 0)
			return log_error_errno(r, "%s:%u: %s=%s is not a frequency in Hz (e.g. 45 or 45.5).",
					       name, line, k->key, value);
		if (v < k->min || v > k->max)
			return log_error_errno(-ERANGE, "%s:%u: %s=%s is outside %llu..%llu Hz.",
					       name, line, k->key, value,
					       (unsigned long long)k->min / 1000,
					       (unsigned long long)k->max / 1000);
		*(uint32_t *)p = (uint32_t)v;
		return 0;
	case CONF_INT:
	case CONF_U32:
	case CONF_U64:
		r = parse_u64(value, &v);
		if (r < 0)
			return log_error_errno(r, "%s:%u: %s=%s is not a whole number.",
					       name, line, k->key, value);
		if (k->offset == C(priority) && v >= MASSAGED_KERNEL_RT_PRIORITY &&
		    v <= k->max)
			return log_error_errno(-ERANGE, "%s:%u: %s=%s is at or above %d, the priority of the kernel threads that finish a motor stop: a runaway control loop would hold them off. Use 1..%d.",
					       name, line, k->key, value,
					       MASSAGED_KERNEL_RT_PRIORITY,
					       MASSAGED_PRIORITY_MAX);
		if (v < k->min || v > k->max)
			return log_error_errno(-ERANGE, "%s:%u: %s=%s is outside %llu..%llu.",
					       name, line, k->key, value,
					       (unsigned long long)k->min,
					       (unsigned long long)k->max);
		if (k->type == CONF_INT)
			*(int *)p = (int)v;
		else if (k->type == CONF_U32)
			*(uint32_t *)p = (uint32_t)(v * k->scale);
		else
			*(uint64_t *)p = v;
		return 0;
	}
	return -EINVAL;
}

static int conf_parse_line(struct massaged_config *c, char *l,
			   char *section, size_t section_size,
			   const char *name, unsigned int line)
{
	char *eq, *key, *value, *end;
	size_t i;

	l = strip(l);
	if (!*l || *l == '#' || *l == ';')
		return 0;
	if (*l == '[') {
		end = strchr(l, ']');
		if (!end || end[1] != '\0')
			return log_error_errno(-EINVAL, "%s:%u: malformed section header \"%s\".",
					       name, line, l);
		*end = '\0';
		for (i = 0; i < ARRAY_SIZE(conf_keys); i++)
			if (strcmp(conf_keys[i].section, l + 1) == 0)
				break;
		if (i == ARRAY_SIZE(conf_keys))
			return log_error_errno(-EINVAL, "%s:%u: unknown section [%s].",
					       name, line, l + 1);
		snprintf(section, section_size, "%s", l + 1);
		return 0;
	}
	eq = strchr(l, '=');
	if (!eq)
		return log_error_errno(-EINVAL, "%s:%u: expected Key=Value, got \"%s\".",
				       name, line, l);
	*eq = '\0';
	key = strip(l);
	value = strip(eq + 1);
	if (!*section)
		return log_error_errno(-EINVAL, "%s:%u: %s= appears before any [Section].",
				       name, line, key);
	for (i = 0; i < ARRAY_SIZE(conf_keys); i++)
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].key, key) == 0)
			return conf_assign(c, &conf_keys[i], value, name, line);
	return log_error_errno(-EINVAL, "%s:%u: unknown key %s= in [%s].",
			       name, line, key, section);
}

static int conf_parse_file(struct massaged_config *c, FILE *f,
			   const char *name)
{
	char section[32] = "";
	char buf[512];
	unsigned int line = 0;
	int r, ret = 0;

	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (!strchr(buf, '\n') && !feof(f))
			return log_error_errno(-EINVAL, "%s:%u: line longer than %zu characters.",
					       name, line, sizeof(buf) - 2);
		r = conf_parse_line(c, buf, section, sizeof(section), name,
				    line);
		/* Report every bad line, then fail. */
		if (r < 0 && ret == 0)
			ret = r;
	}
	if (ferror(f))
		return log_error_errno(-EIO, "%s: read error.", name);
	return ret;
}

int massaged_config_parse(struct massaged_config *c, const char *path,
			  bool optional)
{
	_cleanup_(fclosep) FILE *f = NULL;
	int r;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && optional) {
			log_debug("No %s, using the defaults.", path);
			return 0;
		}
		return log_error_errno(-errno, "Failed to open configuration file %s: %m",
				       path);
	}
	r = conf_parse_file(c, f, path);
	if (r < 0)
		return r;
	return massaged_config_validate(c, path);
}

int massaged_config_parse_string(struct massaged_config *c, const char *name,
				 const char *text)
{
	_cleanup_(fclosep) FILE *f = NULL;
	int r;

	/* fmemopen() refuses a zero-sized buffer: an empty file is fine. */
	if (!*text)
		return massaged_config_validate(c, name);
	f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return -errno;
	r = conf_parse_file(c, f, name);
	if (r < 0)
		return r;
	return massaged_config_validate(c, name);
}

/* Map a struct safety_limits field name back to its configuration key. */
static const char *limit_key(const char *field)
{
	static const struct {
		const char *field, *key;
	} map[] = {
		{ "min_freq_mhz", "MinFrequency" },
		{ "max_freq_mhz", "MaxFrequency" },
		{ "max_intensity_permille", "MaxIntensity" },
		{ "thermal_tau_ms", "ThermalTauSec" },
		{ "thermal_trip_full_ms", "ThermalTripSec" },
		{ "thermal_resume_permille", "ThermalResumePermille" },
		{ "max_continuous_site_ms", "MaxSiteSec" },
		{ "max_session_ms", "MaxSessionSec" },
		{ "sensor_loss_ms", "SensorLossMSec" },
		{ "warmup_ms", "WarmupMSec" },
		{ "stall_ms", "StallMSec" },
		{ "overspeed_grace_ms", "OverspeedMSec" },
	};
	size_t i;

	for (i = 0; field && i < ARRAY_SIZE(map); i++)
		if (strcmp(map[i].field, field) == 0)
			return map[i].key;
	return field ?: "?";
}

int massaged_config_validate(const struct massaged_config *c,
			     const char *path)
{
	const char *field = NULL;
	enum safety_reason reason;
	int r;

	r = safety_limits_validate(&c->limits, &field);
	if (r < 0)
		return log_error_errno(r, "%s: [Safety] %s= is not acceptable (%s).",
				       path, limit_key(field),
				       r == -ERANGE ? "beyond the absolute safety limits" :
						      "zero, or contradicts another key");
	r = safety_check_target(&c->limits, c->default_freq_mhz,
				c->default_intensity_permille, &reason);
	if (r < 0)
		return log_error_errno(r, "%s: [Control] DefaultFrequency=/DefaultIntensity= refused: %s.",
				       path, safety_reason_to_string(reason));
	if (1000000u / c->period_us > c->sample_rate_hz)
		return log_error_errno(-EINVAL, "%s: [Control] PeriodUSec=%u is shorter than one sample at SampleRate=%u.",
				       path, c->period_us, c->sample_rate_hz);
	return 0;
}
