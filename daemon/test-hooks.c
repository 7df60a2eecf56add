// SPDX-License-Identifier: MIT
/*
 * test-hooks.c - test-only fault hooks, see test-hooks.h
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "macro.h"
#include "test-hooks.h"

/*
 * Hang the event loop from inside it: pause() with every signal sd-event
 * handles blocked never returns, so no timer (the WATCHDOG=1 ping among
 * them) runs again. Only the watchdog's SIGABRT (or SIGKILL) ends it.
 */
static int hang_main_loop(sd_event_source *s _unused_,
			  const struct signalfd_siginfo *si _unused_,
			  void *userdata _unused_)
{
	log_warning("Test hook: SIGUSR2 received, hanging the main loop for good.");
	for (;;)
		pause();
	return 0;
}

int test_hooks_install(void)
{
	/*
	 * Held for the life of the process: the Manager's sd_event_default()
	 * then returns this same loop, with our source on it.
	 */
	static sd_event *event;
	const char *e = getenv("MASSAGED_TEST_HOOKS");
	sigset_t ss;
	int r;

	if (!e || strcmp(e, "1") != 0)
		return 0;

	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
		return log_error_errno(-errno, "Failed to block SIGUSR2: %m");
	/* The thread's default loop, the one the Manager takes later. */
	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the event loop: %m");
	/* Floating: owned by the loop. */
	r = sd_event_add_signal(event, NULL, SIGUSR2, hang_main_loop, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to add the SIGUSR2 test hook: %m");
	log_warning("MASSAGED_TEST_HOOKS=1: test fault hooks armed (SIGUSR2 hangs the main loop).");
	return 0;
}

static bool test_hooks_armed(void)
{
	const char *e = getenv("MASSAGED_TEST_HOOKS");

	return e && strcmp(e, "1") == 0;
}

/* Hang in the middle of an erase, where MASSAGED_TEST_ERASE_STALL says. */
static void erase_stall(const char *stage, void *userdata _unused_)
{
	const char *at = getenv("MASSAGED_TEST_ERASE_STALL");

	if (!at || strcmp(at, stage) != 0)
		return;
	log_warning("Test hook: erase stalled at \"%s\" for good.", stage);
	for (;;)
		pause();
}

history_erase_hook test_hooks_erase_hook(void)
{
	if (!test_hooks_armed() || !getenv("MASSAGED_TEST_ERASE_STALL"))
		return NULL;
	return erase_stall;
}

uint64_t test_hooks_retention_period_usec(uint64_t period_usec)
{
	const char *e = getenv("MASSAGED_TEST_RETENTION_PERIOD_SEC");
	unsigned long v;
	char *end;

	if (!test_hooks_armed() || !e || !*e)
		return period_usec;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno || *end || v == 0 || v > 86400)
		return period_usec;
	return (uint64_t)v * USEC_PER_SEC;
}
