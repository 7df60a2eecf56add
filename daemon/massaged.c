// SPDX-License-Identifier: MIT
/*
 * massaged.c - the massager control daemon: command line, configuration,
 * signals, then the Manager's event loop
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "massaged-conf.h"
#include "massaged-manager.h"
#include "test-hooks.h"

#ifndef MASSAGED_VERSION
#define MASSAGED_VERSION "0.1"
#endif

static void help(void)
{
	printf("massaged [OPTIONS...]\n\n"
	       "Controls a therapeutic vibration massager: holds the vibration\n"
	       "frequency in a real-time loop and stops the motor on any fault.\n\n"
	       "  -h --help                Show this help\n"
	       "     --version             Show the version\n"
	       "  -c --config=PATH         Configuration file (default %s)\n"
	       "     --simulate            Run against a simulated massager\n"
	       "  -p --priority=N          SCHED_FIFO priority of the control loop, 1..49\n"
	       "     --period-us=US        Control period in microseconds, 250..10000\n"
	       "     --sample-rate=HZ      Accelerometer sample rate, 100..3200\n"
	       "     --allow-degraded      Run without real-time scheduling if refused\n"
	       "     --control-socket=PATH Debug/test command socket (see massaged(8))\n"
	       "     --no-calibrate        Do not calibrate at start without a stored curve\n"
	       "  -d --debug               Log debug messages\n\n"
	       "See massaged(8) and massaged.conf(5) (docs/massaged.conf.md).\n",
	       MASSAGED_CONF_PATH);
}

enum {
	ARG_VERSION = 0x100,
	ARG_SIMULATE,
	ARG_PERIOD_US,
	ARG_SAMPLE_RATE,
	ARG_ALLOW_DEGRADED,
	ARG_CONTROL_SOCKET,
	ARG_NO_CALIBRATE,
};

static int parse_number(const char *opt, const char *s, long min, long max,
			long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max)
		return log_error_errno(-EINVAL, "Invalid %s=%s: expected a whole number %ld..%ld.",
				       opt, s, min, max);
	*ret = v;
	return 0;
}

struct cmdline {
	struct manager_options opts;
	bool explicit_config;
	bool allow_degraded;
	bool no_calibrate;
};

/* 0 to run, 1 to exit successfully (--help), or a negative errno. */
static int parse_argv(int argc, char *argv[], struct cmdline *c)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "config", required_argument, NULL, 'c' },
		{ "simulate", no_argument, NULL, ARG_SIMULATE },
		{ "priority", required_argument, NULL, 'p' },
		{ "period-us", required_argument, NULL, ARG_PERIOD_US },
		{ "sample-rate", required_argument, NULL, ARG_SAMPLE_RATE },
		{ "allow-degraded", no_argument, NULL, ARG_ALLOW_DEGRADED },
		{ "control-socket", required_argument, NULL, ARG_CONTROL_SOCKET },
		{ "no-calibrate", no_argument, NULL, ARG_NO_CALIBRATE },
		{ "debug", no_argument, NULL, 'd' },
		{}
	};
	long v;
	int o, r;

	c->opts = (struct manager_options) {
		.config_path = MASSAGED_CONF_PATH,
		.priority = -1,
		.period_us = -1,
		.sample_rate_hz = -1,
	};
	while ((o = getopt_long(argc, argv, "hc:p:d", options, NULL)) >= 0) {
		switch (o) {
		case 'h':
			help();
			return 1;
		case ARG_VERSION:
			printf("massaged %s\n", MASSAGED_VERSION);
			return 1;
		case 'c':
			c->opts.config_path = optarg;
			c->explicit_config = true;
			break;
		case ARG_SIMULATE:
			c->opts.simulate = true;
			break;
		case 'p':
			r = parse_number("--priority", optarg, 1, 99, &v);
			if (r < 0)
				return r;
			if (v >= MASSAGED_KERNEL_RT_PRIORITY)
				return log_error_errno(-EINVAL, "Invalid --priority=%s: at or above %d, the priority of the kernel threads that finish a motor stop, a runaway control loop would hold them off. Use 1..%d.",
						       optarg,
						       MASSAGED_KERNEL_RT_PRIORITY,
						       MASSAGED_PRIORITY_MAX);
			c->opts.priority = (int)v;
			break;
		case ARG_PERIOD_US:
			r = parse_number("--period-us", optarg, 250, 10000, &v);
			if (r < 0)
				return r;
			c->opts.period_us = (int)v;
			break;
		case ARG_SAMPLE_RATE:
			r = parse_number("--sample-rate", optarg, 100, 3200, &v);
			if (r < 0)
				return r;
			c->opts.sample_rate_hz = (int)v;
			break;
		case ARG_ALLOW_DEGRADED:
			c->allow_degraded = true;
			break;
		case ARG_CONTROL_SOCKET:
			c->opts.control_socket = optarg;
			break;
		case ARG_NO_CALIBRATE:
			c->no_calibrate = true;
			break;
		case 'd':
			log_set_max_level(LOG_DEBUG);
			break;
		case '?':
			return -EINVAL;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument \"%s\"; see --help.",
				       argv[optind]);
	return 0;
}

int main(int argc, char *argv[])
{
	_cleanup_(manager_freep) Manager *m = NULL;
	struct massaged_config cfg;
	struct cmdline c = { 0 };
	sigset_t ss;
	int r;

	r = parse_argv(argc, argv, &c);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;

	massaged_config_default(&cfg);
	r = massaged_config_parse(&cfg, c.opts.config_path, !c.explicit_config);
	if (r < 0)
		return EXIT_FAILURE;
	if (c.opts.priority > 0)
		cfg.priority = c.opts.priority;
	if (c.opts.period_us > 0)
		cfg.period_us = (uint32_t)c.opts.period_us;
	if (c.opts.sample_rate_hz > 0)
		cfg.sample_rate_hz = (uint32_t)c.opts.sample_rate_hz;
	if (c.allow_degraded)
		cfg.allow_degraded = true;
	if (c.no_calibrate)
		cfg.calibrate_at_start = false;
	r = massaged_config_validate(&cfg, "command line");
	if (r < 0)
		return EXIT_FAILURE;

	/*
	 * Block the signals sd-event handles before any thread exists, so
	 * that the control thread inherits the mask and never takes them.
	 */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0) {
		log_error_errno(-errno, "Failed to block signals: %m");
		return EXIT_FAILURE;
	}

	if (test_hooks_install() < 0)
		return EXIT_FAILURE;
	r = manager_new(&m, &cfg, &c.opts);
	if (r < 0)
		return EXIT_FAILURE;
	r = manager_startup(m);
	if (r < 0) {
		sd_notifyf(false, "STATUS=Failed to start: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	r = manager_run(m);
	if (r < 0) {
		log_error_errno(r, "Event loop failed: %m");
		return EXIT_FAILURE;
	}
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
