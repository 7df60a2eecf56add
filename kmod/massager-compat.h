/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences for massager.ko
 *
 * Debian 12 runs 6.1; bookworm-backports brings 6.12 (and 6.12-rt). Every
 * LINUX_VERSION_CODE test of the board driver lives here, so massager.c
 * reads as if written for one kernel.
 */
#ifndef MASSAGED_MASSAGER_COMPAT_H
#define MASSAGED_MASSAGER_COMPAT_H

#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/pwm.h>
#include <linux/version.h>

/* 6.8 renamed pwm_apply_state() to say that it may sleep. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define pwm_apply_might_sleep(pwm, state) pwm_apply_state(pwm, state)
#endif

/*
 * The PWM core exports its consumer API in namespace PWM since 6.10; 6.13
 * made the namespace argument a string.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define MASSAGER_IMPORT_NS_PWM() MODULE_IMPORT_NS("PWM")
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define MASSAGER_IMPORT_NS_PWM() MODULE_IMPORT_NS(PWM)
#else
#define MASSAGER_IMPORT_NS_PWM()
#endif

/*
 * Label of the gpiochip that holds @desc. Since 6.8 the label belongs to
 * the gpio_device, which outlives the chip; before, only the chip had it.
 * The caller copies the string at once.
 */
static inline const char *massager_gpiod_chip_label(struct gpio_desc *desc)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return gpio_device_get_label(gpiod_to_gpio_device(desc));
#else
	return gpiod_to_chip(desc)->label;
#endif
}

/* 6.13 folded hrtimer_init() and the callback assignment into one call. */
static inline void
massager_hrtimer_setup(struct hrtimer *timer,
		       enum hrtimer_restart (*fn)(struct hrtimer *),
		       clockid_t clock, enum hrtimer_mode mode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(timer, fn, clock, mode);
#else
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#endif
}

#endif
