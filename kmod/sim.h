/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal header of the simulated massager board, massager-sim.ko
 *
 * One struct massager_sim owns everything: the plant (lib/plant.c), the
 * PWM, GPIO and IIO providers that expose it to massager.ko, the sampling
 * hrtimer and the debugfs controls. Each provider lives in its own file.
 */
#ifndef MASSAGED_SIM_H
#define MASSAGED_SIM_H

#include <linux/gpio/driver.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "plant.h"

struct dentry;
struct iio_dev;
struct platform_device;
struct pwm_chip;

/* GPIO lines of the simulated board, in gpio_chip offset order. */
enum sim_gpio_line {
	SIM_GPIO_ENABLE,	/* out: motor enable (MOSFET gate driver) */
	SIM_GPIO_ESTOP,		/* in, IRQ: 1 = e-stop pressed */
	SIM_GPIO_BUTTON,	/* in, IRQ: handset button, 1 = pressed */
	SIM_GPIO_RUN_LED,	/* out */
	SIM_GPIO_FAULT_LED,	/* out */
	SIM_GPIO_COUNT,
};

#define SIM_RATE_MIN_HZ		100
#define SIM_RATE_MAX_HZ		3200
/* Plant housekeeping period while nobody samples but the motor moves. */
#define SIM_TICK_NS		(10 * NSEC_PER_MSEC)

/**
 * struct massager_sim - the simulated board
 * @dev: the "massager-sim" platform device
 * @lock: protects every field marked [L]; see sim_lock() for why it is raw
 * @plant: [L] the physics
 * @plant_ns: [L] CLOCK_MONOTONIC time the plant has been advanced to
 * @timer_armed: [L] the timer is queued or will re-arm itself; false
 *	only once the motor is undriven and at rest (parked)
 * @sampling: [L] the IIO buffer is enabled: the timer runs at @rate_hz
 * @rate_hz: [L] accelerometer output data rate
 * @seq_t0_ns: [L] monotonic time of sample 0 of the current capture
 * @seq: [L] index of the next sample of the current capture
 * @samples: [L] samples pushed to the IIO buffer since load
 * @catchups: [L] samples produced late, in a burst after a delayed timer
 * @dropped: [L] samples the sensor did not deliver (dropout fault)
 * @overruns: [L] samples the IIO buffer refused: its reader is too slow
 * @duty_ppm: [L] PWM duty as applied
 * @pwm_enabled: [L] PWM output enabled
 * @period_ns: [L] PWM period as applied
 * @duty_ns: [L] PWM duty cycle as applied
 * @contact: [L] head on a body
 * @pressure_mn: [L] pressing force while in contact
 * @supply_ppm: [L] supply left after sag
 * @wear_ppm: [L] extra bearing friction
 * @fault: [L] injected faults, index enum plant_fault
 * @line_val: [L] GPIO line levels, bit per enum sim_gpio_line
 * @line_out: [L] GPIO lines configured as output
 * @irq_unmasked: [L] GPIO IRQs unmasked
 * @irq_rising: [L] GPIO IRQs that trigger on a rising edge
 * @irq_falling: [L] GPIO IRQs that trigger on a falling edge
 * @irq_pending: GPIO IRQs to deliver from @irq_work (atomic bitops)
 * @irq_work: delivers GPIO IRQs in hard interrupt context
 * @enable_fall_ns: [L] CLOCK_MONOTONIC time the enable line last fell
 * @enable_fall_cpu: [L] the CPU that made it fall
 * @enable_rise_ns: [L] CLOCK_MONOTONIC time the enable line last rose, taken
 *	once the board has taken the change in (the driver arms its
 *	heartbeat timer after that)
 * @estop_edge_ns: [L] CLOCK_MONOTONIC time the e-stop line last changed
 * @estop_timer: presses the e-stop at a set time, in hard IRQ context
 * @timer: sampling and housekeeping timer, soft (see sim-iio.c)
 * @capture_lock: serialises buffer enable, disable and rate changes
 * @gc: the GPIO chip
 * @pwm: the PWM chip
 * @indio_dev: the accelerometer
 * @board: the "massager.0" platform device massager.ko binds to
 * @debugfs: /sys/kernel/debug/massager-sim
 */
struct massager_sim {
	struct device *dev;
	raw_spinlock_t lock;
	struct plant plant;
	u64 plant_ns;
	bool timer_armed;

	bool sampling;
	u32 rate_hz;
	u64 seq_t0_ns;
	u64 seq;
	u64 samples;
	u64 catchups;
	u64 dropped;
	u64 overruns;

	u32 duty_ppm;
	bool pwm_enabled;
	u64 period_ns;
	u64 duty_ns;

	bool contact;
	u32 pressure_mn;
	u32 supply_ppm;
	u32 wear_ppm;
	bool fault[PLANT_FAULT_COUNT];

	unsigned long line_val;
	unsigned long line_out;
	unsigned long irq_unmasked;
	unsigned long irq_rising;
	unsigned long irq_falling;
	unsigned long irq_pending;
	struct irq_work irq_work;
	u64 enable_fall_ns;
	u32 enable_fall_cpu;
	u64 enable_rise_ns;
	u64 estop_edge_ns;
	struct hrtimer estop_timer;

	struct hrtimer timer;
	struct mutex capture_lock;	/* enable, disable, rate change */
	struct gpio_chip gc;
	struct pwm_chip *pwm;
	struct iio_dev *indio_dev;
	struct platform_device *board;
	struct dentry *debugfs;
};

/* sim-board.c: the plant under the lock */
void sim_plant_sync_locked(struct massager_sim *sim, u64 now_ns);
void sim_drive_update_locked(struct massager_sim *sim);

/* sim-iio.c: the sampling and housekeeping timer */
int sim_timer_setup(struct massager_sim *sim);
void sim_timer_kick_locked(struct massager_sim *sim);
u64 sim_sample_due_ns(const struct massager_sim *sim);

/* Providers, each registered with devm against sim->dev. */
int sim_pwm_register(struct massager_sim *sim);
int sim_gpio_register(struct massager_sim *sim);
int sim_iio_register(struct massager_sim *sim);
int sim_debugfs_register(struct massager_sim *sim);

/* sim-gpio.c: change an input line as the outside world would. */
int sim_gpio_set_input(struct massager_sim *sim, enum sim_gpio_line line,
		       bool value);
void sim_gpio_press_estop_in(struct massager_sim *sim, u64 delay_ns);

#endif
