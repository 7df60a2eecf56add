/* SPDX-License-Identifier: MIT */
/*
 * test-hooks.h - fault hooks for the full-system test (tests/vm/system/),
 * off unless the environment has MASSAGED_TEST_HOOKS=1. The shipped unit
 * never sets it; the test guest does, in a drop-in.
 *
 *	SIGUSR2		the main loop hangs for good (sd-event blocked in a
 *			handler), so WATCHDOG=1 stops and systemd must kill
 *			and restart the daemon
 */
#ifndef MASSAGED_TEST_HOOKS_H
#define MASSAGED_TEST_HOOKS_H

/*
 * Call from main() before any thread exists (so that every thread
 * inherits SIGUSR2 blocked) and before the Manager takes the thread's
 * default sd_event. 0 (also when off) or a negative errno.
 */
int test_hooks_install(void);

#endif
