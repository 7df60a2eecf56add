// SPDX-License-Identifier: MIT
/*
 * uapi-layout.c - include/uapi/massager.h has one layout on every
 * architecture we build for.
 *
 * Compiled (never run) by `make check-abi` with the native and the arm64
 * cross compiler: the sizes are in the ioctl numbers, so a structure that
 * grew a `long`, a pointer or implicit padding on one architecture would
 * give it other ioctl numbers than the other's. Each size is the sum of
 * its explicit-width fields.
 */
#include <stddef.h>
#include <linux/types.h>

#include "uapi/massager.h"

#define LAYOUT(type, size) \
	_Static_assert(sizeof(type) == (size), #type " is not " #size " bytes")

LAYOUT(struct massager_info, 10 * 4 + 2 * MASSAGER_NAME_LEN + 8 * 4);
LAYOUT(struct massager_state, 12 * 4 + 4 * 4);
LAYOUT(struct massager_drive, 4 * 4);
LAYOUT(struct massager_watchdog, 2 * 4);
LAYOUT(struct massager_event, 8 + 4 * 4 + 2 * 4);

/* The one 64-bit field is first: no padding before it on any ABI. */
_Static_assert(offsetof(struct massager_event, timestamp_ns) == 0,
	       "massager_event.timestamp_ns is not first");
_Static_assert(offsetof(struct massager_info, iio_device) == 10 * 4,
	       "massager_info.iio_device moved");
_Static_assert(offsetof(struct massager_state, owner_pid) == 10 * 4,
	       "massager_state.owner_pid moved");

/* The ioctl numbers themselves, as the kernel decodes them. */
_Static_assert(MASSAGER_IOC_GET_INFO == 0x8088c800u, "GET_INFO number");
_Static_assert(MASSAGER_IOC_DRIVE == 0x4010c802u, "DRIVE number");
