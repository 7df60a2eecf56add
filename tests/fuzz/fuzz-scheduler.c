// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the scheduler: the input is a sequence of events
 * (start, pause, resume, confirm, skip, contact, amplitude, stop, e-stop,
 * fault) at times the fuzzer picks, with a tick after each as the daemon
 * does.  Whatever the order, these must hold:
 *  - the motor is driven only while RAMPING or VIBRATING;
 *  - once FINISHED, STOPPED, ESTOPPED or FAULT, it stays there, motor off;
 *  - PAUSED never drives until a resume;
 *  - a deadline is never in the past;
 *  - with ticks no later than the deadlines (as the daemon's timer), no
 *    step gets more vibration than Duration x Repetitions, however often
 *    it is paused and resumed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "scheduler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char program_text[] =
	"[Program]\nName=F\nSource=fuzz\n"
	"[Step]\nSite=a\nTechnique=vibration\nFrequency=45\nIntensity=50\n"
	"Duration=3s\nRepetitions=2\nRest=1s\nAdvance=pause\n"
	"AdvancePause=2s\n"
	"[Step]\nSite=b\nTechnique=pressure\nFrequency=30\nIntensity=20\n"
	"Duration=2s\nRepetitions=3\nAdvance=button\n"
	"[Step]\nSite=c\nTechnique=vibration\nFrequency=50\nAmplitude=10\n"
	"Duration=1s\nAdvance=client\n"
	"[Step]\nSite=d\nTechnique=vibration\nFrequency=40\nIntensity=40\n"
	"Duration=2s\nRepetitions=2\nRest=500ms\n";

static bool is_final(enum scheduler_state st)
{
	return st == SCHEDULER_FINISHED || st == SCHEDULER_STOPPED ||
	       st == SCHEDULER_ESTOPPED || st == SCHEDULER_FAULT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct program prog;
	static bool parsed;
	struct scheduler s;
	struct scheduler_command cmd;
	enum scheduler_state final = SCHEDULER_IDLE;
	uint64_t now = 1000000000ull, last = now;
	uint64_t deadline = SCHEDULER_NO_DEADLINE;

	if (!parsed) {
		struct safety_limits l;

		safety_limits_default(&l);
		if (program_parse(&prog, program_text, strlen(program_text),
				  "fuzz.program", &l, NULL) < 0)
			abort();
		parsed = true;
	}
	if (scheduler_init(&s, &prog, 100000000ull) < 0)
		abort();

	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i], arg = data[i + 1];
		/* Up to 2.55 s on, but not past the deadline. */
		uint64_t step_ns = (uint64_t)arg * 10000000ull;

		if (deadline != SCHEDULER_NO_DEADLINE && now + step_ns > deadline)
			step_ns = deadline - now;
		now += step_ns;

		switch (op % 11) {
		case 0:
			scheduler_start(&s, now);
			break;
		case 1:
			scheduler_pause(&s, now);
			break;
		case 2:
			scheduler_resume(&s, now);
			break;
		case 3:
			scheduler_confirm(&s, now, arg & 1 ? SCHEDULER_FROM_BUTTON :
							    SCHEDULER_FROM_CLIENT);
			break;
		case 4:
			scheduler_skip(&s, now);
			break;
		case 5:
			scheduler_contact(&s, now, arg & 1);
			break;
		case 6:
			scheduler_feed_amplitude(&s, now, arg / 10.0);
			break;
		case 7:
			if (arg == 0xff)
				scheduler_stop(&s, now);
			break;
		case 8:
			if (arg == 0xfe)
				scheduler_estop(&s, now);
			break;
		case 9:
			if (arg == 0xfd)
				scheduler_fault(&s, now, SAFETY_REASON_STALL);
			break;
		default:
			/* After the first tick, going backwards is refused. */
			if (i > 0 && scheduler_tick(&s, last - 1, &cmd) != -EINVAL)
				abort();
			break;
		}

		if (scheduler_tick(&s, now, &cmd) < 0)
			abort();
		if (cmd.drive != (cmd.state == SCHEDULER_RAMPING ||
				  cmd.state == SCHEDULER_VIBRATING))
			abort();
		if (cmd.next_deadline_ns != SCHEDULER_NO_DEADLINE &&
		    cmd.next_deadline_ns <= now)
			abort();
		if (final != SCHEDULER_IDLE && cmd.state != final)
			abort();
		if (is_final(cmd.state))
			final = cmd.state;
		deadline = cmd.next_deadline_ns;
		last = now;
	}

	for (size_t i = 0; i < prog.n_steps; i++) {
		const struct program_step *st = &prog.steps[i];
		struct scheduler_dose d;

		if (scheduler_get_dose(&s, i, &d) < 0)
			abort();
		if (d.contact_ns > st->duration_ms * st->repetitions * 1000000ull)
			abort();
	}
	return 0;
}
