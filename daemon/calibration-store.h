/* SPDX-License-Identifier: MIT */
/*
 * calibration-store.h - the measured calibration curve on disk, in
 * $STATE_DIRECTORY/calibration (default /var/lib/massaged/calibration):
 *
 *	# massaged calibration
 *	version 1
 *	tau <seconds>		(optional: the motor's time constant)
 *	point <duty> <freq_hz> <amplitude_ms2>
 *	...
 *
 * Written atomically (temporary file, fsync, rename, fsync of the
 * directory) so that a crash leaves the old curve or the new, never half.
 */
#ifndef MASSAGED_CALIBRATION_STORE_H
#define MASSAGED_CALIBRATION_STORE_H

#include "calibration.h"

#define CALIBRATION_STORE_DEFAULT_DIR "/var/lib/massaged"

/* 0; -ENOENT without one; -EINVAL (logged, with the line) when corrupt. */
int calibration_load(const char *dir, struct calibration *ret);
int calibration_save(const char *dir, const struct calibration *cal);

#endif
