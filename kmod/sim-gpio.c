// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GPIO lines of the simulated massager board
 *
 * Motor enable (out), e-stop (in, IRQ), handset button (in, IRQ), run and
 * fault LEDs (out). Input levels come from debugfs (sim-debugfs.c). Their
 * edges are delivered like gpio-sim's irq_sim does: from an irq_work that
 * runs in hard interrupt context (IRQ_WORK_INIT_HARD, also on PREEMPT_RT),
 * where generic_handle_domain_irq() expects to be called. Debian's kernels
 * do not build CONFIG_IRQ_SIM, so the IRQ domain is gpiolib's own.
 */

#include <linux/bitops.h>
#include <linux/device.h>
#include <linux/gpio/driver.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/module.h>

#include "sim.h"

static const char *const sim_gpio_names[SIM_GPIO_COUNT] = {
	[SIM_GPIO_ENABLE] = "massager-enable",
	[SIM_GPIO_ESTOP] = "massager-estop",
	[SIM_GPIO_BUTTON] = "massager-button",
	[SIM_GPIO_RUN_LED] = "massager-run-led",
	[SIM_GPIO_FAULT_LED] = "massager-fault-led",
};

/* Lines the board drives; only these can interrupt. */
#define SIM_GPIO_INPUTS		(BIT(SIM_GPIO_ESTOP) | BIT(SIM_GPIO_BUTTON))

static int sim_gpio_get_direction(struct gpio_chip *gc, unsigned int offset)
{
	struct massager_sim *sim = gpiochip_get_data(gc);

	return test_bit(offset, &sim->line_out) ? GPIO_LINE_DIRECTION_OUT :
						   GPIO_LINE_DIRECTION_IN;
}

static int sim_gpio_get(struct gpio_chip *gc, unsigned int offset)
{
	struct massager_sim *sim = gpiochip_get_data(gc);

	return test_bit(offset, &sim->line_val);
}

/* Caller holds sim->lock. */
static void sim_gpio_drive_locked(struct massager_sim *sim,
				  unsigned int offset, bool value)
{
	bool was;
	u64 now;

	if (offset != SIM_GPIO_ENABLE) {
		assign_bit(offset, &sim->line_val, value);
		return;
	}
	now = ktime_get_ns();
	sim_plant_sync_locked(sim, now);
	was = test_bit(offset, &sim->line_val);
	/* When the motor lost its enable, as the board sees it. */
	if (was && !value) {
		sim->enable_fall_ns = now;
		sim->enable_fall_cpu = raw_smp_processor_id();
	}
	assign_bit(offset, &sim->line_val, value);
	sim_drive_update_locked(sim);
	/* A rise is dated last: no later than the caller's next step. */
	if (!was && value)
		sim->enable_rise_ns = ktime_get_ns();
}

/*
 * An output turned into an input floats; the board pulls it down, so the
 * motor enable drops and the motor coasts, as on the real board.
 */
static int sim_gpio_direction_input(struct gpio_chip *gc, unsigned int offset)
{
	struct massager_sim *sim = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&sim->lock, flags);
	if (test_bit(offset, &sim->line_out)) {
		clear_bit(offset, &sim->line_out);
		sim_gpio_drive_locked(sim, offset, false);
	}
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	return 0;
}

static int sim_gpio_direction_output(struct gpio_chip *gc,
				     unsigned int offset, int value)
{
	struct massager_sim *sim = gpiochip_get_data(gc);
	unsigned long flags;

	/* E-stop and button are driven by the board: input only. */
	if (BIT(offset) & SIM_GPIO_INPUTS)
		return -EPERM;

	raw_spin_lock_irqsave(&sim->lock, flags);
	set_bit(offset, &sim->line_out);
	sim_gpio_drive_locked(sim, offset, value);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	return 0;
}

static void sim_gpio_set(struct gpio_chip *gc, unsigned int offset, int value)
{
	struct massager_sim *sim = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&sim->lock, flags);
	if (test_bit(offset, &sim->line_out))
		sim_gpio_drive_locked(sim, offset, value);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
}

static void sim_gpio_irq_mask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct massager_sim *sim = gpiochip_get_data(gc);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);

	clear_bit(hwirq, &sim->irq_unmasked);
	gpiochip_disable_irq(gc, hwirq);
}

static void sim_gpio_irq_unmask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct massager_sim *sim = gpiochip_get_data(gc);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);

	gpiochip_enable_irq(gc, hwirq);
	set_bit(hwirq, &sim->irq_unmasked);
}

static int sim_gpio_irq_set_type(struct irq_data *d, unsigned int type)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct massager_sim *sim = gpiochip_get_data(gc);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);

	/* Edges only: a level IRQ would need re-triggering while held. */
	if (type & ~IRQ_TYPE_EDGE_BOTH)
		return -EINVAL;
	assign_bit(hwirq, &sim->irq_rising, type & IRQ_TYPE_EDGE_RISING);
	assign_bit(hwirq, &sim->irq_falling, type & IRQ_TYPE_EDGE_FALLING);
	return 0;
}

static const struct irq_chip sim_gpio_irq_chip = {
	.name = "massager-sim-gpio",
	.irq_mask = sim_gpio_irq_mask,
	.irq_unmask = sim_gpio_irq_unmask,
	.irq_set_type = sim_gpio_irq_set_type,
	.flags = IRQCHIP_IMMUTABLE | IRQCHIP_SKIP_SET_WAKE,
	GPIOCHIP_IRQ_RESOURCE_HELPERS,
};

static void sim_gpio_irq_valid_mask(struct gpio_chip *gc,
				    unsigned long *valid_mask,
				    unsigned int ngpios)
{
	*valid_mask = SIM_GPIO_INPUTS;
}

static void sim_gpio_irq_work(struct irq_work *work)
{
	struct massager_sim *sim = container_of(work, struct massager_sim,
						irq_work);
	unsigned long pending = xchg(&sim->irq_pending, 0);
	unsigned int line;

	for_each_set_bit(line, &pending, SIM_GPIO_COUNT)
		generic_handle_domain_irq(sim->gc.irq.domain, line);
}

/**
 * sim_gpio_set_input() - change an input line as the outside world would
 * @sim: the board
 * @line: SIM_GPIO_ESTOP or SIM_GPIO_BUTTON
 * @value: the new level
 *
 * Fires the line's IRQ if the level changed, the IRQ is unmasked and its
 * trigger type includes this edge.
 *
 * Return: 0, or -EINVAL for a line the board does not drive.
 */
int sim_gpio_set_input(struct massager_sim *sim, enum sim_gpio_line line,
		       bool value)
{
	unsigned long flags;
	bool changed;

	if (!(BIT(line) & SIM_GPIO_INPUTS))
		return -EINVAL;

	raw_spin_lock_irqsave(&sim->lock, flags);
	changed = test_bit(line, &sim->line_val) != value;
	assign_bit(line, &sim->line_val, value);
	if (changed && line == SIM_GPIO_ESTOP)
		sim->estop_edge_ns = ktime_get_ns();
	raw_spin_unlock_irqrestore(&sim->lock, flags);

	if (changed && test_bit(line, &sim->irq_unmasked) &&
	    test_bit(line, value ? &sim->irq_rising : &sim->irq_falling)) {
		set_bit(line, &sim->irq_pending);
		irq_work_queue(&sim->irq_work);
	}
	return 0;
}

/*
 * A hand on the e-stop: the press comes at its own time from hard interrupt
 * context, whatever runs on the CPUs, as a real switch's edge would.
 */
static enum hrtimer_restart sim_gpio_estop_timer(struct hrtimer *timer)
{
	struct massager_sim *sim = container_of(timer, struct massager_sim,
						estop_timer);

	sim_gpio_set_input(sim, SIM_GPIO_ESTOP, true);
	return HRTIMER_NORESTART;
}

/**
 * sim_gpio_press_estop_in() - press the e-stop after a delay
 * @sim: the board
 * @delay_ns: from now; 0 cancels a press still to come
 *
 * Tests use it to press the e-stop while their own threads cannot run
 * (a real-time hog on every CPU); debugfs estop_edge_ns says when it came.
 */
void sim_gpio_press_estop_in(struct massager_sim *sim, u64 delay_ns)
{
	hrtimer_cancel(&sim->estop_timer);
	if (delay_ns)
		hrtimer_start(&sim->estop_timer, ns_to_ktime(delay_ns),
			      HRTIMER_MODE_REL_HARD);
}

static void sim_gpio_irq_work_sync(void *data)
{
	struct massager_sim *sim = data;

	hrtimer_cancel(&sim->estop_timer);
	irq_work_sync(&sim->irq_work);
}

int sim_gpio_register(struct massager_sim *sim)
{
	struct gpio_chip *gc = &sim->gc;
	struct gpio_irq_chip *girq = &gc->irq;
	int r;

	sim->irq_work = IRQ_WORK_INIT_HARD(sim_gpio_irq_work);
	hrtimer_init(&sim->estop_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	sim->estop_timer.function = sim_gpio_estop_timer;

	gc->label = "massager-sim-gpio";
	gc->parent = sim->dev;
	gc->owner = THIS_MODULE;
	gc->base = -1;
	gc->ngpio = SIM_GPIO_COUNT;
	gc->names = sim_gpio_names;
	/* Safe from any context: the lock is raw (see sim-board.c). */
	gc->can_sleep = false;
	gc->get_direction = sim_gpio_get_direction;
	gc->direction_input = sim_gpio_direction_input;
	gc->direction_output = sim_gpio_direction_output;
	gc->get = sim_gpio_get;
	gc->set = sim_gpio_set;

	gpio_irq_chip_set_chip(girq, &sim_gpio_irq_chip);
	girq->handler = handle_simple_irq;
	girq->default_type = IRQ_TYPE_NONE;
	girq->init_valid_mask = sim_gpio_irq_valid_mask;

	r = devm_gpiochip_add_data(sim->dev, gc, sim);
	if (r)
		return r;
	/* Runs before the chip goes: no IRQ delivered into a dead domain. */
	return devm_add_action_or_reset(sim->dev, sim_gpio_irq_work_sync, sim);
}
