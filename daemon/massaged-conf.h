/* SPDX-License-Identifier: MIT */
/*
 * massaged-conf.h - /etc/massaged/massaged.conf: every setting the daemon
 * reads, its default, and the parser. docs/massaged.conf.md documents each
 * key; keep the two in step.
 */
#ifndef MASSAGED_CONF_H
#define MASSAGED_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "safety.h"

#define MASSAGED_CONF_PATH "/etc/massaged/massaged.conf"
#define MASSAGED_LINE_NAME_MAX 32

/*
 * The kernel finishes a motor stop in SCHED_FIFO threads at priority 50
 * (the e-stop's IRQ thread, massager.ko's "massager.N-stop" worker, which
 * sched_set_fifo() puts there). The control thread stays below them, so that
 * a control loop that runs away cannot hold off the end of a stop; the
 * motor itself is cut in hard interrupt context whatever runs.
 */
#define MASSAGED_KERNEL_RT_PRIORITY 50
#define MASSAGED_PRIORITY_MAX (MASSAGED_KERNEL_RT_PRIORITY - 1)
#define MASSAGED_PRIORITY_DEFAULT 40

struct massaged_config {
	/* [Control] */
	int priority;			/* SCHED_FIFO 1..MASSAGED_PRIORITY_MAX */
	uint32_t period_us;		/* control period, 250..10000 */
	uint32_t sample_rate_hz;	/* accelerometer rate, 100..3200 */
	bool allow_degraded;		/* run without SCHED_FIFO / mlock */
	bool calibrate_at_start;	/* no stored calibration: measure one */
	uint32_t default_freq_mhz;	/* handset button start */
	uint32_t default_intensity_permille;
	/* [Safety] */
	struct safety_limits limits;
	/* [Handset] */
	char button_line[MASSAGED_LINE_NAME_MAX];
	char run_led_line[MASSAGED_LINE_NAME_MAX];
	char fault_led_line[MASSAGED_LINE_NAME_MAX];
	/* [History] */
	uint32_t keep_days;		/* retention; 0: keep everything */
	/* [Simulation] */
	uint64_t sim_seed;
};

void massaged_config_default(struct massaged_config *c);

/*
 * Parse @path into @c (keys absent from the file keep their value). A
 * missing file is not an error when @optional. Errors are logged with the
 * file, the line and the key; returns 0 or a negative errno (-EINVAL for
 * a bad line, key or value, -ERANGE for a value outside its range).
 */
int massaged_config_parse(struct massaged_config *c, const char *path,
			  bool optional);

/* Parse a config from memory, for tests and fuzzing; @name is for logs. */
int massaged_config_parse_string(struct massaged_config *c, const char *name,
				 const char *text);

/* Cross-field checks after parsing and command-line overrides. */
int massaged_config_validate(const struct massaged_config *c,
			     const char *path);

#endif
