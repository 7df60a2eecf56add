// SPDX-License-Identifier: GPL-2.0-only
/*
 * The accelerometer of the simulated massager board
 *
 * An ADXL345-like 3-axis accelerometer (16-bit signed samples, 3.9 mg LSB
 * by default, 100..3200 Hz) on the massager head, read from the plant.
 * Buffered capture goes through a kfifo; samples are made by one soft
 * hrtimer, which also keeps the plant's time current while nobody samples.
 *
 * Timing: sample k of a capture is due at t0 + k / rate, computed from k
 * so that no rounding accumulates. When the timer runs late (TCG emulation,
 * a loaded host) every sample that fell due is still made, with the
 * timestamp it was due at, and counted as a catch-up: a capture of T seconds
 * delivers rate * T samples. The timer is a soft one (HRTIMER_MODE_*_SOFT):
 * pushing to the buffer wakes the reader, which takes locks that sleep on
 * PREEMPT_RT, so it must not run in hard interrupt context; the plant work
 * per sample is bounded (see sim-board.c).
 */

#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/iio/buffer.h>
#include <linux/iio/driver.h>
#include <linux/iio/iio.h>
#include <linux/iio/machine.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>

#include "sim.h"
#include "sim-compat.h"

/*
 * One scan as the kfifo stores it: three LE samples, then the timestamp
 * at offset 8 (accel[3] is padding, so s64's alignment does not matter).
 */
struct sim_scan {
	__le16 accel[4];
	s64 timestamp;
};

/* A late timer makes at most this many samples per run, then re-fires. */
#define SIM_BURST_MAX	64

enum sim_scan_index {
	SIM_SCAN_X,
	SIM_SCAN_Y,
	SIM_SCAN_Z,
	SIM_SCAN_TIMESTAMP,
};

#define SIM_ACCEL_CHANNEL(axis, name) {					\
	.type = IIO_ACCEL,						\
	.modified = 1,							\
	.channel2 = IIO_MOD_##axis,					\
	.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),			\
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),		\
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),	\
	.info_mask_shared_by_all_available =				\
		BIT(IIO_CHAN_INFO_SAMP_FREQ),				\
	.scan_index = SIM_SCAN_##axis,					\
	.scan_type = {							\
		.sign = 's',						\
		.realbits = 16,						\
		.storagebits = 16,					\
		.endianness = IIO_LE,					\
	},								\
	.datasheet_name = name,						\
}

static const struct iio_chan_spec sim_accel_channels[] = {
	SIM_ACCEL_CHANNEL(X, "accel_x"),
	SIM_ACCEL_CHANNEL(Y, "accel_y"),
	SIM_ACCEL_CHANNEL(Z, "accel_z"),
	IIO_CHAN_SOFT_TIMESTAMP(SIM_SCAN_TIMESTAMP),
};

/* In-kernel consumer: massager.ko reads the channels by these names. */
static struct iio_map sim_accel_maps[] = {
	{ .adc_channel_label = "accel_x", .consumer_dev_name = "massager.0",
	  .consumer_channel = "accel_x" },
	{ .adc_channel_label = "accel_y", .consumer_dev_name = "massager.0",
	  .consumer_channel = "accel_y" },
	{ .adc_channel_label = "accel_z", .consumer_dev_name = "massager.0",
	  .consumer_channel = "accel_z" },
	{ }
};

/* Any whole frequency in the range: [min step max]. */
static const int sim_rate_range[] = { SIM_RATE_MIN_HZ, 1, SIM_RATE_MAX_HZ };

/* Caller holds sim->lock. */
u64 sim_sample_due_ns(const struct massager_sim *sim)
{
	return sim->seq_t0_ns + mul_u64_u32_div(sim->seq, NSEC_PER_SEC,
						 sim->rate_hz);
}

static void sim_timer_start_locked(struct massager_sim *sim, u64 expiry_ns)
{
	/*
	 * Bring the plant to now while it still counts as parked: the idle
	 * time is skipped, not simulated with interrupts off.
	 */
	sim_plant_sync_locked(sim, ktime_get_ns());
	sim->timer_armed = true;
	hrtimer_start(&sim->timer, ns_to_ktime(expiry_ns),
		      HRTIMER_MODE_ABS_SOFT);
}

/**
 * sim_timer_kick_locked() - make sure the timer runs after an input change
 * @sim: the board, sim->lock held
 *
 * Only a parked timer is started here. An armed one is left alone: it is
 * queued, or its callback will re-arm it, and the callback must be the only
 * one to move the expiry of a timer it may re-arm.
 */
void sim_timer_kick_locked(struct massager_sim *sim)
{
	lockdep_assert_held(&sim->lock);
	if (!sim->timer_armed)
		sim_timer_start_locked(sim, ktime_get_ns());
}

/*
 * After a change of mode: fire at @expiry_ns. If the callback is running
 * it cannot be cancelled, but it reads the new mode under the lock before
 * it re-arms.
 */
static void sim_timer_retime_locked(struct massager_sim *sim, u64 expiry_ns)
{
	if (sim->timer_armed && hrtimer_try_to_cancel(&sim->timer) < 0)
		return;
	sim_timer_start_locked(sim, expiry_ns);
}

static bool sim_plant_at_rest_locked(struct massager_sim *sim)
{
	bool driven = sim->pwm_enabled && sim->duty_ppm &&
		      test_bit(SIM_GPIO_ENABLE, &sim->line_val);

	return !driven && !plant_freq_mhz(&sim->plant) &&
	       !plant_current_ma(&sim->plant);
}

static void sim_push(struct massager_sim *sim, const struct plant_sample *s,
		     s64 timestamp)
{
	struct sim_scan scan = { };
	unsigned long flags;
	int r;

	scan.accel[SIM_SCAN_X] = cpu_to_le16(s->x);
	scan.accel[SIM_SCAN_Y] = cpu_to_le16(s->y);
	scan.accel[SIM_SCAN_Z] = cpu_to_le16(s->z);
	r = iio_push_to_buffers_with_timestamp(sim->indio_dev, &scan,
					       timestamp);

	raw_spin_lock_irqsave(&sim->lock, flags);
	if (r)
		sim->overruns++;
	else
		sim->samples++;
	raw_spin_unlock_irqrestore(&sim->lock, flags);
}

/*
 * The IIO timestamp of a sample due at monotonic @due_ns, in the clock
 * userspace chose for the device. Converted with the timekeeper's offsets,
 * not by reading two clocks, so catch-up samples keep their exact spacing.
 */
static s64 sim_iio_timestamp(struct iio_dev *indio_dev, u64 due_ns)
{
	ktime_t due = ns_to_ktime(due_ns);

	switch (iio_device_get_clock(indio_dev)) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		return due_ns;
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return ktime_to_ns(ktime_mono_to_any(due, TK_OFFS_REAL));
	case CLOCK_BOOTTIME:
		return ktime_to_ns(ktime_mono_to_any(due, TK_OFFS_BOOT));
	case CLOCK_TAI:
		return ktime_to_ns(ktime_mono_to_any(due, TK_OFFS_TAI));
	default:
		return iio_get_time_ns(indio_dev) - ktime_get_ns() + due_ns;
	}
}

/*
 * Make every sample of the capture that is due by @now_ns, @max at most,
 * each with the timestamp it was due at. All but the first of a run are
 * late: they count as catch-ups. Only one context runs this at a time: the
 * timer callback, or predisable once the timer is cancelled.
 */
static void sim_capture_catch_up(struct massager_sim *sim, u64 now_ns,
				 unsigned int max)
{
	unsigned int burst = 0;
	unsigned long flags;

	raw_spin_lock_irqsave(&sim->lock, flags);
	while (sim->sampling && burst < max) {
		u64 due_ns = sim_sample_due_ns(sim);
		struct plant_sample s;
		int r;

		if (due_ns > now_ns)
			break;
		sim_plant_sync_locked(sim, due_ns);
		r = plant_sample(&sim->plant, &s);
		sim->seq++;
		if (burst++)
			sim->catchups++;
		if (r) {
			sim->dropped++;	/* dropout fault: the sensor is mute */
			continue;
		}
		raw_spin_unlock_irqrestore(&sim->lock, flags);
		/* The IIO device is alive while sampling (predisable waits). */
		sim_push(sim, &s, sim_iio_timestamp(sim->indio_dev, due_ns));
		raw_spin_lock_irqsave(&sim->lock, flags);
	}
	raw_spin_unlock_irqrestore(&sim->lock, flags);
}

static enum hrtimer_restart sim_timer_fn(struct hrtimer *timer)
{
	struct massager_sim *sim = container_of(timer, struct massager_sim,
						timer);
	u64 now_ns = ktime_get_ns();
	unsigned long flags;
	u64 expiry_ns;

	sim_capture_catch_up(sim, now_ns, SIM_BURST_MAX);

	raw_spin_lock_irqsave(&sim->lock, flags);
	if (sim->sampling) {
		/* In the past if the burst was cut short: fires again now. */
		expiry_ns = sim_sample_due_ns(sim);
	} else {
		sim_plant_sync_locked(sim, now_ns);
		if (sim_plant_at_rest_locked(sim)) {
			sim->timer_armed = false;
			raw_spin_unlock_irqrestore(&sim->lock, flags);
			return HRTIMER_NORESTART;
		}
		expiry_ns = now_ns + SIM_TICK_NS;
	}
	hrtimer_set_expires(timer, ns_to_ktime(expiry_ns));
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	return HRTIMER_RESTART;
}

/* Start a capture at the current rate: sample 0 is due one period on. */
static void sim_capture_start_locked(struct massager_sim *sim)
{
	sim->seq = 0;
	sim->seq_t0_ns = ktime_get_ns() + div_u64(NSEC_PER_SEC, sim->rate_hz);
	sim_timer_retime_locked(sim, sim->seq_t0_ns);
}

static int sim_buffer_postenable(struct iio_dev *indio_dev)
{
	struct massager_sim *sim = iio_device_get_drvdata(indio_dev);
	unsigned long flags;

	mutex_lock(&sim->capture_lock);
	raw_spin_lock_irqsave(&sim->lock, flags);
	sim->sampling = true;
	sim_capture_start_locked(sim);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	mutex_unlock(&sim->capture_lock);
	return 0;
}

static int sim_buffer_predisable(struct iio_dev *indio_dev)
{
	struct massager_sim *sim = iio_device_get_drvdata(indio_dev);
	unsigned long flags;

	mutex_lock(&sim->capture_lock);
	/*
	 * Stop the timer (waiting out a callback that may be pushing), then
	 * make the samples that fell due while it ran late: a capture ends
	 * with every sample due before it was disabled.
	 */
	hrtimer_cancel(&sim->timer);
	sim_capture_catch_up(sim, ktime_get_ns(), UINT_MAX);

	raw_spin_lock_irqsave(&sim->lock, flags);
	sim->sampling = false;
	/* Re-arm for housekeeping; the callback parks it if all is still. */
	if (sim->timer_armed && !hrtimer_active(&sim->timer))
		sim_timer_start_locked(sim, ktime_get_ns());
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	mutex_unlock(&sim->capture_lock);
	return 0;
}

static const struct iio_buffer_setup_ops sim_buffer_ops = {
	.postenable = sim_buffer_postenable,
	.predisable = sim_buffer_predisable,
};

static int sim_read_raw(struct iio_dev *indio_dev,
			struct iio_chan_spec const *chan,
			int *val, int *val2, long mask)
{
	struct massager_sim *sim = iio_device_get_drvdata(indio_dev);
	struct plant_sample s;
	unsigned long flags;
	u64 scale_nano;
	int r;

	switch (mask) {
	case IIO_CHAN_INFO_RAW:
		raw_spin_lock_irqsave(&sim->lock, flags);
		sim_plant_sync_locked(sim, ktime_get_ns());
		r = plant_sample(&sim->plant, &s);
		raw_spin_unlock_irqrestore(&sim->lock, flags);
		if (r)
			return -EIO;
		switch (chan->channel2) {
		case IIO_MOD_X:
			*val = s.x;
			break;
		case IIO_MOD_Y:
			*val = s.y;
			break;
		default:
			*val = s.z;
			break;
		}
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:
		/* One LSB in m/s^2: lsb_ug * 9.80665 um/s^2 = nano m/s^2. */
		scale_nano = div_u64((u64)sim->plant.p.sensor_lsb_ug * 980665,
				     100);
		*val = div_u64_rem(scale_nano, NSEC_PER_SEC, (u32 *)val2);
		return IIO_VAL_INT_PLUS_NANO;
	case IIO_CHAN_INFO_SAMP_FREQ:
		raw_spin_lock_irqsave(&sim->lock, flags);
		*val = sim->rate_hz;
		raw_spin_unlock_irqrestore(&sim->lock, flags);
		return IIO_VAL_INT;
	default:
		return -EINVAL;
	}
}

static int sim_read_avail(struct iio_dev *indio_dev,
			  struct iio_chan_spec const *chan,
			  const int **vals, int *type, int *length, long mask)
{
	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	*vals = sim_rate_range;
	*type = IIO_VAL_INT;
	*length = ARRAY_SIZE(sim_rate_range);
	return IIO_AVAIL_RANGE;
}

static int sim_write_raw(struct iio_dev *indio_dev,
			 struct iio_chan_spec const *chan,
			 int val, int val2, long mask)
{
	struct massager_sim *sim = iio_device_get_drvdata(indio_dev);
	unsigned long flags;

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	if (val2 || val < SIM_RATE_MIN_HZ || val > SIM_RATE_MAX_HZ)
		return -EINVAL;

	mutex_lock(&sim->capture_lock);
	raw_spin_lock_irqsave(&sim->lock, flags);
	sim->rate_hz = val;
	/* A running capture continues at the new rate from now on. */
	if (sim->sampling)
		sim_capture_start_locked(sim);
	raw_spin_unlock_irqrestore(&sim->lock, flags);
	mutex_unlock(&sim->capture_lock);
	return 0;
}

static int sim_write_raw_get_fmt(struct iio_dev *indio_dev,
				 struct iio_chan_spec const *chan, long mask)
{
	return IIO_VAL_INT;
}

static const struct iio_info sim_accel_info = {
	.read_raw = sim_read_raw,
	.read_avail = sim_read_avail,
	.write_raw = sim_write_raw,
	.write_raw_get_fmt = sim_write_raw_get_fmt,
};

static void sim_timer_cancel(void *data)
{
	struct massager_sim *sim = data;

	hrtimer_cancel(&sim->timer);
}

int sim_timer_setup(struct massager_sim *sim)
{
	mutex_init(&sim->capture_lock);
	hrtimer_init(&sim->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	sim->timer.function = sim_timer_fn;
	return devm_add_action_or_reset(sim->dev, sim_timer_cancel, sim);
}

int sim_iio_register(struct massager_sim *sim)
{
	struct iio_dev *indio_dev;
	int r;

	indio_dev = devm_iio_device_alloc(sim->dev, 0);
	if (!indio_dev)
		return -ENOMEM;
	iio_device_set_drvdata(indio_dev, sim);
	indio_dev->name = "massager-sim-accel";
	indio_dev->info = &sim_accel_info;
	indio_dev->modes = INDIO_DIRECT_MODE;
	indio_dev->channels = sim_accel_channels;
	indio_dev->num_channels = ARRAY_SIZE(sim_accel_channels);
	sim->indio_dev = indio_dev;

	r = sim_iio_kfifo_setup(sim->dev, indio_dev, &sim_buffer_ops);
	if (r)
		return r;
	r = devm_iio_device_register(sim->dev, indio_dev);
	if (r)
		return r;
	return devm_iio_map_array_register(sim->dev, indio_dev, sim_accel_maps);
}
