// SPDX-License-Identifier: MIT
/*
 * handset.c - the handset's button (start / pause / continue) and its run
 * and fault LEDs, as GPIO lines found by name on the gpiochip the device
 * names (libgpiod 1.6 API, as in Debian 12)
 *
 * Everything is optional: without a chip, or without a line of the
 * configured name, that part of the handset is simply absent. The button
 * never resets a fault or an e-stop: that needs a deliberate reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpiod.h>

#include "log.h"
#include "massaged-manager-private.h"
#include "massaged-session.h"

#define CONSUMER		"massaged"
#define DEBOUNCE_NS		(200 * NSEC_PER_MSEC)

struct handset {
	struct gpiod_chip *chip;
	struct gpiod_line *button, *run_led, *fault_led;
	sd_event_source *button_source;
	uint64_t last_press_ns;
};

/*
 * The one button: start, pause, continue.  With a session it confirms the
 * move to the next site, pauses and resumes; idle with a session ready
 * in the queue it starts that one; idle without, a manual session at the
 * configured frequency.  It never resets a fault or an e-stop.
 */
static void handset_button_pressed(Manager *m)
{
	struct session_info si;
	const char *why = NULL;
	int r = 0;

	session_get_info(m, &si);
	if (si.active && si.waiting && !si.paused) {
		r = session_continue(m, true, &why);
	} else if (si.active && si.paused) {
		r = session_resume(m, &why);
	} else if (si.active) {
		r = session_pause(m, &why);
	} else if (m->state == MANAGER_IDLE && sessions_ready(m)) {
		r = session_continue(m, true, &why);
	} else if (m->state == MANAGER_IDLE) {
		struct session_options o = { .pain_before = -1,
					     .outlive_client = true };

		r = session_start_manual(m, m->config.default_freq_mhz,
					 m->config.default_intensity_permille,
					 0, &o, NULL, &why);
	} else if (m->state == MANAGER_RUNNING) {
		r = manager_pause(m, &why);
	} else if (m->state == MANAGER_PAUSED) {
		r = manager_resume(m, &why);
	} else {
		log_info("Handset button ignored while %s.",
			 manager_state_to_string(m->state));
		return;
	}
	if (r < 0)
		log_warning("Handset button: %s.", why ?: strerror(-r));
}

static int on_button(sd_event_source *s _unused_, int fd _unused_,
		     uint32_t revents _unused_, void *userdata)
{
	Manager *m = userdata;
	struct handset *h = m->handset;
	struct gpiod_line_event ev;
	uint64_t t;

	if (gpiod_line_event_read(h->button, &ev) < 0)
		return 0;
	t = timespec_to_ns(&ev.ts);
	if (ev.event_type != GPIOD_LINE_EVENT_FALLING_EDGE ||
	    t - h->last_press_ns < DEBOUNCE_NS)
		return 0;
	h->last_press_ns = t;
	handset_button_pressed(m);
	return 0;
}

static struct gpiod_line *handset_output(struct gpiod_chip *chip,
					 const char *name)
{
	struct gpiod_line *l;

	if (!name[0])
		return NULL;
	l = gpiod_chip_find_line(chip, name);
	if (!l) {
		log_info("No GPIO line \"%s\"; that LED is absent.", name);
		return NULL;
	}
	if (gpiod_line_request_output(l, CONSUMER, 0) < 0) {
		log_warning_errno(-errno, "Failed to request GPIO line \"%s\": %m",
				  name);
		return NULL;
	}
	return l;
}

int handset_open(Manager *m, const char *chip_label)
{
	struct handset *h;
	int r;

	if (m->handset)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return log_oom();
	h->chip = gpiod_chip_open_by_label(chip_label);
	if (!h->chip) {
		r = -errno;
		free(h);
		return log_warning_errno(r, "No handset: cannot open gpiochip \"%s\": %m",
					 chip_label);
	}
	m->handset = h;
	if (m->config.button_line[0]) {
		h->button = gpiod_chip_find_line(h->chip, m->config.button_line);
		if (h->button &&
		    gpiod_line_request_falling_edge_events(h->button, CONSUMER) < 0) {
			log_warning_errno(-errno, "Failed to request the button line \"%s\": %m",
					  m->config.button_line);
			h->button = NULL;
		}
		if (h->button) {
			r = sd_event_add_io(m->event, &h->button_source,
					    gpiod_line_event_get_fd(h->button),
					    EPOLLIN, on_button, m);
			if (r < 0)
				log_warning_errno(r, "Failed to watch the handset button: %m");
		}
	}
	h->run_led = handset_output(h->chip, m->config.run_led_line);
	h->fault_led = handset_output(h->chip, m->config.fault_led_line);
	log_info("Handset on %s: button %s, run LED %s, fault LED %s.",
		 chip_label, yes_no(!!h->button), yes_no(!!h->run_led),
		 yes_no(!!h->fault_led));
	handset_update_leds(m);
	return 0;
}

void handset_close(Manager *m)
{
	struct handset *h = m->handset;

	if (!h)
		return;
	sd_event_source_disable_unref(h->button_source);
	/* Closing the chip releases every line; outputs go back to input. */
	gpiod_chip_close(h->chip);
	free(h);
	m->handset = NULL;
}

void handset_update_leds(Manager *m)
{
	struct handset *h = m->handset;

	if (!h)
		return;
	if (h->run_led)
		gpiod_line_set_value(h->run_led, m->state == MANAGER_RUNNING ||
					       m->state == MANAGER_CALIBRATING);
	if (h->fault_led)
		gpiod_line_set_value(h->fault_led, m->state == MANAGER_FAULT ||
						 m->state == MANAGER_ESTOP);
}
