/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a board file hands to massager.ko
 *
 * A board described by devicetree or ACPI needs none of this: massager.ko
 * gets its motor PWM with devm_pwm_get(dev, "motor"). A board registered
 * from a module, such as the simulated board massager-sim.ko, cannot offer
 * a PWM lookup: pwm_add_table() is not exported by 6.1 nor 6.12, and
 * Debian's x86 kernels have no CONFIG_OF. Such a board registers the
 * "massager" platform device with this as its platform data instead.
 * GPIOs (gpiod lookup tables) and IIO channels (iio_map) need no such help.
 */
#ifndef MASSAGED_MASSAGER_BOARD_H
#define MASSAGED_MASSAGER_BOARD_H

struct pwm_device;

/**
 * struct massager_board_data - platform data of the "massager" device
 * @motor: the motor PWM, ready for pwm_apply_might_sleep(); owned by the
 *	board and valid as long as the "massager" device is registered, so
 *	never pwm_put() it. Its period comes from no lookup: pwm_init_state()
 *	leaves the period 0 and the driver applies its default.
 */
struct massager_board_data {
	struct pwm_device *motor;
};

#endif
