/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * program.h - therapy programs: the massaged.program(5) format
 *
 * A program is an INI file in the systemd manner: one [Program] section,
 * then one [Step] section per site.  program_parse() turns a buffer into a
 * struct program and checks every value against the station's safety
 * limits (lib/safety.h); docs/massaged.program.5 is the reference and
 * docs/programs.md the guide.
 *
 * Pure logic: no I/O, no allocation, no logging.  The caller reads the
 * file and passes its bytes and a file name, which is used only to prefix
 * messages ("neck.program:12: Frequency=120Hz: ...").
 */
#ifndef MASSAGED_PROGRAM_H
#define MASSAGED_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safety.h"

#define PROGRAM_MAX_STEPS	64u
/* A program file is small; anything bigger is not one. */
#define PROGRAM_MAX_FILE_SIZE	(64u * 1024u)
/* Name of the program as taken from its file name: [a-z0-9-]. */
#define PROGRAM_NAME_MAX	64u
/* Buffer sizes, including the terminating NUL. */
#define PROGRAM_TITLE_SIZE	128u	/* Name= */
#define PROGRAM_TEXT_SIZE	1024u	/* Description=, Source= */
#define PROGRAM_SITE_SIZE	128u	/* Site= */
#define PROGRAM_ERROR_SIZE	512u

#define PROGRAM_MAX_REPETITIONS	100u
/* Rests between repetitions and pauses between sites. */
#define PROGRAM_MAX_REST_MS	(10u * 60u * 1000u)
/* Amplitude= ceiling, mm/s^2 RMS: 100 m/s^2 is about 10 g. */
#define PROGRAM_MAX_AMPLITUDE_MMS2	100000u

/* What the practitioner does; the station itself can only vibrate. */
enum program_technique {
	PROGRAM_TECHNIQUE_VIBRATION,
	PROGRAM_TECHNIQUE_PRESSURE,	/* a hold with the pad pressed */
	PROGRAM_TECHNIQUE_STRIPPING,	/* a glide with holds at tight spots */
	PROGRAM_TECHNIQUE_COMPRESSION,	/* ischemic compression hold */
	_PROGRAM_TECHNIQUE_MAX,
};

/* How the program moves on from a step to the next site. */
enum program_advance {
	PROGRAM_ADVANCE_CONFIRM,	/* the button or a client confirms */
	PROGRAM_ADVANCE_BUTTON,		/* only the button on the handset */
	PROGRAM_ADVANCE_CLIENT,		/* only a client (D-Bus) */
	PROGRAM_ADVANCE_PAUSE,		/* by itself after advance_pause_ms */
	_PROGRAM_ADVANCE_MAX,
};

/**
 * struct program_step - one site
 *
 * Exactly one of intensity_permille and amplitude_mms2 is nonzero.  Each
 * of the repetitions vibrates for duration_ms, with rest_ms off between
 * them; then the program advances as @advance says (the last step
 * finishes the program instead).
 */
struct program_step {
	char site[PROGRAM_SITE_SIZE];	/* "upper trapezius, left" */
	enum program_technique technique;
	uint32_t freq_mhz;
	uint32_t intensity_permille;	/* Intensity=, 1..1000 */
	uint32_t amplitude_mms2;	/* Amplitude=, RMS target */
	uint64_t duration_ms;
	uint32_t repetitions;		/* >= 1 */
	uint64_t rest_ms;
	enum program_advance advance;
	uint64_t advance_pause_ms;	/* only with PROGRAM_ADVANCE_PAUSE */
	unsigned int line;		/* of its [Step] header */
};

/**
 * struct program - a parsed program
 *
 * About 20 KiB: keep it static or in the daemon's state, not on a small
 * stack.
 */
struct program {
	char title[PROGRAM_TITLE_SIZE];		/* Name= */
	char description[PROGRAM_TEXT_SIZE];	/* optional */
	char source[PROGRAM_TEXT_SIZE];		/* the citation */
	uint64_t max_session_ms;	/* MaxSessionMinutes=, 0 if not set */
	uint64_t total_vibration_ms;	/* sum of duration x repetitions */
	size_t n_steps;
	struct program_step steps[PROGRAM_MAX_STEPS];
};

/**
 * struct program_error - why a program was refused
 * @error: the negative errno program_parse() returned
 * @line: 1-based line, 0 when the error is about the whole file
 * @message: "FILE:LINE: KEY=VALUE: reason", ready for a person
 */
struct program_error {
	int error;
	unsigned int line;
	char message[PROGRAM_ERROR_SIZE];
};

/*
 * Parse @size bytes at @data (need not be NUL-terminated).  @file_name
 * prefixes messages; @limits are the station's validated safety limits.
 * Returns 0, or a negative errno with @ret_error (if not NULL) filled:
 * -EINVAL (syntax, unknown or duplicate key, empty or malformed value,
 * missing key), -ERANGE (a value outside its range or the safety limits),
 * -E2BIG (too many steps, value too long), -EFBIG (file too big).  On
 * error *ret is left in an unspecified but safe state; do not run it.
 */
int program_parse(struct program *ret, const char *data, size_t size,
		  const char *file_name, const struct safety_limits *limits,
		  struct program_error *ret_error);

/* Is @name a valid program name: 1..PROGRAM_NAME_MAX of [a-z0-9-],
 * not starting with '-'? */
bool program_name_is_valid(const char *name);

/*
 * "/usr/share/massaged/programs/neck-set.program" -> "neck-set".  0, or
 * -EINVAL when the file name does not end in ".program" or the name is not
 * valid, -ENOBUFS when @size is too small.
 */
int program_name_from_path(const char *path, char *ret_name, size_t size);

/*
 * Parse "30s", "1min 30s", "1.5min", "90" (seconds), "500ms" into
 * milliseconds.  0, -EINVAL (malformed), -ERANGE (overflow).
 */
int program_parse_timespan_ms(const char *s, uint64_t *ret_ms);
/* Parse "45", "47.5", "45Hz", "45 Hz" into milli-hertz. */
int program_parse_freq_mhz(const char *s, uint32_t *ret_mhz);

const char *program_technique_to_string(enum program_technique t);
const char *program_advance_to_string(enum program_advance a);

/* Time the whole program vibrates, rests and pauses between sites,
 * without the time spent waiting for confirmations. */
uint64_t program_step_scheduled_ms(const struct program_step *st,
				   bool last);

#endif
