// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the program parser: any bytes must give 0 or a
 * negative errno with a NUL-terminated message, never a crash, and a
 * program that parses must satisfy the safety limits it was checked
 * against and run to its end in the scheduler.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "safety.h"
#include "scheduler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_program(const struct program *p,
			  const struct safety_limits *l)
{
	uint64_t total = 0;

	if (p->n_steps == 0 || p->n_steps > PROGRAM_MAX_STEPS)
		abort();
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct program_step *st = &p->steps[i];

		if (safety_check_target(l, st->freq_mhz, st->intensity_permille,
					NULL) < 0)
			abort();
		if (!st->intensity_permille == !st->amplitude_mms2)
			abort();
		if (safety_check_step_duration(l, st->duration_ms *
						       st->repetitions,
					       NULL) < 0)
			abort();
		if (!memchr(st->site, '\0', sizeof(st->site)))
			abort();
		total += st->duration_ms * st->repetitions;
	}
	if (total != p->total_vibration_ms ||
	    safety_check_session_total(l, total, NULL) < 0)
		abort();
}

/* Run the program to its end, confirming every site; it must finish. */
static void run_program(const struct program *p)
{
	struct scheduler s;
	struct scheduler_command cmd;
	uint64_t now = 1;

	if (scheduler_init(&s, p, 200000000ull) < 0)
		abort();
	if (scheduler_start(&s, now) < 0)
		abort();
	scheduler_contact(&s, now, true);
	for (unsigned int i = 0; i < 100000; i++) {
		if (scheduler_tick(&s, now, &cmd) < 0)
			abort();
		if (cmd.state == SCHEDULER_FINISHED) {
			if (cmd.drive)
				abort();
			return;
		}
		if (cmd.state == SCHEDULER_WAITING &&
		    cmd.next_deadline_ns == UINT64_MAX) {
			if (scheduler_confirm(&s, now, SCHEDULER_FROM_BUTTON) <
				    0 &&
			    scheduler_confirm(&s, now, SCHEDULER_FROM_CLIENT) <
				    0)
				abort();
			continue;
		}
		if (cmd.next_deadline_ns == UINT64_MAX ||
		    cmd.next_deadline_ns < now)
			abort();
		now = cmd.next_deadline_ns;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct program prog;
	struct program_error e;
	struct safety_limits l;
	int r;

	safety_limits_default(&l);
	r = program_parse(&prog, (const char *)data, size, "fuzz.program", &l,
			  &e);
	if (r > 0)
		abort();
	if (r < 0) {
		if (e.error != r || !memchr(e.message, '\0', sizeof(e.message)))
			abort();
		return 0;
	}
	check_program(&prog, &l);
	run_program(&prog);
	return 0;
}
