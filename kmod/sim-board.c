// SPDX-License-Identifier: GPL-2.0-only
/*
 * A simulated vibration massager board
 *
 * massager-sim.ko stands in for the board that massager.ko drives: a PWM
 * for the motor, GPIO lines for motor enable, e-stop, handset button and
 * LEDs, and an accelerometer on the head, all backed by the motor and head
 * physics of lib/plant.c. Tests inject contact, pressure and faults through
 * debugfs. At load the module registers its own platform device
 * "massager-sim"; probe registers the providers, then the lookup tables for
 * consumer "massager.0", then the "massager.0" device that massager.ko binds
 * to, so the driver finds its resources whichever module loads first.
 * Removal runs the same steps backwards (devm releases in reverse order).
 *
 * Locking: sim->lock protects the plant and every input fed to it. It is a
 * raw_spinlock_t, taken with interrupts off, because the GPIO chip is
 * registered with can_sleep = false: massager.ko drops the enable line from
 * its e-stop primary handler (IRQF_NO_THREAD) and its heartbeat hrtimer
 * (HRTIMER_MODE_REL_HARD), both in hard interrupt context on PREEMPT_RT too,
 * where nothing may sleep on a spinlock_t.
 * What runs under the lock is bounded and pure arithmetic: one plant sample
 * period (at 100 Hz, 200 substeps of 50 us) or one 10 ms housekeeping tick,
 * never an unbounded catch-up, and nothing that sleeps, allocates, logs or
 * wakes anyone up (pushing to the IIO buffer wakes readers, so it is done
 * with the lock dropped, from the soft hrtimer: see sim-iio.c).
 */

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/gpio/machine.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/pwm.h>
#include <linux/slab.h>

#include "massager-board.h"
#include "sim.h"
#include "sim-compat.h"

static unsigned long long seed = 1;
module_param(seed, ullong, 0444);
MODULE_PARM_DESC(seed, "Seed of the plant's noise generator (default 1)");

static unsigned int rate_hz = 1000;
module_param(rate_hz, uint, 0444);
MODULE_PARM_DESC(rate_hz,
		 "Default accelerometer sampling frequency, 100..3200 Hz (default 1000)");

/* The consumer: massager.ko binds to platform device "massager", id 0. */
#define SIM_CONSUMER	"massager.0"

/**
 * sim_plant_sync_locked() - advance the plant to @now_ns
 * @sim: the board, sim->lock held
 * @now_ns: CLOCK_MONOTONIC time; earlier than the plant's time is a no-op
 *
 * The timer keeps the gaps short while anything moves. Once parked (undriven
 * and at rest) nothing evolves, so after a long idle period the plant is
 * advanced by one tick at most instead of by minutes of stillness.
 *
 * While capturing, the plant goes no further than the next sample due. When
 * the timer runs late (a starved vCPU, the reader preempting the catch-up
 * burst) a drive change or a debugfs read would otherwise carry the plant
 * past samples still owed, and every one of them would then be taken from
 * the same state: a frozen vector that the daemon rightly calls a stuck
 * sensor. The change then takes effect at that sample instead, at most the
 * timer's lateness early.
 */
void sim_plant_sync_locked(struct massager_sim *sim, u64 now_ns)
{
	u64 dt;

	lockdep_assert_held(&sim->lock);
	if (sim->sampling)
		now_ns = min(now_ns, sim_sample_due_ns(sim));
	if (now_ns <= sim->plant_ns)
		return;
	dt = now_ns - sim->plant_ns;
	sim->plant_ns = now_ns;
	if (!sim->timer_armed)
		dt = min_t(u64, dt, SIM_TICK_NS);
	while (dt) {
		u32 step = min_t(u64, dt, NSEC_PER_SEC);

		plant_advance(&sim->plant, step);
		dt -= step;
	}
}

/* Feed PWM and enable line to the motor: it runs only with both on. */
void sim_drive_update_locked(struct massager_sim *sim)
{
	bool enable = test_bit(SIM_GPIO_ENABLE, &sim->line_val);

	lockdep_assert_held(&sim->lock);
	plant_set_drive(&sim->plant, sim->duty_ppm,
			sim->pwm_enabled && enable);
	sim_timer_kick_locked(sim);
}

static void sim_gpiod_table_remove(void *data)
{
	gpiod_remove_lookup_table(data);
}

static void sim_board_unregister(void *data)
{
	platform_device_unregister(data);
}

/* The lookup names the provider by its chip label. */
static struct gpiod_lookup_table sim_gpiod_lookup = {
	.dev_id = SIM_CONSUMER,
	.table = {
		GPIO_LOOKUP("massager-sim-gpio", SIM_GPIO_ENABLE, "enable",
			    GPIO_ACTIVE_HIGH),
		GPIO_LOOKUP("massager-sim-gpio", SIM_GPIO_ESTOP, "estop",
			    GPIO_ACTIVE_HIGH),
		{ }
	},
};

/*
 * The PWM has no lookup table: pwm_add_table() is not exported (see
 * include/massager-board.h), so the motor goes in the platform data.
 */
static int sim_tables_register(struct massager_sim *sim)
{
	gpiod_add_lookup_table(&sim_gpiod_lookup);
	return devm_add_action_or_reset(sim->dev, sim_gpiod_table_remove,
					&sim_gpiod_lookup);
}

static int sim_board_register(struct massager_sim *sim)
{
	/* Copied by the core: pointers only, nothing to keep alive here. */
	struct massager_board_data data = {
		.motor = &sim->pwm->pwms[0],
	};
	struct platform_device_info info = {
		.parent = sim->dev,
		.name = "massager",
		.id = 0,
		.data = &data,
		.size_data = sizeof(data),
	};
	struct platform_device *board;

	board = platform_device_register_full(&info);
	if (IS_ERR(board))
		return PTR_ERR(board);
	sim->board = board;
	return devm_add_action_or_reset(sim->dev, sim_board_unregister, board);
}

static int sim_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct plant_params params;
	struct massager_sim *sim;
	int r;

	sim = devm_kzalloc(dev, sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return -ENOMEM;
	sim->dev = dev;
	raw_spin_lock_init(&sim->lock);
	sim->rate_hz = rate_hz;
	sim->supply_ppm = PLANT_DUTY_MAX_PPM;
	sim->line_out = BIT(SIM_GPIO_ENABLE) | BIT(SIM_GPIO_RUN_LED) |
			BIT(SIM_GPIO_FAULT_LED);
	platform_set_drvdata(pdev, sim);

	plant_params_default(&params);
	r = plant_init(&sim->plant, &params, seed);
	if (r)
		return dev_err_probe(dev, r, "Failed to set up the plant\n");
	sim->plant_ns = ktime_get_ns();

	/* First, so that its teardown runs last, after every provider. */
	r = sim_timer_setup(sim);
	if (r)
		return dev_err_probe(dev, r, "Failed to set up the timer\n");

	r = sim_pwm_register(sim);
	if (r)
		return dev_err_probe(dev, r, "Failed to register the PWM chip\n");
	r = sim_gpio_register(sim);
	if (r)
		return dev_err_probe(dev, r, "Failed to register the GPIO chip\n");
	r = sim_iio_register(sim);
	if (r)
		return dev_err_probe(dev, r,
				     "Failed to register the accelerometer\n");
	r = sim_debugfs_register(sim);
	if (r)
		return dev_err_probe(dev, r, "Failed to create debugfs files\n");

	r = sim_tables_register(sim);
	if (r)
		return dev_err_probe(dev, r, "Failed to add lookup tables\n");
	r = sim_board_register(sim);
	if (r)
		return dev_err_probe(dev, r,
				     "Failed to register device %s\n",
				     SIM_CONSUMER);

	dev_info(dev, "simulated board up: seed %llu, %u Hz, consumer %s\n",
		 seed, sim->rate_hz, SIM_CONSUMER);
	return 0;
}

static struct platform_driver sim_driver = {
	.probe = sim_probe,
	.driver = {
		.name = "massager-sim",
	},
};

static struct platform_device *sim_pdev;

static int __init sim_init(void)
{
	int r;

	if (rate_hz < SIM_RATE_MIN_HZ || rate_hz > SIM_RATE_MAX_HZ) {
		pr_err("massager-sim: rate_hz=%u is outside %u..%u Hz\n",
		       rate_hz, SIM_RATE_MIN_HZ, SIM_RATE_MAX_HZ);
		return -EINVAL;
	}

	r = platform_driver_register(&sim_driver);
	if (r)
		return r;

	sim_pdev = platform_device_register_simple("massager-sim",
						   PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(sim_pdev)) {
		platform_driver_unregister(&sim_driver);
		return PTR_ERR(sim_pdev);
	}
	return 0;
}
module_init(sim_init);

static void __exit sim_exit(void)
{
	platform_device_unregister(sim_pdev);
	platform_driver_unregister(&sim_driver);
}
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated vibration massager board: PWM motor, GPIO, accelerometer");
MODULE_AUTHOR("massaged project");
MODULE_LICENSE("GPL");
SIM_IMPORT_NS_PWM();
