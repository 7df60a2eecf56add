/* SPDX-License-Identifier: MIT */
/*
 * massaged-bus.h - org.massaged.Massager1 on the system bus
 *
 * daemon/org.massaged.Massager1.xml is the interface; docs/dbus-api.md
 * the reference.  The vtable, the authorization check and the
 * rate-limited telemetry live in massaged-bus.c; the calls themselves go
 * to massaged-session.h and massaged-manager.h.
 */
#ifndef MASSAGED_BUS_H
#define MASSAGED_BUS_H

#include <stdint.h>

#include "massaged-manager.h"

#define BUS_NAME	"org.massaged.Massager1"
#define BUS_PATH	"/org/massaged/Massager1"
#define BUS_INTERFACE	"org.massaged.Massager1"
#define BUS_ERROR(e)	"org.massaged.Massager1.Error." e

/*
 * Live telemetry is sent at most this often, each up to the accuracy
 * late: just over the control thread's 25 ms telemetry batches at 1 kHz,
 * so that it goes out in a wake-up the main thread has anyway.
 */
#define BUS_TELEMETRY_INTERVAL_USEC 100000ull
#define BUS_TELEMETRY_ACCURACY_USEC 30000ull

/*
 * Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured),
 * serve the object and take the name.  Without a bus the daemon runs on
 * and says so; only a failure to set up the event sources is an error.
 */
int bus_setup(Manager *m);
void bus_free(Manager *m);

/* State, status or session changed: emit PropertiesChanged once, soon. */
void bus_mark_dirty(Manager *m);
/* The session ended: SessionFinished, and forget its owner. */
void bus_session_finished(Manager *m, uint64_t id, const char *outcome);
/* The session's target is out of reach: TargetUnreachable. */
void bus_target_unreachable(Manager *m, double target_hz, double held_hz,
			    const char *reason);

#endif
