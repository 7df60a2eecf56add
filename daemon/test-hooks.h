/* SPDX-License-Identifier: MIT */
/*
 * test-hooks.h - fault hooks for the full-system test (tests/vm/system/),
 * off unless the environment has MASSAGED_TEST_HOOKS=1. The shipped unit
 * never sets it; the test guest does, in a drop-in.
 *
 *	SIGUSR2		the main loop hangs for good (sd-event blocked in a
 *			handler), so WATCHDOG=1 stops and systemd must kill
 *			and restart the daemon
 *	MASSAGED_TEST_ERASE_STALL=deleted|committed
 *			an erase (or a retention pass) hangs the main loop
 *			for good at that stage (history_set_erase_hook()),
 *			for a test to kill -9 it there
 *	MASSAGED_TEST_RETENTION_PERIOD_SEC=N
 *			KeepDays= is applied every N seconds, not daily
 */
#ifndef MASSAGED_TEST_HOOKS_H
#define MASSAGED_TEST_HOOKS_H

#include <stdint.h>

#include "history.h"

/*
 * Call from main() before any thread exists (so that every thread
 * inherits SIGUSR2 blocked) and before the Manager takes the thread's
 * default sd_event. 0 (also when off) or a negative errno.
 */
int test_hooks_install(void);

/* The MASSAGED_TEST_ERASE_STALL hook, or NULL. */
history_erase_hook test_hooks_erase_hook(void);
/* MASSAGED_TEST_RETENTION_PERIOD_SEC in usec, or @period_usec. */
uint64_t test_hooks_retention_period_usec(uint64_t period_usec);

#endif
