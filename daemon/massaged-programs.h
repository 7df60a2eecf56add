/* SPDX-License-Identifier: MIT */
/*
 * massaged-programs.h - finding therapy programs on disk
 *
 * Programs are NAME.program files in a search path of directories, the
 * station's own first: /etc/massaged/programs, then the shipped
 * /usr/share/massaged/programs.  A name found in an earlier directory
 * hides the same name further on, as systemd's unit search path does.
 */
#ifndef MASSAGED_PROGRAMS_H
#define MASSAGED_PROGRAMS_H

#include <limits.h>
#include <stddef.h>

#include "program.h"
#include "safety.h"

#ifndef MASSAGED_PROGRAMS_DIR
#define MASSAGED_PROGRAMS_DIR "/usr/share/massaged/programs"
#endif
#define MASSAGED_PROGRAMS_PATH_DEFAULT \
	"/etc/massaged/programs:" MASSAGED_PROGRAMS_DIR

struct program_entry {
	char name[PROGRAM_NAME_MAX + 1];
	char path[PATH_MAX];
};

/*
 * Every program in @search_path (directories separated by ':'), sorted by
 * name, each name once.  Missing directories are skipped.  The caller
 * frees *ret.  0 or a negative errno.
 */
int programs_list(const char *search_path, struct program_entry **ret,
		  size_t *ret_n);

/*
 * Find @name and parse it against @limits.  -EINVAL for a name that
 * cannot be a program's, -ENOENT when no directory has it, -EFBIG when
 * the file is too big, a negative errno from reading, or program_parse()'s
 * error with @ret_error filled.  @ret_path (PATH_MAX) gets the file.
 */
int programs_load(const char *search_path, const char *name,
		  const struct safety_limits *limits, struct program *ret,
		  char *ret_path, struct program_error *ret_error);

#endif
