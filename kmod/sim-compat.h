/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences between the kernels we ship on
 *
 * Debian 12 runs 6.1; bookworm-backports brings 6.12 (and 6.12-rt). Every
 * LINUX_VERSION_CODE test of the simulated board lives here, so the
 * providers read as if written for one kernel.
 */
#ifndef MASSAGED_SIM_COMPAT_H
#define MASSAGED_SIM_COMPAT_H

#include <linux/device.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/pwm.h>
#include <linux/slab.h>
#include <linux/version.h>

struct massager_sim;

/*
 * PWM chips: since 6.9 the core allocates struct pwm_chip (it embeds a
 * struct device whose lifetime the core owns) and keeps the driver's data
 * behind pwmchip_get_drvdata(); before, drivers embedded struct pwm_chip
 * and filled .dev and .npwm themselves, and pwm_ops had an .owner.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)

static inline struct pwm_chip *sim_pwmchip_alloc(struct device *parent,
						 unsigned int npwm,
						 struct massager_sim *sim)
{
	struct pwm_chip *chip = devm_pwmchip_alloc(parent, npwm, 0);

	if (!IS_ERR(chip))
		pwmchip_set_drvdata(chip, sim);
	return chip;
}

static inline struct massager_sim *sim_pwmchip_sim(struct pwm_chip *chip)
{
	return pwmchip_get_drvdata(chip);
}

#define SIM_PWM_OPS_HAVE_OWNER 0

#else

struct sim_pwmchip {
	struct pwm_chip chip;
	struct massager_sim *sim;
};

static inline struct pwm_chip *sim_pwmchip_alloc(struct device *parent,
						 unsigned int npwm,
						 struct massager_sim *sim)
{
	struct sim_pwmchip *sc = devm_kzalloc(parent, sizeof(*sc), GFP_KERNEL);

	if (!sc)
		return ERR_PTR(-ENOMEM);
	sc->chip.dev = parent;
	sc->chip.npwm = npwm;
	sc->sim = sim;
	return &sc->chip;
}

static inline struct massager_sim *sim_pwmchip_sim(struct pwm_chip *chip)
{
	return container_of(chip, struct sim_pwmchip, chip)->sim;
}

#define SIM_PWM_OPS_HAVE_OWNER 1

#endif

/*
 * The PWM core exports its API in namespace PWM since 6.10; 6.13 made the
 * namespace argument a string.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define SIM_IMPORT_NS_PWM() MODULE_IMPORT_NS("PWM")
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define SIM_IMPORT_NS_PWM() MODULE_IMPORT_NS(PWM)
#else
#define SIM_IMPORT_NS_PWM()
#endif

/*
 * kfifo buffers: 5.19 dropped the mode_flags argument of
 * devm_iio_kfifo_buffer_setup() and 6.2 changed the type of the buffer
 * attributes of the _ext() variant; the three-argument form below is what
 * both 6.1 and 6.12 accept, with no extra buffer attributes.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0)
#define sim_iio_kfifo_setup(dev, indio_dev, ops) \
	devm_iio_kfifo_buffer_setup(dev, indio_dev, ops)
#else
#define sim_iio_kfifo_setup(dev, indio_dev, ops) \
	devm_iio_kfifo_buffer_setup(dev, indio_dev, INDIO_BUFFER_SOFTWARE, ops)
#endif

#endif
