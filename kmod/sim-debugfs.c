// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario and fault controls of the simulated board
 *
 * /sys/kernel/debug/massager-sim/: one decimal number per file. Writable
 * files set the scenario (contact, pressure, faults, supply, wear) and the
 * board's input lines (estop, button); read-only files show what the board
 * sees and the plant's ground truth. A value outside a file's range is
 * refused with -EINVAL and changes nothing. docs/sim-board.md lists them.
 */

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "sim.h"

enum sim_dbg_id {
	/* writable */
	SIM_DBG_CONTACT,
	SIM_DBG_PRESSURE_MN,
	SIM_DBG_STALL,
	SIM_DBG_DROPOUT,
	SIM_DBG_STUCK,
	SIM_DBG_SUPPLY_PPM,
	SIM_DBG_WEAR_PPM,
	SIM_DBG_ESTOP,
	SIM_DBG_BUTTON,
	SIM_DBG_ESTOP_PRESS_IN_US,
	/* read-only */
	SIM_DBG_DUTY_PPM,
	SIM_DBG_ENABLED,
	SIM_DBG_FREQ_MHZ,
	SIM_DBG_CURRENT_MA,
	SIM_DBG_SAMPLES,
	SIM_DBG_CATCHUPS,
	SIM_DBG_DROPPED,
	SIM_DBG_OVERRUNS,
	SIM_DBG_ENABLE_FALL_NS,
	SIM_DBG_ENABLE_FALL_CPU,
	SIM_DBG_ENABLE_RISE_NS,
	SIM_DBG_ESTOP_EDGE_NS,
	SIM_DBG_COUNT,
};

/* Pressing force beyond 100 N is no longer massage. */
#define SIM_PRESSURE_MAX_MN	100000
#define SIM_WEAR_MAX_PPM	10000000
/* A timed e-stop press comes within 10 s. */
#define SIM_ESTOP_PRESS_MAX_US	10000000

static const struct sim_dbg_desc {
	const char *name;
	u64 max;		/* largest value accepted; 0: read-only */
} sim_dbg_desc[SIM_DBG_COUNT] = {
	[SIM_DBG_CONTACT] = { "contact", 1 },
	[SIM_DBG_PRESSURE_MN] = { "pressure_mn", SIM_PRESSURE_MAX_MN },
	[SIM_DBG_STALL] = { "stall", 1 },
	[SIM_DBG_DROPOUT] = { "dropout", 1 },
	[SIM_DBG_STUCK] = { "stuck", 1 },
	[SIM_DBG_SUPPLY_PPM] = { "supply_ppm", PLANT_DUTY_MAX_PPM },
	[SIM_DBG_WEAR_PPM] = { "wear_ppm", SIM_WEAR_MAX_PPM },
	[SIM_DBG_ESTOP] = { "estop", 1 },
	[SIM_DBG_BUTTON] = { "button", 1 },
	[SIM_DBG_ESTOP_PRESS_IN_US] = { "estop_press_in_us",
					SIM_ESTOP_PRESS_MAX_US },
	[SIM_DBG_DUTY_PPM] = { "duty_ppm" },
	[SIM_DBG_ENABLED] = { "enabled" },
	[SIM_DBG_FREQ_MHZ] = { "freq_mhz" },
	[SIM_DBG_CURRENT_MA] = { "current_ma" },
	[SIM_DBG_SAMPLES] = { "samples" },
	[SIM_DBG_CATCHUPS] = { "catchups" },
	[SIM_DBG_DROPPED] = { "dropped" },
	[SIM_DBG_OVERRUNS] = { "overruns" },
	[SIM_DBG_ENABLE_FALL_NS] = { "enable_fall_ns" },
	[SIM_DBG_ENABLE_FALL_CPU] = { "enable_fall_cpu" },
	[SIM_DBG_ENABLE_RISE_NS] = { "enable_rise_ns" },
	[SIM_DBG_ESTOP_EDGE_NS] = { "estop_edge_ns" },
};

/* What a file's inode points at. */
struct sim_dbg_attr {
	struct massager_sim *sim;
	enum sim_dbg_id id;
};

static const enum plant_fault sim_dbg_fault[SIM_DBG_COUNT] = {
	[SIM_DBG_STALL] = PLANT_FAULT_STALL,
	[SIM_DBG_DROPOUT] = PLANT_FAULT_SENSOR_DROPOUT,
	[SIM_DBG_STUCK] = PLANT_FAULT_SENSOR_STUCK,
};

static int sim_dbg_get(void *data, u64 *ret_val)
{
	const struct sim_dbg_attr *attr = data;
	struct massager_sim *sim = attr->sim;
	unsigned long flags;
	s64 v;

	raw_spin_lock_irqsave(&sim->lock, flags);
	sim_plant_sync_locked(sim, ktime_get_ns());
	switch (attr->id) {
	case SIM_DBG_CONTACT:
		v = sim->contact;
		break;
	case SIM_DBG_PRESSURE_MN:
		v = sim->pressure_mn;
		break;
	case SIM_DBG_STALL:
	case SIM_DBG_DROPOUT:
	case SIM_DBG_STUCK:
		v = sim->fault[sim_dbg_fault[attr->id]];
		break;
	case SIM_DBG_SUPPLY_PPM:
		v = sim->supply_ppm;
		break;
	case SIM_DBG_WEAR_PPM:
		v = sim->wear_ppm;
		break;
	case SIM_DBG_ESTOP:
		v = test_bit(SIM_GPIO_ESTOP, &sim->line_val);
		break;
	case SIM_DBG_BUTTON:
		v = test_bit(SIM_GPIO_BUTTON, &sim->line_val);
		break;
	case SIM_DBG_DUTY_PPM:
		v = sim->duty_ppm;
		break;
	case SIM_DBG_ENABLED:
		/* What reaches the motor: PWM on and enable line high. */
		v = sim->pwm_enabled &&
		    test_bit(SIM_GPIO_ENABLE, &sim->line_val);
		break;
	case SIM_DBG_FREQ_MHZ:
		v = plant_freq_mhz(&sim->plant);
		break;
	case SIM_DBG_CURRENT_MA:
		v = plant_current_ma(&sim->plant);
		break;
	case SIM_DBG_SAMPLES:
		v = sim->samples;
		break;
	case SIM_DBG_CATCHUPS:
		v = sim->catchups;
		break;
	case SIM_DBG_DROPPED:
		v = sim->dropped;
		break;
	case SIM_DBG_OVERRUNS:
		v = sim->overruns;
		break;
	case SIM_DBG_ENABLE_FALL_NS:
		v = sim->enable_fall_ns;
		break;
	case SIM_DBG_ENABLE_FALL_CPU:
		v = sim->enable_fall_cpu;
		break;
	case SIM_DBG_ENABLE_RISE_NS:
		v = sim->enable_rise_ns;
		break;
	case SIM_DBG_ESTOP_EDGE_NS:
		v = sim->estop_edge_ns;
		break;
	default:
		v = 0;
		break;
	}
	raw_spin_unlock_irqrestore(&sim->lock, flags);

	*ret_val = v;
	return 0;
}

static int sim_dbg_set(void *data, u64 val)
{
	const struct sim_dbg_attr *attr = data;
	struct massager_sim *sim = attr->sim;
	unsigned long flags;

	if (val > sim_dbg_desc[attr->id].max)
		return -EINVAL;

	switch (attr->id) {
	case SIM_DBG_ESTOP:
		return sim_gpio_set_input(sim, SIM_GPIO_ESTOP, val);
	case SIM_DBG_BUTTON:
		return sim_gpio_set_input(sim, SIM_GPIO_BUTTON, val);
	case SIM_DBG_ESTOP_PRESS_IN_US:
		sim_gpio_press_estop_in(sim, val * NSEC_PER_USEC);
		return 0;
	default:
		break;
	}

	raw_spin_lock_irqsave(&sim->lock, flags);
	sim_plant_sync_locked(sim, ktime_get_ns());
	switch (attr->id) {
	case SIM_DBG_CONTACT:
		sim->contact = val;
		plant_set_contact(&sim->plant, sim->contact, sim->pressure_mn);
		break;
	case SIM_DBG_PRESSURE_MN:
		sim->pressure_mn = val;
		plant_set_contact(&sim->plant, sim->contact, sim->pressure_mn);
		break;
	case SIM_DBG_STALL:
	case SIM_DBG_DROPOUT:
	case SIM_DBG_STUCK:
		sim->fault[sim_dbg_fault[attr->id]] = val;
		plant_set_fault(&sim->plant, sim_dbg_fault[attr->id], val);
		break;
	case SIM_DBG_SUPPLY_PPM:
		sim->supply_ppm = val;
		plant_set_supply(&sim->plant, val);
		break;
	case SIM_DBG_WEAR_PPM:
		sim->wear_ppm = val;
		plant_set_wear(&sim->plant, val);
		break;
	default:
		break;
	}
	/* The plant may move now (a released stall, say): run the timer. */
	sim_timer_kick_locked(sim);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	return 0;
}

static int sim_dbg_open(struct inode *inode, struct file *file)
{
	const struct sim_dbg_attr *attr = inode->i_private;
	bool writable = sim_dbg_desc[attr->id].max;

	return simple_attr_open(inode, file, sim_dbg_get,
				writable ? sim_dbg_set : NULL, "%lld\n");
}

static const struct file_operations sim_dbg_fops = {
	.owner = THIS_MODULE,
	.open = sim_dbg_open,
	.release = simple_attr_release,
	.read = debugfs_attr_read,
	.write = debugfs_attr_write,
};

static void sim_debugfs_remove(void *data)
{
	debugfs_remove_recursive(data);
}

int sim_debugfs_register(struct massager_sim *sim)
{
	struct sim_dbg_attr *attrs;
	unsigned int i;

	attrs = devm_kcalloc(sim->dev, SIM_DBG_COUNT, sizeof(*attrs),
			     GFP_KERNEL);
	if (!attrs)
		return -ENOMEM;

	/* debugfs failures are not errors: the board works without it. */
	sim->debugfs = debugfs_create_dir("massager-sim", NULL);
	for (i = 0; i < SIM_DBG_COUNT; i++) {
		attrs[i].sim = sim;
		attrs[i].id = i;
		debugfs_create_file_unsafe(sim_dbg_desc[i].name,
					   sim_dbg_desc[i].max ? 0644 : 0444,
					   sim->debugfs, &attrs[i],
					   &sim_dbg_fops);
	}
	return devm_add_action_or_reset(sim->dev, sim_debugfs_remove,
					sim->debugfs);
}
