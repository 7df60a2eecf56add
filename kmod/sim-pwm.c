// SPDX-License-Identifier: GPL-2.0-only
/*
 * The motor PWM of the simulated massager board
 *
 * One channel driving the motor through the plant: the duty cycle becomes
 * the plant's duty in ppm. The enable GPIO line gates it (sim-gpio.c).
 */

#include <linux/math64.h>
#include <linux/pwm.h>

#include "sim.h"
#include "sim-compat.h"

static int sim_pwm_apply(struct pwm_chip *chip, struct pwm_device *pwm,
			 const struct pwm_state *state)
{
	struct massager_sim *sim = sim_pwmchip_sim(chip);
	unsigned long flags;
	u32 duty_ppm = 0;

	/* The MOSFET stage has no inverted mode. */
	if (state->polarity != PWM_POLARITY_NORMAL)
		return -EINVAL;
	if (state->enabled && !state->period)
		return -EINVAL;
	if (state->period)
		duty_ppm = mul_u64_u64_div_u64(min(state->duty_cycle,
						   state->period),
					       PLANT_DUTY_MAX_PPM,
					       state->period);

	raw_spin_lock_irqsave(&sim->lock, flags);
	sim_plant_sync_locked(sim, ktime_get_ns());
	sim->duty_ppm = duty_ppm;
	sim->pwm_enabled = state->enabled;
	sim->period_ns = state->period;
	sim->duty_ns = state->duty_cycle;
	sim_drive_update_locked(sim);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	return 0;
}

static int sim_pwm_get_state(struct pwm_chip *chip, struct pwm_device *pwm,
			     struct pwm_state *state)
{
	struct massager_sim *sim = sim_pwmchip_sim(chip);
	unsigned long flags;

	raw_spin_lock_irqsave(&sim->lock, flags);
	state->period = sim->period_ns;
	state->duty_cycle = sim->duty_ns;
	state->enabled = sim->pwm_enabled;
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	state->polarity = PWM_POLARITY_NORMAL;
	return 0;
}

static const struct pwm_ops sim_pwm_ops = {
	.apply = sim_pwm_apply,
	.get_state = sim_pwm_get_state,
#if SIM_PWM_OPS_HAVE_OWNER
	.owner = THIS_MODULE,
#endif
};

int sim_pwm_register(struct massager_sim *sim)
{
	struct pwm_chip *chip;

	chip = sim_pwmchip_alloc(sim->dev, 1, sim);
	if (IS_ERR(chip))
		return PTR_ERR(chip);
	chip->ops = &sim_pwm_ops;
	sim->pwm = chip;
	return devm_pwmchip_add(sim->dev, chip);
}
