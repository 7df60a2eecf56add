/* SPDX-License-Identifier: MIT */
/*
 * massaged-bus-private.h - what massaged-bus.c (the object, the control
 * methods) and massaged-bus-history.c (queue, plans, courses, history)
 * share; clients of the bus layer use massaged-bus.h
 */
#ifndef MASSAGED_BUS_PRIVATE_H
#define MASSAGED_BUS_PRIVATE_H

#include <systemd/sd-bus.h>

#include "macro.h"
#include "massaged-manager.h"
#include "massaged-session.h"

/* Root or the "massage" group; NotAuthorized otherwise (docs/dbus-api.md) */
int bus_check_authorized(Manager *m, sd_bus_message *msg,
			 sd_bus_error *error);

#define AUTHORIZE(m, msg, error)					\
	do {								\
		int _r = bus_check_authorized(m, msg, error);		\
		if (_r < 0)						\
			return _r;					\
	} while (0)

/* Error.InvalidArgument with a text that starts with the argument's name */
int bus_invalid_argument(sd_bus_error *error, const char *fmt, ...)
	_printf_(2, 3);

/* The a{sv} options of StartProgram, StartManual, Enqueue and Plan */
int bus_read_options(sd_bus_message *msg, struct session_options *o,
		     sd_bus_error *error);

/* massaged-bus-history.c: the handlers the vtable names */
int method_enqueue(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_queue(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_dequeue(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_plan(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_plans(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_cancel_plan(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_course(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_courses(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_course_dose(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_set_pain_score(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_sessions(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_session(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_export_history(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_erase_patient(sd_bus_message *msg, void *userdata, sd_bus_error *error);

#endif
