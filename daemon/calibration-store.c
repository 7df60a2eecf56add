// SPDX-License-Identifier: MIT
/*
 * calibration-store.c - load and save the calibration curve
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibration-store.h"
#include "log.h"

int calibration_load(const char *dir, struct calibration *ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	struct calibration cal = { 0 };
	char path[PATH_MAX], line[256];
	unsigned int n = 0, version = 0;
	int r;

	snprintf(path, sizeof(path), "%s/calibration", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct calibration_point p;
		char extra;

		n++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "version %u %c", &version, &extra) == 1)
			continue;
		if (sscanf(line, "tau %lf %c", &cal.tau_s, &extra) == 1 &&
		    cal.tau_s >= 0 && cal.tau_s < 10)
			continue;
		if (sscanf(line, "point %lf %lf %lf %c", &p.duty, &p.freq_hz,
			   &p.amplitude_ms2, &extra) == 3 &&
		    cal.n_points < CALIBRATION_POINTS_MAX) {
			cal.pt[cal.n_points++] = p;
			continue;
		}
		return log_error_errno(-EINVAL, "%s:%u: not a calibration line; run a new calibration.",
				       path, n);
	}
	if (version != 1)
		return log_error_errno(-EINVAL, "%s: unknown or missing version; run a new calibration.",
				       path);
	r = calibration_validate(&cal);
	if (r < 0)
		return log_error_errno(r, "%s: the curve is not usable (too few points or not rising); run a new calibration.",
				       path);
	*ret = cal;
	return 0;
}

int calibration_save(const char *dir, const struct calibration *cal)
{
	_cleanup_(closep) int dfd = -1;
	char path[PATH_MAX], tmp[PATH_MAX];
	unsigned int i;
	int fd, r = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/calibration", dir);
	snprintf(tmp, sizeof(tmp), "%s/.calibration.XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(-errno, "Failed to create a file in %s: %m",
				       dir);
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto fail;
	}
	fprintf(f, "# massaged calibration: duty, free-air Hz, RMS m/s^2\nversion 1\n");
	if (cal->tau_s > 0)
		fprintf(f, "tau %.9g\n", cal->tau_s);
	for (i = 0; i < cal->n_points; i++)
		fprintf(f, "point %.9g %.9g %.9g\n", cal->pt[i].duty,
			cal->pt[i].freq_hz, cal->pt[i].amplitude_ms2);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		goto fail;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	/* The rename itself must reach the disk too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return log_error_errno(-errno, "Failed to sync %s: %m", dir);
	return 0;
fail:
	unlink(tmp);
	return log_error_errno(r, "Failed to write %s: %m", path);
}
