/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * bmi160-model.h - the register map of a Bosch BMI160 IMU, as its SPI
 * interface answers it
 *
 * massager-sim.ko puts this model behind an emulated SPI controller, so
 * that the kernel's own bmi160_spi driver probes and captures from it as it
 * does from the chip on the Raspberry Pi. The same source builds into the
 * unit tests, so it is freestanding like plant.c: integers only, no libc,
 * no allocation, no locking (the caller serialises).
 *
 * What is modelled (BMI160 datasheet, rev. 1.0, sections 2.11, 3.2 and
 * 2.11.x register descriptions): CHIP_ID, ERR_REG, PMU_STATUS and the CMD
 * register (soft reset, accelerometer and gyroscope power modes); the data
 * registers DATA_8..19 (little-endian two's complement, 16 bits, scaled by
 * ACC_RANGE); STATUS.drdy_acc and INT_STATUS_1.drdy_int, both cleared by
 * reading an accelerometer data byte; ACC_CONF's output data rate;
 * INT_EN_1, INT_OUT_CTRL, INT_LATCH and INT_MAP_1 deciding whether a new
 * sample pulses INT1; SPI framing: the first byte of a frame is the address
 * with bit 7 set for a read, then the address increments by one per byte
 * (burst read and write), wrapping from 0x7f to 0x00; after power-on or soft
 * reset the chip is in I2C mode and ignores the first SPI frame, whose
 * rising chip select switches it to SPI (the driver's dummy read of 0x7f).
 *
 * Not modelled (docs/sim-board.md): the FIFO (reads as empty, 0x80, and
 * FIFO_LENGTH 0; the upstream driver does not use it), the gyroscope and
 * magnetometer data (read as zero), sensortime, temperature (reads 0, that
 * is 23 degC), any-motion and tap engines, self-test, offset compensation,
 * low-power undersampling, write-settling delays.
 */
#ifndef MASSAGED_BMI160_MODEL_H
#define MASSAGED_BMI160_MODEL_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#define BMI160_REG_CHIP_ID		0x00
#define BMI160_CHIP_ID			0xd1
#define BMI160_REG_ERR			0x02
#define BMI160_REG_PMU_STATUS		0x03
#define BMI160_REG_DATA_ACC_X		0x12	/* x lsb, x msb, y.., z.. */
#define BMI160_REG_STATUS		0x1b
#define BMI160_STATUS_DRDY_ACC		0x80
#define BMI160_REG_INT_STATUS_1		0x1d
#define BMI160_INT_STATUS_1_DRDY	0x10
#define BMI160_REG_FIFO_LENGTH_0	0x22
#define BMI160_REG_FIFO_DATA		0x24
#define BMI160_REG_ACC_CONF		0x40
#define BMI160_REG_ACC_RANGE		0x41
#define BMI160_REG_GYR_CONF		0x42
#define BMI160_REG_INT_EN_1		0x51
#define BMI160_INT_EN_1_DRDY		0x10
#define BMI160_REG_INT_OUT_CTRL		0x53
#define BMI160_INT1_EDGE		0x01
#define BMI160_INT1_LVL_HIGH		0x02
#define BMI160_INT1_OUTPUT_EN		0x08
#define BMI160_REG_INT_LATCH		0x54
#define BMI160_REG_INT_MAP_1		0x56
#define BMI160_INT_MAP_1_INT1_DRDY	0x80
#define BMI160_REG_CMD			0x7e
#define BMI160_CMD_SOFTRESET		0xb6
#define BMI160_REG_COUNT		0x80

#define BMI160_READ			0x80	/* address byte: read */
#define BMI160_ODR_MAX_HZ		1600

enum bmi160_pmu {
	BMI160_PMU_SUSPEND,
	BMI160_PMU_NORMAL,
	BMI160_PMU_LOW_POWER,
	BMI160_PMU_FAST_STARTUP,
};

/**
 * struct bmi160_model - one chip
 * @reg: register file, as reads return it
 * @acc_pmu: accelerometer power mode
 * @gyr_pmu: gyroscope power mode
 * @spi_mode: false after reset until the first chip-select frame ends
 * @in_frame: chip select is asserted
 * @frame_bytes: bytes clocked in the current frame
 * @addr: register of the next data byte of the frame
 * @read: the current frame reads
 * @frame_ignored: the current frame came in I2C mode and does nothing
 * @int1: level of the INT1 pin, true = active
 * @samples: samples latched into the data registers
 * @samples_armed: of those, latched while data-ready was enabled: each is
 *	read by the reader waiting on INT1, or overwritten
 * @overwritten: samples latched while the previous one was still unread
 *	and data-ready was enabled: lost to the reader waiting on INT1
 */
struct bmi160_model {
	uint8_t reg[BMI160_REG_COUNT];
	uint8_t acc_pmu;
	uint8_t gyr_pmu;
	bool spi_mode;
	bool in_frame;
	uint32_t frame_bytes;
	uint8_t addr;
	bool read;
	bool frame_ignored;
	bool int1;
	uint64_t samples;
	uint64_t samples_armed;
	uint64_t overwritten;
};

/* Power-on state: every register at its reset value, both sensors off. */
void bmi160_model_reset(struct bmi160_model *m);

/* Chip select asserted, then one MOSI byte at a time (returns MISO). */
void bmi160_model_select(struct bmi160_model *m);
uint8_t bmi160_model_xfer_byte(struct bmi160_model *m, uint8_t mosi);
void bmi160_model_deselect(struct bmi160_model *m);

/*
 * Sample period the chip runs at now: 0 when the accelerometer is not in
 * normal mode or ACC_CONF holds no valid rate.
 */
uint64_t bmi160_model_period_ns(const struct bmi160_model *m);
/* Full scale of ACC_RANGE in mg (2000, 4000, 8000 or 16000). */
int32_t bmi160_model_range_mg(const struct bmi160_model *m);

/*
 * A new accelerometer sample, in micro-g per axis: scaled to the range,
 * clipped at it as the chip saturates, latched into the data registers.
 * Returns true when INT1 pulses (data-ready enabled, mapped and output):
 * the pin goes active and, edge-triggered, inactive again; level-triggered
 * it stays active until the data are read (bmi160_model_int1()).
 */
bool bmi160_model_latch(struct bmi160_model *m, const int32_t accel_ug[3]);
bool bmi160_model_int1(const struct bmi160_model *m);
/* Data-ready is enabled and the latched sample has not been read yet. */
bool bmi160_model_unread(const struct bmi160_model *m);

#endif
