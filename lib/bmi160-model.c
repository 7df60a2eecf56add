// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * bmi160-model.c - the register map of a Bosch BMI160 (see bmi160-model.h)
 */
#include "bmi160-model.h"

#define BMI160_ACC_CONF_ODR		0x0f
#define BMI160_CMD_ACC_PMU(mode)	(0x10 | (mode))	/* 0x10..0x12 */
#define BMI160_CMD_GYR_PMU(mode)	(0x14 | (mode))	/* 0x14..0x17 */
#define BMI160_INT_DATA_BYTES		6

/* Register values after power-on and soft reset that differ from zero. */
static const struct {
	uint8_t reg, val;
} bmi160_reset_values[] = {
	{ BMI160_REG_CHIP_ID, BMI160_CHIP_ID },
	{ BMI160_REG_ACC_CONF, 0x28 },		/* 100 Hz, normal averaging */
	{ BMI160_REG_ACC_RANGE, 0x03 },		/* +-2 g */
	{ BMI160_REG_GYR_CONF, 0x28 },
	{ 0x44, 0x0b },				/* MAG_CONF */
	{ 0x45, 0x88 },				/* FIFO_DOWNS */
	{ 0x46, 0x80 },				/* FIFO_CONFIG_0 */
	{ 0x47, 0x10 },				/* FIFO_CONFIG_1 */
	{ BMI160_REG_FIFO_DATA, 0x80 },		/* empty FIFO frame */
};

/*
 * ACC_CONF.acc_odr -> period in ns: 25/32 Hz << (odr - 1), so odr 12 is
 * 1600 Hz; 0 and 13..15 are reserved for the accelerometer.
 */
uint64_t bmi160_model_period_ns(const struct bmi160_model *m)
{
	unsigned int odr = m->reg[BMI160_REG_ACC_CONF] & BMI160_ACC_CONF_ODR;

	if (m->acc_pmu != BMI160_PMU_NORMAL || odr < 1 || odr > 12)
		return 0;
	/* 1e9 / (25/32 * 2^(odr-1)) = 1.28e9 >> (odr - 1): exact for all */
	return 1280000000ull >> (odr - 1);
}

int32_t bmi160_model_range_mg(const struct bmi160_model *m)
{
	switch (m->reg[BMI160_REG_ACC_RANGE] & 0x0f) {
	case 0x05:
		return 4000;
	case 0x08:
		return 8000;
	case 0x0c:
		return 16000;
	default:
		/* 0x03, and reserved codes, which the chip treats as 2 g */
		return 2000;
	}
}

static void bmi160_clear(uint8_t *reg, uint8_t bits)
{
	*reg = (uint8_t)(*reg & (0xffu ^ bits));
}

static void bmi160_pmu_update(struct bmi160_model *m)
{
	m->reg[BMI160_REG_PMU_STATUS] = (uint8_t)(m->acc_pmu << 4 |
						  m->gyr_pmu << 2);
}

void bmi160_model_reset(struct bmi160_model *m)
{
	uint64_t samples = m->samples, overwritten = m->overwritten;
	uint64_t armed = m->samples_armed;
	unsigned int i;

	*m = (struct bmi160_model){ 0 };
	for (i = 0; i < sizeof(bmi160_reset_values) /
			sizeof(bmi160_reset_values[0]); i++)
		m->reg[bmi160_reset_values[i].reg] = bmi160_reset_values[i].val;
	/* Counters are the test bench's, not the chip's: they survive. */
	m->samples = samples;
	m->samples_armed = armed;
	m->overwritten = overwritten;
}

static void bmi160_command(struct bmi160_model *m, uint8_t cmd)
{
	if (cmd == BMI160_CMD_SOFTRESET) {
		/*
		 * Back to I2C mode as well; the chip is resetting while this
		 * frame's chip select rises, so only the next frame selects
		 * SPI (in_frame stays false: the rest of this frame is lost).
		 */
		bmi160_model_reset(m);
		return;
	}
	if (cmd >= BMI160_CMD_ACC_PMU(0) && cmd <= BMI160_CMD_ACC_PMU(2))
		m->acc_pmu = cmd - BMI160_CMD_ACC_PMU(0);
	else if (cmd >= BMI160_CMD_GYR_PMU(0) && cmd <= BMI160_CMD_GYR_PMU(3) &&
		 cmd != BMI160_CMD_GYR_PMU(2))
		m->gyr_pmu = cmd - BMI160_CMD_GYR_PMU(0);
	else
		return;
	if (m->acc_pmu != BMI160_PMU_NORMAL) {
		/* Off: no new data, and nothing stays pending. */
		bmi160_clear(&m->reg[BMI160_REG_STATUS], BMI160_STATUS_DRDY_ACC);
		bmi160_clear(&m->reg[BMI160_REG_INT_STATUS_1],
			     BMI160_INT_STATUS_1_DRDY);
		m->int1 = false;
	}
	bmi160_pmu_update(m);
}

/* Registers a write may change; the rest are read-only or reserved. */
static bool bmi160_writable(uint8_t reg)
{
	return (reg >= 0x40 && reg <= 0x4f) || (reg >= 0x50 && reg <= 0x7a) ||
	       reg == BMI160_REG_CMD;
}

static void bmi160_write(struct bmi160_model *m, uint8_t reg, uint8_t val)
{
	if (reg == BMI160_REG_CMD) {
		bmi160_command(m, val);
		return;
	}
	if (bmi160_writable(reg))
		m->reg[reg] = val;
}

static uint8_t bmi160_read(struct bmi160_model *m, uint8_t reg)
{
	uint8_t val = m->reg[reg];

	if (reg >= BMI160_REG_DATA_ACC_X &&
	    reg < BMI160_REG_DATA_ACC_X + BMI160_INT_DATA_BYTES) {
		/* Any accelerometer data byte clears data-ready. */
		bmi160_clear(&m->reg[BMI160_REG_STATUS], BMI160_STATUS_DRDY_ACC);
		bmi160_clear(&m->reg[BMI160_REG_INT_STATUS_1],
			     BMI160_INT_STATUS_1_DRDY);
		m->int1 = false;
	}
	return val;
}

void bmi160_model_select(struct bmi160_model *m)
{
	m->in_frame = true;
	m->frame_bytes = 0;
	m->frame_ignored = !m->spi_mode;
}

uint8_t bmi160_model_xfer_byte(struct bmi160_model *m, uint8_t mosi)
{
	uint8_t miso = 0;

	if (!m->in_frame || m->frame_ignored)
		return 0;
	if (m->frame_bytes++ == 0) {
		m->read = mosi & BMI160_READ;
		m->addr = mosi & (BMI160_REG_COUNT - 1);
		return 0;
	}
	if (m->read)
		miso = bmi160_read(m, m->addr);
	else
		bmi160_write(m, m->addr, mosi);
	/* A soft reset ends what the frame can do (see bmi160_command()). */
	if (m->in_frame)
		m->addr = (m->addr + 1) & (BMI160_REG_COUNT - 1);
	return miso;
}

void bmi160_model_deselect(struct bmi160_model *m)
{
	if (m->in_frame)
		m->spi_mode = true;	/* a rising chip select selects SPI */
	m->in_frame = false;
}

static int16_t bmi160_counts(int32_t ug, int32_t range_mg)
{
	/* 32768 counts per full scale, rounded to nearest, then saturated */
	int64_t c = (int64_t)ug * 32768;
	int64_t fs = (int64_t)range_mg * 1000;

	c = c >= 0 ? (c + fs / 2) / fs : -((-c + fs / 2) / fs);
	if (c > 32767)
		return 32767;
	if (c < -32768)
		return -32768;
	return (int16_t)c;
}

bool bmi160_model_int1(const struct bmi160_model *m)
{
	return m->int1;
}

bool bmi160_model_unread(const struct bmi160_model *m)
{
	return (m->reg[BMI160_REG_STATUS] & BMI160_STATUS_DRDY_ACC) &&
	       (m->reg[BMI160_REG_INT_EN_1] & BMI160_INT_EN_1_DRDY);
}

bool bmi160_model_latch(struct bmi160_model *m, const int32_t accel_ug[3])
{
	int32_t range_mg = bmi160_model_range_mg(m);
	bool pulse;
	int i;

	if (!bmi160_model_period_ns(m))
		return false;
	/* Lost to a reader: one waiting on data-ready did not read it. */
	if (bmi160_model_unread(m))
		m->overwritten++;
	for (i = 0; i < 3; i++) {
		uint16_t c = (uint16_t)bmi160_counts(accel_ug[i], range_mg);

		m->reg[BMI160_REG_DATA_ACC_X + 2 * i] = (uint8_t)(c & 0xff);
		m->reg[BMI160_REG_DATA_ACC_X + 2 * i + 1] = (uint8_t)(c >> 8);
	}
	m->samples++;
	m->reg[BMI160_REG_STATUS] |= BMI160_STATUS_DRDY_ACC;
	if (!(m->reg[BMI160_REG_INT_EN_1] & BMI160_INT_EN_1_DRDY))
		return false;
	m->samples_armed++;
	m->reg[BMI160_REG_INT_STATUS_1] |= BMI160_INT_STATUS_1_DRDY;
	pulse = (m->reg[BMI160_REG_INT_MAP_1] & BMI160_INT_MAP_1_INT1_DRDY) &&
		(m->reg[BMI160_REG_INT_OUT_CTRL] & BMI160_INT1_OUTPUT_EN);
	/* Level-triggered, INT1 stays active until the data are read. */
	m->int1 = pulse &&
		  !(m->reg[BMI160_REG_INT_OUT_CTRL] & BMI160_INT1_EDGE);
	return pulse;
}
