// SPDX-License-Identifier: MIT
/*
 * The BMI160 register model must answer as the chip does, or the kernel's
 * bmi160 driver would pass in our tests and fail on the station (or the
 * reverse): these tests pin down the datasheet behaviour the driver relies
 * on, and the parts where a naive model goes wrong (the SPI mode switch,
 * auto-increment, data-ready cleared by a data read, data overwritten
 * before being read, saturation at the programmed range).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmi160-model.h"

static void frame(struct bmi160_model *m, const uint8_t *tx, uint8_t *rx,
		  size_t n)
{
	bmi160_model_select(m);
	for (size_t i = 0; i < n; i++) {
		uint8_t b = bmi160_model_xfer_byte(m, tx ? tx[i] : 0);

		if (rx)
			rx[i] = b;
	}
	bmi160_model_deselect(m);
}

static uint8_t reg_read(struct bmi160_model *m, uint8_t reg)
{
	uint8_t tx[2] = { reg | BMI160_READ, 0 }, rx[2];

	frame(m, tx, rx, 2);
	return rx[1];
}

static void reg_write(struct bmi160_model *m, uint8_t reg, uint8_t val)
{
	uint8_t tx[2] = { reg, val };

	frame(m, tx, NULL, 2);
}

/* As bmi160_chip_init() leaves it, with data-ready on INT1, rising edge. */
static void chip_up(struct bmi160_model *m, uint8_t acc_conf)
{
	bmi160_model_reset(m);
	(void)reg_read(m, 0x7f);
	reg_write(m, BMI160_REG_CMD, 0x11);
	reg_write(m, BMI160_REG_ACC_CONF, acc_conf);
	reg_write(m, BMI160_REG_INT_OUT_CTRL,
		  BMI160_INT1_OUTPUT_EN | BMI160_INT1_LVL_HIGH |
		  BMI160_INT1_EDGE);
	reg_write(m, BMI160_REG_INT_MAP_1, BMI160_INT_MAP_1_INT1_DRDY);
	reg_write(m, BMI160_REG_INT_EN_1, BMI160_INT_EN_1_DRDY);
}

static void test_first_frame_after_reset_only_selects_spi(void **state)
{
	struct bmi160_model m = { 0 };

	(void)state;
	bmi160_model_reset(&m);
	assert_int_equal(reg_read(&m, BMI160_REG_CHIP_ID), 0);
	assert_int_equal(reg_read(&m, BMI160_REG_CHIP_ID), BMI160_CHIP_ID);

	/* A soft reset goes back to I2C mode: the driver's dummy read. */
	reg_write(&m, BMI160_REG_CMD, BMI160_CMD_SOFTRESET);
	reg_write(&m, BMI160_REG_ACC_RANGE, 0x0c);	/* lost */
	assert_int_equal(reg_read(&m, BMI160_REG_ACC_RANGE), 0x03);
}

static void test_soft_reset_restores_defaults_and_suspends(void **state)
{
	struct bmi160_model m = { 0 };

	(void)state;
	chip_up(&m, 0x2c);
	reg_write(&m, BMI160_REG_ACC_RANGE, 0x08);
	assert_int_equal(reg_read(&m, BMI160_REG_PMU_STATUS), 0x10);
	reg_write(&m, BMI160_REG_CMD, BMI160_CMD_SOFTRESET);
	(void)reg_read(&m, 0x7f);
	assert_int_equal(reg_read(&m, BMI160_REG_ACC_RANGE), 0x03);
	assert_int_equal(reg_read(&m, BMI160_REG_ACC_CONF), 0x28);
	assert_int_equal(reg_read(&m, BMI160_REG_PMU_STATUS), 0);
	assert_int_equal(bmi160_model_period_ns(&m), 0);
}

static void test_burst_read_increments_and_wraps(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t ug[3] = { 1000000, -1000000, 500000 };	/* 1 g, -1 g, 0.5 g */
	uint8_t tx[7] = { BMI160_REG_DATA_ACC_X | BMI160_READ }, rx[7];
	uint8_t wrap_tx[3] = { 0x7f | BMI160_READ }, wrap_rx[3];

	(void)state;
	chip_up(&m, 0x2c);
	bmi160_model_latch(&m, ug);
	frame(&m, tx, rx, sizeof(tx));
	/* +-2 g: 16384 counts per g, little-endian */
	assert_int_equal((int16_t)(rx[1] | rx[2] << 8), 16384);
	assert_int_equal((int16_t)(rx[3] | rx[4] << 8), -16384);
	assert_int_equal((int16_t)(rx[5] | rx[6] << 8), 8192);

	frame(&m, wrap_tx, wrap_rx, sizeof(wrap_tx));
	assert_int_equal(wrap_rx[2], BMI160_CHIP_ID);	/* 0x7f, then 0x00 */
}

static void test_burst_write_increments(void **state)
{
	struct bmi160_model m = { 0 };
	uint8_t tx[3] = { BMI160_REG_ACC_CONF, 0x2b, 0x05 };

	(void)state;
	chip_up(&m, 0x28);
	frame(&m, tx, NULL, sizeof(tx));
	assert_int_equal(reg_read(&m, BMI160_REG_ACC_CONF), 0x2b);
	assert_int_equal(bmi160_model_range_mg(&m), 4000);
	/* Read-only registers ignore writes. */
	reg_write(&m, BMI160_REG_CHIP_ID, 0);
	assert_int_equal(reg_read(&m, BMI160_REG_CHIP_ID), BMI160_CHIP_ID);
}

static void test_data_read_clears_data_ready(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t ug[3] = { 0 };

	(void)state;
	chip_up(&m, 0x2c);
	assert_true(bmi160_model_latch(&m, ug));
	assert_int_equal(reg_read(&m, BMI160_REG_STATUS) & BMI160_STATUS_DRDY_ACC,
			 BMI160_STATUS_DRDY_ACC);
	assert_int_equal(reg_read(&m, BMI160_REG_INT_STATUS_1),
			 BMI160_INT_STATUS_1_DRDY);
	/* Reading status does not clear it; one data byte does. */
	assert_int_equal(reg_read(&m, BMI160_REG_STATUS) & BMI160_STATUS_DRDY_ACC,
			 BMI160_STATUS_DRDY_ACC);
	(void)reg_read(&m, BMI160_REG_DATA_ACC_X + 5);
	assert_int_equal(reg_read(&m, BMI160_REG_STATUS) & BMI160_STATUS_DRDY_ACC, 0);
	assert_int_equal(reg_read(&m, BMI160_REG_INT_STATUS_1), 0);
}

static void test_unread_sample_is_overwritten_and_counted(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t a[3] = { 100000, 0, 0 }, b[3] = { 200000, 0, 0 };
	uint8_t tx[3] = { BMI160_REG_DATA_ACC_X | BMI160_READ }, rx[3];

	(void)state;
	chip_up(&m, 0x2c);
	bmi160_model_latch(&m, a);
	bmi160_model_latch(&m, b);	/* nobody read a */
	assert_int_equal(m.overwritten, 1);
	frame(&m, tx, rx, sizeof(tx));
	assert_int_equal((int16_t)(rx[1] | rx[2] << 8), 3277);	/* 0.2 g */
	bmi160_model_latch(&m, a);
	assert_int_equal(m.overwritten, 1);
	assert_int_equal(m.samples, 3);
	assert_int_equal(m.samples_armed, 3);
	/* With data-ready off nobody waits: nothing is lost or armed. */
	reg_write(&m, BMI160_REG_INT_EN_1, 0);
	bmi160_model_latch(&m, a);
	bmi160_model_latch(&m, b);
	assert_int_equal(m.overwritten, 1);
	assert_int_equal(m.samples, 5);
	assert_int_equal(m.samples_armed, 3);
}

static void test_int1_needs_enable_map_and_output(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t ug[3] = { 0 };

	(void)state;
	chip_up(&m, 0x2c);
	reg_write(&m, BMI160_REG_INT_EN_1, 0);
	assert_false(bmi160_model_latch(&m, ug));
	/* Without the interrupt, status still says new data. */
	assert_true(reg_read(&m, BMI160_REG_STATUS) & BMI160_STATUS_DRDY_ACC);
	reg_write(&m, BMI160_REG_INT_EN_1, BMI160_INT_EN_1_DRDY);
	reg_write(&m, BMI160_REG_INT_MAP_1, 0);
	assert_false(bmi160_model_latch(&m, ug));
	reg_write(&m, BMI160_REG_INT_MAP_1, BMI160_INT_MAP_1_INT1_DRDY);
	reg_write(&m, BMI160_REG_INT_OUT_CTRL, BMI160_INT1_EDGE);
	assert_false(bmi160_model_latch(&m, ug));
	reg_write(&m, BMI160_REG_INT_OUT_CTRL,
		  BMI160_INT1_OUTPUT_EN | BMI160_INT1_EDGE);
	assert_true(bmi160_model_latch(&m, ug));
	assert_false(bmi160_model_int1(&m));	/* edge: a pulse */

	/* Level-triggered: active until the data are read. */
	reg_write(&m, BMI160_REG_INT_OUT_CTRL, BMI160_INT1_OUTPUT_EN);
	assert_true(bmi160_model_latch(&m, ug));
	assert_true(bmi160_model_int1(&m));
	(void)reg_read(&m, BMI160_REG_DATA_ACC_X);
	assert_false(bmi160_model_int1(&m));
}

static void test_rate_follows_acc_conf_in_normal_mode_only(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t ug[3] = { 0 };

	(void)state;
	bmi160_model_reset(&m);
	(void)reg_read(&m, 0x7f);
	assert_int_equal(bmi160_model_period_ns(&m), 0);	/* suspended */
	assert_false(bmi160_model_latch(&m, ug));
	assert_int_equal(m.samples, 0);
	reg_write(&m, BMI160_REG_CMD, 0x11);
	assert_int_equal(bmi160_model_period_ns(&m), 10000000);	/* 100 Hz */
	reg_write(&m, BMI160_REG_ACC_CONF, 0x2c);
	assert_int_equal(bmi160_model_period_ns(&m), 625000);	/* 1600 Hz */
	reg_write(&m, BMI160_REG_ACC_CONF, 0x21);
	assert_int_equal(bmi160_model_period_ns(&m), 1280000000);
	reg_write(&m, BMI160_REG_ACC_CONF, 0x2d);		/* reserved */
	assert_int_equal(bmi160_model_period_ns(&m), 0);
	reg_write(&m, BMI160_REG_ACC_CONF, 0x2c);
	reg_write(&m, BMI160_REG_CMD, 0x10);			/* suspend */
	assert_int_equal(bmi160_model_period_ns(&m), 0);
}

static void test_output_saturates_at_programmed_range(void **state)
{
	struct bmi160_model m = { 0 };
	int32_t ug[3] = { 3000000, -3000000, 3000000 };	/* +-3 g */
	uint8_t tx[7] = { BMI160_REG_DATA_ACC_X | BMI160_READ }, rx[7];

	(void)state;
	chip_up(&m, 0x2c);
	bmi160_model_latch(&m, ug);
	frame(&m, tx, rx, sizeof(tx));
	assert_int_equal((int16_t)(rx[1] | rx[2] << 8), 32767);
	assert_int_equal((int16_t)(rx[3] | rx[4] << 8), -32768);

	reg_write(&m, BMI160_REG_ACC_RANGE, 0x05);	/* +-4 g */
	bmi160_model_latch(&m, ug);
	frame(&m, tx, rx, sizeof(tx));
	assert_int_equal((int16_t)(rx[1] | rx[2] << 8), 24576);
	assert_int_equal((int16_t)(rx[3] | rx[4] << 8), -24576);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_frame_after_reset_only_selects_spi),
		cmocka_unit_test(test_soft_reset_restores_defaults_and_suspends),
		cmocka_unit_test(test_burst_read_increments_and_wraps),
		cmocka_unit_test(test_burst_write_increments),
		cmocka_unit_test(test_data_read_clears_data_ready),
		cmocka_unit_test(test_unread_sample_is_overwritten_and_counted),
		cmocka_unit_test(test_int1_needs_enable_map_and_output),
		cmocka_unit_test(test_rate_follows_acc_conf_in_normal_mode_only),
		cmocka_unit_test(test_output_saturates_at_programmed_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
