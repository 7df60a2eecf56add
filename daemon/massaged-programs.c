// SPDX-License-Identifier: MIT
/*
 * massaged-programs.c - the program search path: list and load
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "massaged-programs.h"

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct program_entry *)a)->name,
		      ((const struct program_entry *)b)->name);
}

static bool entries_have(const struct program_entry *e, size_t n,
			 const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return true;
	return false;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int programs_scan_dir(const char *dir, struct program_entry **list,
			     size_t *n, size_t *allocated)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((errno = 0, de = readdir(d))) {
		char name[PROGRAM_NAME_MAX + 1];
		struct program_entry *e;

		if (program_name_from_path(de->d_name, name, sizeof(name)) < 0)
			continue;
		if (entries_have(*list, *n, name))
			continue;	/* hidden by an earlier directory */
		if (*n == *allocated) {
			size_t a = *allocated ? *allocated * 2 : 16;

			e = reallocarray(*list, a, sizeof(*e));
			if (!e)
				return -ENOMEM;
			*list = e;
			*allocated = a;
		}
		e = &(*list)[(*n)++];
		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->path, sizeof(e->path), "%s/%s", dir, de->d_name);
	}
	return errno ? -errno : 0;
}

int programs_list(const char *search_path, struct program_entry **ret,
		  size_t *ret_n)
{
	_cleanup_(freep) struct program_entry *list = NULL;
	_cleanup_(freep) char *copy = NULL;
	size_t n = 0, allocated = 0;
	char *dir, *save = NULL;
	int r;

	if (!search_path || !ret || !ret_n)
		return -EINVAL;
	copy = strdup(search_path);
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		r = programs_scan_dir(dir, &list, &n, &allocated);
		if (r < 0)
			return r;
	}
	if (n)
		qsort(list, n, sizeof(*list), entry_cmp);
	*ret = list;
	list = NULL;
	*ret_n = n;
	return 0;
}

static int read_small_file(const char *path, char *buf, size_t size,
			   size_t *ret_len)
{
	_cleanup_(closep) int fd = -1;
	size_t len = 0;
	struct stat st;
	ssize_t k;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((size_t)st.st_size > size)
		return -EFBIG;
	for (;;) {
		k = read(fd, buf + len, size - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len == size)	/* grew while we read it */
			return -EFBIG;
	}
	*ret_len = len;
	return 0;
}

int programs_load(const char *search_path, const char *name,
		  const struct safety_limits *limits, struct program *ret,
		  char *ret_path, struct program_error *ret_error)
{
	_cleanup_(freep) struct program_entry *list = NULL;
	_cleanup_(freep) char *buf = NULL;
	const char *file;
	size_t n, i, len = 0;
	int r;

	if (!name || !program_name_is_valid(name))
		return -EINVAL;
	r = programs_list(search_path, &list, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			break;
	if (i == n)
		return -ENOENT;
	if (ret_path)
		snprintf(ret_path, PATH_MAX, "%s", list[i].path);
	/* One byte more than allowed tells a too-big file from a full one. */
	buf = malloc(PROGRAM_MAX_FILE_SIZE + 1);
	if (!buf)
		return -ENOMEM;
	r = read_small_file(list[i].path, buf, PROGRAM_MAX_FILE_SIZE + 1, &len);
	if (r < 0)
		return r;
	file = strrchr(list[i].path, '/');
	return program_parse(ret, buf, len, file ? file + 1 : list[i].path,
			     limits, ret_error);
}
