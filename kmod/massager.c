// SPDX-License-Identifier: GPL-2.0-only
/*
 * Board driver for an ERM vibration massager (massager.ko)
 *
 * The board has a DC motor with an eccentric mass driven by a PWM through
 * a gate driver with an enable line, an e-stop switch on a GPIO with an
 * interrupt, and an accelerometer served by its own IIO driver. This driver
 * owns the motor: userspace (massaged) drives it through /dev/massagerN,
 * and the driver keeps it safe whatever userspace does:
 *
 *  - one control owner at a time; its release (close, crash) stops the motor;
 *  - every drive command kicks a heartbeat watchdog; a missed heartbeat
 *    stops the motor until the next drive command;
 *  - the e-stop interrupt stops the motor without waiting for userspace and
 *    latches until the owner resets it with the line released;
 *  - no command exceeds the duty ceiling;
 *  - unbind stops the motor; open files then fail with ENODEV.
 *
 * "Stop" always drops the enable line first, then turns the PWM off.
 *
 * What stops the motor, in which context (chosen so that no thread that a
 * userspace real-time priority can starve stands between a missed
 * heartbeat or an e-stop edge and the enable line going low):
 *  - the heartbeat hrtimer is HRTIMER_MODE_REL_HARD: it expires in hard
 *    interrupt context on RT and !RT alike and drops the enable line there;
 *  - the e-stop IRQ is requested IRQF_NO_THREAD: its primary handler runs
 *    in hard interrupt context on RT too (not force-threaded) and drops the
 *    enable line there;
 *  - the rest of a stop (PWM off, state, counters, events) runs in process
 *    context under @lock: a watchdog trip on the board's own kthread_worker
 *    ("massager.N-stop", SCHED_FIFO 50 from sched_set_fifo()), an e-stop in
 *    its IRQ thread (SCHED_FIFO 50, like every IRQ thread); never on a
 *    shared workqueue. Both may be held off by a real-time task of higher
 *    priority; the motor is already off by then, and the first ioctl or
 *    sysfs read finishes the stop itself (massager_lock_settled()). Events
 *    carry the time the hard part ran, not the time they were queued.
 *  - so both lines must be on gpiochips that cannot sleep: probe refuses
 *    an enable or e-stop line behind a sleeping bus (an I2C expander), for
 *    which the stop would wait for a thread (docs/kernel-abi.md). On RT the
 *    chip's .set and .get must also be safe in hard interrupt context (a
 *    raw_spinlock_t or no lock, as the Pi's pinctrl-bcm2835 and the
 *    simulated board have).
 *
 * Locking:
 *  - @lock (mutex) serialises every output change and the state; PWM calls
 *    may sleep, so only a mutex fits.
 *  - the e-stop primary handler and the watchdog hrtimer callback take no
 *    lock: they record the time, set an atomic flag bit and drop the enable
 *    line; whoever takes @lock next settles the flag.
 *  - @event_lock (spinlock_t) guards the open-file list and their event
 *    queues; it is never taken from hard interrupt context.
 *
 * A heartbeat (a DRIVE at the duty already applied) writes nothing to the
 * hardware: it only re-arms the timer.
 *
 * Lifetime: struct massager is refcounted (kref), not devm-allocated: open
 * files keep it after the platform device is gone. Unbind marks it dead
 * under @lock before the devm-managed PWM, GPIOs and IRQ are released;
 * nothing touches them after that.
 */

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gpio/consumer.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/iio/consumer.h>
#include <linux/iio/iio.h>
#include <linux/interrupt.h>
#include <linux/kfifo.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/miscdevice.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/pm.h>
#include <linux/poll.h>
#include <linux/property.h>
#include <linux/pwm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <uapi/massager.h>

#include "massager-board.h"
#include "massager-compat.h"

/* Events each open file holds before it drops new ones (power of two). */
#define MASSAGER_EVENT_QUEUE_LEN	64
/* PWM period when neither the lookup table nor the DT gives one: 25 kHz. */
#define MASSAGER_DEFAULT_PERIOD_NS	40000

static unsigned int max_duty = MASSAGER_DUTY_FULL_PERMILLE;
module_param(max_duty, uint, 0444);
MODULE_PARM_DESC(max_duty,
		 "Hard duty ceiling in permille, 1..1000; the lower of this and the device property massaged,max-duty-permille wins (default 1000)");

static DEFINE_IDA(massager_ida);

/* Bits of massager.flags, set from hard interrupt or timer context. */
enum massager_flag {
	MASSAGER_WATCHDOG_FIRED,	/* hrtimer expired, trip not yet handled */
	MASSAGER_ESTOP_PENDING,		/* e-stop edge seen, not yet latched */
};

struct massager_file;

/**
 * struct massager - one massager board
 * @kref: held by the bound device and by every open file
 * @dev: the platform device; only used while !@dead
 * @misc: /dev/massagerN
 * @name: "massagerN"
 * @id: N, from massager_ida
 * @pwm: motor PWM
 * @pwm_period_ns: PWM period applied with every duty
 * @pwm_inversed: PWM polarity from the lookup table or DT
 * @enable_gpio: motor enable line, high = enabled; its chip cannot sleep
 * @estop_gpio: e-stop line, logical 1 = pressed; its chip cannot sleep
 * @max_duty_permille: hard duty ceiling
 * @iio_device: name of the accelerometer's IIO device
 * @gpiochip: label of the e-stop line's gpiochip
 * @lock: serialises outputs and every field below up to @flags
 * @dead: unbound; set under @lock, read with READ_ONCE() elsewhere
 * @owner: the control file, or NULL
 * @owner_pid: thread group of the process that opened @owner
 * @duty_permille: duty applied, 0 when stopped
 * @pwm_duty_permille: duty the PWM was last set to, U32_MAX after a failed
 *	call (unknown: the next command writes it again)
 * @enabled: enable line driven high
 * @estop_latched: e-stop latch
 * @estop_reported: last e-stop level announced by an event
 * @watchdog_ms: heartbeat timeout
 * @watchdog_armed: the heartbeat timer runs
 * @watchdog_trips: missed heartbeats since bind
 * @estop_count: e-stop presses since bind
 * @fault_count: failed PWM/GPIO calls since bind
 * @stop_reason: enum massager_stop_reason of the last stop
 * @flags: enum massager_flag bits (atomic bitops)
 * @estop_irq_ns: time of the last e-stop edge, set by the primary handler
 * @estop_hardirq_ran: the primary handler has run: the IRQ does not nest
 *	in another thread, and the handler flags every press itself
 * @watchdog_fired_ns: time the heartbeat timer expired, set by its callback
 * @watchdog: heartbeat timer (hard: expires in hard IRQ context, also on RT)
 * @stop_worker: the board's own real-time kthread_worker
 * @watchdog_work: finishes a watchdog trip on @stop_worker
 * @event_lock: guards @files, @event_seq and every file's queue
 * @files: open files (struct massager_file.node)
 * @event_seq: events raised since bind
 * @event_wait: readers and pollers
 */
struct massager {
	struct kref kref;
	struct device *dev;
	struct miscdevice misc;
	char name[24];
	int id;

	struct pwm_device *pwm;
	u64 pwm_period_ns;
	bool pwm_inversed;
	struct gpio_desc *enable_gpio;
	struct gpio_desc *estop_gpio;
	u32 max_duty_permille;
	char iio_device[MASSAGER_NAME_LEN];
	char gpiochip[MASSAGER_NAME_LEN];

	struct mutex lock;		/* outputs and state, see above */
	bool dead;
	struct massager_file *owner;
	struct pid *owner_pid;
	u32 duty_permille;
	u32 pwm_duty_permille;
	bool enabled;
	bool estop_latched;
	bool estop_reported;
	u32 watchdog_ms;
	bool watchdog_armed;
	u32 watchdog_trips;
	u32 estop_count;
	u32 fault_count;
	u32 stop_reason;

	unsigned long flags;
	u64 estop_irq_ns;
	bool estop_hardirq_ran;
	u64 watchdog_fired_ns;
	struct hrtimer watchdog;
	struct kthread_worker *stop_worker;
	struct kthread_work watchdog_work;

	spinlock_t event_lock;		/* never from hard IRQ context */
	struct list_head files;
	u32 event_seq;
	wait_queue_head_t event_wait;
};

/**
 * struct massager_file - one open file of /dev/massagerN
 * @m: the board
 * @node: in massager.files
 * @control: opened for writing: the owner
 * @read_lock: serialises readers of this file
 * @lost: events dropped because @events was full (under event_lock)
 * @events: queued events (under event_lock)
 */
struct massager_file {
	struct massager *m;
	struct list_head node;
	bool control;
	struct mutex read_lock;		/* one reader at a time */
	u32 lost;
	DECLARE_KFIFO(events, struct massager_event, MASSAGER_EVENT_QUEUE_LEN);
};

static void massager_free(struct kref *kref)
{
	struct massager *m = container_of(kref, struct massager, kref);

	mutex_destroy(&m->lock);
	kfree(m);
}

static void massager_put(struct massager *m)
{
	kref_put(&m->kref, massager_free);
}

/* Queue an event on every open file and wake the readers. */
static void massager_event_post(struct massager *m, u64 timestamp_ns,
				u32 type, u32 value)
{
	struct massager_event ev = {
		.timestamp_ns = timestamp_ns,
		.type = type,
		.value = value,
	};
	struct massager_file *f;

	spin_lock(&m->event_lock);
	ev.seq = ++m->event_seq;
	list_for_each_entry(f, &m->files, node) {
		ev.lost = f->lost;
		if (!kfifo_put(&f->events, ev))
			f->lost++;
	}
	spin_unlock(&m->event_lock);
	wake_up_interruptible_poll(&m->event_wait, EPOLLIN | EPOLLRDNORM);
}

static int massager_pwm_apply(struct massager *m, u32 duty_permille)
{
	struct pwm_state state = {
		.period = m->pwm_period_ns,
		.duty_cycle = div_u64(m->pwm_period_ns * duty_permille,
				      MASSAGER_DUTY_FULL_PERMILLE),
		.polarity = m->pwm_inversed ? PWM_POLARITY_INVERSED :
					      PWM_POLARITY_NORMAL,
		.enabled = duty_permille > 0,
	};
	int r;

	r = pwm_apply_might_sleep(m->pwm, &state);
	m->pwm_duty_permille = r < 0 ? U32_MAX : duty_permille;
	return r;
}

/* A PWM or GPIO call failed: count it and say so. Called with @lock held. */
static void massager_fault(struct massager *m, int err)
{
	m->fault_count++;
	m->stop_reason = MASSAGER_STOP_FAULT;
	massager_event_post(m, ktime_get_ns(), MASSAGER_EVENT_FAULT, -err);
}

/*
 * Motor off: enable line low first (that alone stops the motor), then the
 * PWM. Called with @lock held. Returns the PWM error, if any; the state
 * says "off" either way since the enable line is down.
 */
static int massager_outputs_off(struct massager *m)
{
	int r;

	gpiod_set_value_cansleep(m->enable_gpio, 0);
	m->enabled = false;
	m->duty_permille = 0;
	r = massager_pwm_apply(m, 0);
	if (r < 0)
		dev_err_ratelimited(m->dev, "Failed to turn the PWM off: %d\n", r);
	return r;
}

/*
 * Settle a watchdog expiry that the timer callback flagged: finish turning
 * the motor off, count the trip and tell the readers. Called with @lock held.
 */
static void massager_watchdog_settle(struct massager *m)
{
	u32 duty = m->duty_permille;
	u64 when;
	int r;

	/* Fully ordered: sees the time written before the bit was set. */
	if (!test_and_clear_bit(MASSAGER_WATCHDOG_FIRED, &m->flags))
		return;
	when = READ_ONCE(m->watchdog_fired_ns);
	m->watchdog_armed = false;
	r = massager_outputs_off(m);
	m->watchdog_trips++;
	m->stop_reason = MASSAGER_STOP_WATCHDOG;
	massager_event_post(m, when, MASSAGER_EVENT_WATCHDOG_TRIP, duty);
	if (r < 0)
		massager_fault(m, r);
}

/*
 * Stop the heartbeat timer; a trip that already fired is still settled, so
 * that every trip is counted. Called with @lock held.
 */
static void massager_watchdog_disarm(struct massager *m)
{
	hrtimer_cancel(&m->watchdog);
	m->watchdog_armed = false;
	massager_watchdog_settle(m);
}

static void massager_watchdog_arm(struct massager *m)
{
	hrtimer_start(&m->watchdog, ms_to_ktime(m->watchdog_ms),
		      HRTIMER_MODE_REL_HARD);
	m->watchdog_armed = true;
}

/*
 * Record a watchdog expiry for massager_watchdog_settle(). Any context; the
 * time is written before the bit that makes it valid.
 */
static void massager_watchdog_flag(struct massager *m, u64 when)
{
	WRITE_ONCE(m->watchdog_fired_ns, when);
	/* Pairs with test_and_clear_bit() in massager_watchdog_settle(). */
	smp_mb__before_atomic();
	set_bit(MASSAGER_WATCHDOG_FIRED, &m->flags);
}

/**
 * massager_watchdog_expired() - missed heartbeat: the motor off, now
 * @timer: &massager.watchdog
 *
 * Context: hard interrupt, on PREEMPT_RT too (HRTIMER_MODE_REL_HARD), so
 * no real-time task can hold it off. Takes no lock: drops the enable line
 * (its chip cannot sleep), which alone stops the motor, and leaves the PWM,
 * the counters and the event to the board's stop worker.
 *
 * Return: HRTIMER_NORESTART.
 */
static enum hrtimer_restart massager_watchdog_expired(struct hrtimer *timer)
{
	struct massager *m = container_of(timer, struct massager, watchdog);

	massager_watchdog_flag(m, ktime_get_ns());
	gpiod_set_value(m->enable_gpio, 0);
	kthread_queue_work(m->stop_worker, &m->watchdog_work);
	return HRTIMER_NORESTART;
}

/* Process context, on the board's stop worker (SCHED_FIFO). */
static void massager_watchdog_work(struct kthread_work *work)
{
	struct massager *m = container_of(work, struct massager,
					  watchdog_work);

	mutex_lock(&m->lock);
	if (!m->dead)
		massager_watchdog_settle(m);
	mutex_unlock(&m->lock);
}

/* Stop and latch the e-stop. Called with @lock held. */
static void massager_estop_latch(struct massager *m, u64 timestamp_ns)
{
	u32 duty = m->duty_permille;
	int r;

	clear_bit(MASSAGER_ESTOP_PENDING, &m->flags);
	massager_watchdog_disarm(m);
	r = massager_outputs_off(m);
	m->estop_latched = true;
	m->stop_reason = MASSAGER_STOP_ESTOP;
	if (!m->estop_reported) {
		m->estop_reported = true;
		m->estop_count++;
		massager_event_post(m, timestamp_ns,
				    MASSAGER_EVENT_ESTOP_PRESSED, duty);
	}
	if (r < 0)
		massager_fault(m, r);
}

/**
 * massager_estop_hardirq() - e-stop edge, primary handler: the motor off
 * @irq: the e-stop line's interrupt
 * @data: the board
 *
 * Context: hard interrupt, on PREEMPT_RT too (IRQF_NO_THREAD: never
 * force-threaded), so no real-time task can hold it off. Takes no lock:
 * if the line reads pressed, flags the press and drops the enable line
 * (both chips cannot sleep); the IRQ thread latches, turns the PWM off and
 * raises the event. An IRQ chip whose interrupts nest in another thread
 * never calls it; the thread then does the whole stop.
 *
 * Return: IRQ_WAKE_THREAD.
 */
static irqreturn_t massager_estop_hardirq(int irq, void *data)
{
	struct massager *m = data;

	WRITE_ONCE(m->estop_irq_ns, ktime_get_ns());
	WRITE_ONCE(m->estop_hardirq_ran, true);
	if (gpiod_get_value(m->estop_gpio) > 0) {
		set_bit(MASSAGER_ESTOP_PENDING, &m->flags);
		/* Pairs with smp_mb() in massager_drive_locked(). */
		smp_mb__after_atomic();
		gpiod_set_value(m->enable_gpio, 0);
	}
	return IRQ_WAKE_THREAD;
}

/*
 * E-stop edge, IRQ thread (SCHED_FIFO 50, RT or not): latch, PWM off,
 * events. A task of higher priority may hold it off; the motor is off by
 * then, and the press is dated by the primary handler.
 */
static irqreturn_t massager_estop_thread(int irq, void *data)
{
	struct massager *m = data;
	u64 now = READ_ONCE(m->estop_irq_ns);
	bool pressed;
	int level;

	if (!now)
		now = ktime_get_ns();
	mutex_lock(&m->lock);
	if (m->dead)
		goto out;
	level = gpiod_get_value_cansleep(m->estop_gpio);
	/*
	 * An unreadable line counts as pressed. With a nested IRQ chip, which
	 * has no primary handler to see a short pulse while it lasts, so does
	 * an edge while the line was last seen released: from there the only
	 * edge is a press. With a primary handler that rule would be wrong:
	 * the line changes before the handler runs, so a thread held off by a
	 * real-time task can see a release before the handler has seen it,
	 * and the release's edge would then count as a second press.
	 */
	pressed = test_and_clear_bit(MASSAGER_ESTOP_PENDING, &m->flags) ||
		  level != 0 ||
		  (!READ_ONCE(m->estop_hardirq_ran) && !m->estop_reported);
	if (pressed)
		massager_estop_latch(m, now);
	if (level == 0 && m->estop_reported) {
		m->estop_reported = false;
		massager_event_post(m, now, MASSAGER_EVENT_ESTOP_RELEASED, 0);
	}
out:
	mutex_unlock(&m->lock);
	return IRQ_HANDLED;
}

/* Is the e-stop line asserted now? Unreadable counts as asserted. */
static bool massager_estop_asserted(struct massager *m)
{
	return gpiod_get_value_cansleep(m->estop_gpio) != 0;
}

/*
 * Take @lock and finish what the e-stop primary handler or the watchdog
 * timer started but their IRQ thread or stop worker has not done yet: the
 * enable line is already down, so whoever holds the lock must see the
 * motor stopped (latched, tripped) and not wait for the scheduler.
 */
static void massager_lock_settled(struct massager *m)
{
	u64 when;

	mutex_lock(&m->lock);
	if (m->dead)
		return;
	if (test_bit(MASSAGER_ESTOP_PENDING, &m->flags)) {
		when = READ_ONCE(m->estop_irq_ns);
		massager_estop_latch(m, when ?: ktime_get_ns());
	}
	massager_watchdog_settle(m);
}

/**
 * massager_drive_locked() - apply a duty and kick the heartbeat watchdog
 * @m: the board, locked by massager_lock_settled(), not dead
 * @duty_permille: 0 stops the motor; 1..ceiling runs it
 *
 * Return: 0, -ECANCELED while the e-stop is latched or asserted (duty 0 is
 * always accepted), or the PWM error (the motor is then off).
 */
static int massager_drive_locked(struct massager *m, u32 duty_permille)
{
	int r;

	massager_watchdog_disarm(m);
	if (!duty_permille) {
		/* Keep the reason of an earlier stop (e-stop, trip...). */
		if (m->enabled)
			m->stop_reason = MASSAGER_STOP_COMMAND;
		/* Already off: nothing to write. */
		if (!m->enabled && !m->pwm_duty_permille)
			return 0;
		r = massager_outputs_off(m);
		if (r < 0)
			massager_fault(m, r);
		return r;
	}

	/* An e-stop whose interrupt has not come (yet) counts all the same. */
	if (!m->estop_latched && massager_estop_asserted(m))
		massager_estop_latch(m, ktime_get_ns());
	if (m->estop_latched)
		return -ECANCELED;

	/* A heartbeat at an unchanged duty writes nothing to the hardware. */
	if (m->pwm_duty_permille != duty_permille) {
		r = massager_pwm_apply(m, duty_permille);
		if (r < 0) {
			massager_outputs_off(m);
			massager_fault(m, r);
			return r;
		}
	}
	if (!m->enabled)
		gpiod_set_value_cansleep(m->enable_gpio, 1);
	m->enabled = true;
	m->duty_permille = duty_permille;

	/*
	 * The e-stop primary handler may have dropped the enable line between
	 * the check above and now: do not leave it raised behind its back.
	 */
	smp_mb();
	if (test_bit(MASSAGER_ESTOP_PENDING, &m->flags)) {
		massager_estop_latch(m, ktime_get_ns());
		return -ECANCELED;
	}

	m->stop_reason = MASSAGER_STOP_NONE;
	massager_watchdog_arm(m);
	return 0;
}

static int massager_open(struct inode *inode, struct file *file)
{
	struct massager *m = container_of(file->private_data, struct massager,
					  misc);
	struct massager_file *f;
	int r = 0;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->m = m;
	f->control = !!(file->f_mode & FMODE_WRITE);
	mutex_init(&f->read_lock);
	INIT_KFIFO(f->events);

	/* misc_open() holds misc_mtx: unbind cannot free @m under us. */
	mutex_lock(&m->lock);
	if (m->dead) {
		r = -ENODEV;
	} else if (f->control && m->owner) {
		r = -EBUSY;
	} else if (f->control) {
		m->owner = f;
		m->owner_pid = get_pid(task_tgid(current));
		m->watchdog_ms = MASSAGER_WATCHDOG_DEFAULT_MS;
	}
	if (!r) {
		kref_get(&m->kref);
		spin_lock(&m->event_lock);
		list_add_tail(&f->node, &m->files);
		spin_unlock(&m->event_lock);
	}
	mutex_unlock(&m->lock);
	if (r) {
		mutex_destroy(&f->read_lock);
		kfree(f);
		return r;
	}

	file->private_data = f;
	return stream_open(inode, file);
}

static int massager_release(struct inode *inode, struct file *file)
{
	struct massager_file *f = file->private_data;
	struct massager *m = f->m;
	u32 duty;
	int r;

	mutex_lock(&m->lock);
	if (m->owner == f) {
		if (!m->dead) {
			duty = m->duty_permille;
			massager_watchdog_disarm(m);
			r = massager_outputs_off(m);
			m->stop_reason = MASSAGER_STOP_RELEASE;
			massager_event_post(m, ktime_get_ns(),
					    MASSAGER_EVENT_OWNER_RELEASED, duty);
			if (r < 0)
				massager_fault(m, r);
		}
		m->owner = NULL;
		put_pid(m->owner_pid);
		m->owner_pid = NULL;
		m->watchdog_ms = MASSAGER_WATCHDOG_DEFAULT_MS;
	}
	mutex_unlock(&m->lock);

	spin_lock(&m->event_lock);
	list_del(&f->node);
	spin_unlock(&m->event_lock);
	mutex_destroy(&f->read_lock);
	kfree(f);
	massager_put(m);
	return 0;
}

static ssize_t massager_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct massager_file *f = file->private_data;
	struct massager *m = f->m;
	struct massager_event ev;
	size_t done = 0;
	int r;

	if (count < sizeof(ev))
		return -EINVAL;
	r = mutex_lock_interruptible(&f->read_lock);
	if (r)
		return r;

	while (done + sizeof(ev) <= count) {
		bool got;

		spin_lock(&m->event_lock);
		got = kfifo_peek(&f->events, &ev);
		spin_unlock(&m->event_lock);
		if (!got) {
			if (done)
				break;
			/*
			 * Acquire pairs with the release in massager_unbind():
			 * dead implies the REMOVED event is queued, so an empty
			 * queue seen after it is final.
			 */
			if (smp_load_acquire(&m->dead)) {
				if (!kfifo_is_empty(&f->events))
					continue;
				r = -ENODEV;
				break;
			}
			if (file->f_flags & O_NONBLOCK) {
				r = -EAGAIN;
				break;
			}
			r = wait_event_interruptible(m->event_wait,
						     !kfifo_is_empty(&f->events) ||
						     READ_ONCE(m->dead));
			if (r)
				break;
			continue;
		}
		/* Copy before dequeuing: a bad buffer loses no event. */
		if (copy_to_user(buf + done, &ev, sizeof(ev))) {
			r = -EFAULT;
			break;
		}
		spin_lock(&m->event_lock);
		kfifo_skip(&f->events);
		spin_unlock(&m->event_lock);
		done += sizeof(ev);
	}
	mutex_unlock(&f->read_lock);
	return done ? done : r;
}

static __poll_t massager_poll(struct file *file, poll_table *wait)
{
	struct massager_file *f = file->private_data;
	struct massager *m = f->m;
	__poll_t mask = 0;

	poll_wait(file, &m->event_wait, wait);
	if (!kfifo_is_empty(&f->events))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(m->dead))
		mask |= EPOLLHUP | EPOLLERR;
	return mask;
}

static int massager_ioctl_get_info(struct massager *m, void __user *uarg)
{
	struct massager_info info = {
		.abi_version = MASSAGER_ABI_VERSION,
		.max_duty_permille = m->max_duty_permille,
		.duty_full_permille = MASSAGER_DUTY_FULL_PERMILLE,
		.watchdog_min_ms = MASSAGER_WATCHDOG_MIN_MS,
		.watchdog_max_ms = MASSAGER_WATCHDOG_MAX_MS,
		.watchdog_default_ms = MASSAGER_WATCHDOG_DEFAULT_MS,
		.pwm_period_ns = m->pwm_period_ns,
		.event_size = sizeof(struct massager_event),
		.event_queue_len = MASSAGER_EVENT_QUEUE_LEN,
	};

	strscpy(info.iio_device, m->iio_device, sizeof(info.iio_device));
	strscpy(info.gpiochip, m->gpiochip, sizeof(info.gpiochip));
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static int massager_ioctl_get_state(struct massager_file *f,
				    void __user *uarg)
{
	struct massager *m = f->m;
	struct massager_state st = {};

	massager_lock_settled(m);
	if (m->dead) {
		mutex_unlock(&m->lock);
		return -ENODEV;
	}
	st.duty_permille = m->duty_permille;
	st.enabled = m->enabled;
	st.estop_latched = m->estop_latched;
	st.estop_asserted = massager_estop_asserted(m);
	st.watchdog_ms = m->watchdog_ms;
	st.watchdog_armed = m->watchdog_armed;
	st.watchdog_trips = m->watchdog_trips;
	st.estop_count = m->estop_count;
	st.fault_count = m->fault_count;
	st.stop_reason = m->stop_reason;
	st.owner_pid = m->owner_pid ? pid_vnr(m->owner_pid) : 0;
	mutex_unlock(&m->lock);

	spin_lock(&m->event_lock);
	st.events_lost = f->lost;
	spin_unlock(&m->event_lock);
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static int massager_ioctl_drive(struct massager_file *f, void __user *uarg)
{
	struct massager *m = f->m;
	struct massager_drive d;
	int r;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.flags || d.reserved[0] || d.reserved[1])
		return -EINVAL;
	if (d.duty_permille > m->max_duty_permille)
		return -ERANGE;

	massager_lock_settled(m);
	r = m->dead ? -ENODEV : massager_drive_locked(m, d.duty_permille);
	mutex_unlock(&m->lock);
	return r;
}

static int massager_ioctl_set_watchdog(struct massager_file *f,
				       void __user *uarg)
{
	struct massager *m = f->m;
	struct massager_watchdog w;
	int r = 0;

	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if (w.reserved)
		return -EINVAL;
	if (w.timeout_ms < MASSAGER_WATCHDOG_MIN_MS ||
	    w.timeout_ms > MASSAGER_WATCHDOG_MAX_MS)
		return -ERANGE;

	mutex_lock(&m->lock);
	if (m->dead)
		r = -ENODEV;
	else
		m->watchdog_ms = w.timeout_ms;	/* from the next kick on */
	mutex_unlock(&m->lock);
	return r;
}

static int massager_ioctl_reset_estop(struct massager_file *f)
{
	struct massager *m = f->m;
	int r = 0;

	massager_lock_settled(m);
	if (m->dead) {
		r = -ENODEV;
	} else if (massager_estop_asserted(m)) {
		r = -EBUSY;
	} else if (m->estop_latched) {
		/* The motor stays off: only a new drive command starts it. */
		m->estop_latched = false;
		massager_event_post(m, ktime_get_ns(),
				    MASSAGER_EVENT_ESTOP_RESET, 0);
	}
	mutex_unlock(&m->lock);
	return r;
}

/*
 * Dispatch on type and number; a known number with another size or
 * direction is EINVAL, an unknown one ENOTTY. Checks run in the order
 * ENODEV, EBADF, EFAULT, EINVAL, ERANGE; none of them changes any state.
 */
static long massager_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct massager_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	unsigned int expect;
	bool drives;

	if (_IOC_TYPE(cmd) != MASSAGER_IOC_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(MASSAGER_IOC_GET_INFO):
		expect = MASSAGER_IOC_GET_INFO;
		drives = false;
		break;
	case _IOC_NR(MASSAGER_IOC_GET_STATE):
		expect = MASSAGER_IOC_GET_STATE;
		drives = false;
		break;
	case _IOC_NR(MASSAGER_IOC_DRIVE):
		expect = MASSAGER_IOC_DRIVE;
		drives = true;
		break;
	case _IOC_NR(MASSAGER_IOC_SET_WATCHDOG):
		expect = MASSAGER_IOC_SET_WATCHDOG;
		drives = true;
		break;
	case _IOC_NR(MASSAGER_IOC_RESET_ESTOP):
		expect = MASSAGER_IOC_RESET_ESTOP;
		drives = true;
		break;
	default:
		return -ENOTTY;
	}
	if (cmd != expect)
		return -EINVAL;
	if (READ_ONCE(f->m->dead))
		return -ENODEV;
	if (drives && !f->control)
		return -EBADF;

	switch (cmd) {
	case MASSAGER_IOC_GET_INFO:
		return massager_ioctl_get_info(f->m, uarg);
	case MASSAGER_IOC_GET_STATE:
		return massager_ioctl_get_state(f, uarg);
	case MASSAGER_IOC_DRIVE:
		return massager_ioctl_drive(f, uarg);
	case MASSAGER_IOC_SET_WATCHDOG:
		return massager_ioctl_set_watchdog(f, uarg);
	default:
		return massager_ioctl_reset_estop(f);
	}
}

static const struct file_operations massager_fops = {
	.owner = THIS_MODULE,
	.open = massager_open,
	.release = massager_release,
	.read = massager_read,
	.poll = massager_poll,
	.unlocked_ioctl = massager_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct massager *massager_from_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct massager, misc);
}

static const char *massager_state_name(struct massager *m)
{
	if (m->dead)
		return "removed";
	if (m->estop_latched)
		return "estop";
	if (m->duty_permille)
		return "running";
	switch (m->stop_reason) {
	case MASSAGER_STOP_WATCHDOG:
		return "watchdog";
	case MASSAGER_STOP_FAULT:
		return "fault";
	default:
		return "off";
	}
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct massager *m = massager_from_dev(dev);
	ssize_t n;

	massager_lock_settled(m);
	n = sysfs_emit(buf, "%s\n", massager_state_name(m));
	mutex_unlock(&m->lock);
	return n;
}
static DEVICE_ATTR_RO(state);

static ssize_t estop_asserted_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct massager *m = massager_from_dev(dev);
	ssize_t n;

	massager_lock_settled(m);
	n = m->dead ? -ENODEV : sysfs_emit(buf, "%d\n",
					   massager_estop_asserted(m));
	mutex_unlock(&m->lock);
	return n;
}
static DEVICE_ATTR_RO(estop_asserted);

static ssize_t owner_pid_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct massager *m = massager_from_dev(dev);
	ssize_t n;

	massager_lock_settled(m);
	n = sysfs_emit(buf, "%d\n", m->owner_pid ? pid_nr(m->owner_pid) : 0);
	mutex_unlock(&m->lock);
	return n;
}
static DEVICE_ATTR_RO(owner_pid);

/* Read-only attributes that print one field of struct massager. */
#define MASSAGER_ATTR(_name, _fmt, _expr)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct massager *m = massager_from_dev(dev);			\
	ssize_t n;							\
									\
	massager_lock_settled(m);					\
	n = sysfs_emit(buf, _fmt "\n", _expr);				\
	mutex_unlock(&m->lock);						\
	return n;							\
}									\
static DEVICE_ATTR_RO(_name)

MASSAGER_ATTR(duty_permille, "%u", m->duty_permille);
MASSAGER_ATTR(max_duty_permille, "%u", m->max_duty_permille);
MASSAGER_ATTR(enabled, "%d", m->enabled);
MASSAGER_ATTR(estop, "%d", m->estop_latched);
MASSAGER_ATTR(estop_count, "%u", m->estop_count);
MASSAGER_ATTR(watchdog_ms, "%u", m->watchdog_ms);
MASSAGER_ATTR(watchdog_trips, "%u", m->watchdog_trips);
MASSAGER_ATTR(fault_count, "%u", m->fault_count);
MASSAGER_ATTR(pwm_period_ns, "%llu", m->pwm_period_ns);
MASSAGER_ATTR(iio_device, "%s", m->iio_device);
MASSAGER_ATTR(gpiochip, "%s", m->gpiochip);
MASSAGER_ATTR(abi_version, "%d", MASSAGER_ABI_VERSION);

static struct attribute *massager_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_duty_permille.attr,
	&dev_attr_max_duty_permille.attr,
	&dev_attr_enabled.attr,
	&dev_attr_estop.attr,
	&dev_attr_estop_asserted.attr,
	&dev_attr_estop_count.attr,
	&dev_attr_watchdog_ms.attr,
	&dev_attr_watchdog_trips.attr,
	&dev_attr_fault_count.attr,
	&dev_attr_owner_pid.attr,
	&dev_attr_pwm_period_ns.attr,
	&dev_attr_iio_device.attr,
	&dev_attr_gpiochip.attr,
	&dev_attr_abi_version.attr,
	NULL
};
ATTRIBUTE_GROUPS(massager);

/* Drop the bound device's reference: runs last on unbind. */
static void massager_put_action(void *data)
{
	massager_put(data);
}

/*
 * Unbind: runs first on unbind, while the PWM, GPIOs and IRQ are still
 * ours. Stop the motor, mark the board dead, wake every reader with a
 * REMOVED event, remove the device node. Open files keep @m (kref).
 */
static void massager_unbind(void *data)
{
	struct massager *m = data;
	u32 duty;

	mutex_lock(&m->lock);
	duty = m->duty_permille;
	massager_watchdog_disarm(m);
	massager_outputs_off(m);
	m->stop_reason = MASSAGER_STOP_REMOVED;
	/* The last event; queued before @dead is visible to readers. */
	massager_event_post(m, ktime_get_ns(), MASSAGER_EVENT_REMOVED, duty);
	/* Pairs with smp_load_acquire() in massager_read(). */
	smp_store_release(&m->dead, true);
	mutex_unlock(&m->lock);
	wake_up_interruptible_poll(&m->event_wait, EPOLLHUP | EPOLLERR);

	/* Nothing re-arms them now that @dead is set. */
	hrtimer_cancel(&m->watchdog);
	kthread_cancel_work_sync(&m->watchdog_work);

	misc_deregister(&m->misc);
	ida_free(&massager_ida, m->id);
}

/*
 * The motor PWM comes from the firmware description (DT "pwms" with
 * pwm-names = "motor") or a PWM lookup table; a board registered from a
 * module cannot add a lookup table (pwm_add_table() is not exported) and
 * hands its PWM over in struct massager_board_data instead.
 */
static int massager_probe_pwm(struct massager *m)
{
	const struct massager_board_data *board = dev_get_platdata(m->dev);
	struct device *dev = m->dev;
	struct pwm_state state;

	if (board && board->motor) {
		m->pwm = board->motor;
	} else {
		m->pwm = devm_pwm_get(dev, "motor");
		if (IS_ERR(m->pwm))
			return dev_err_probe(dev, PTR_ERR(m->pwm),
					     "Failed to get the motor PWM\n");
	}
	pwm_init_state(m->pwm, &state);
	m->pwm_period_ns = state.period ?: MASSAGER_DEFAULT_PERIOD_NS;
	m->pwm_inversed = state.polarity == PWM_POLARITY_INVERSED;
	return 0;
}

static int massager_probe_gpios(struct massager *m)
{
	struct device *dev = m->dev;

	m->enable_gpio = devm_gpiod_get(dev, "enable", GPIOD_OUT_LOW);
	if (IS_ERR(m->enable_gpio))
		return dev_err_probe(dev, PTR_ERR(m->enable_gpio),
				     "Failed to get the enable GPIO\n");
	m->estop_gpio = devm_gpiod_get(dev, "estop", GPIOD_IN);
	if (IS_ERR(m->estop_gpio))
		return dev_err_probe(dev, PTR_ERR(m->estop_gpio),
				     "Failed to get the e-stop GPIO\n");
	/*
	 * The stop must not wait for a thread: the hard IRQ handler and timer
	 * drop the enable line and read the e-stop themselves. A line behind a
	 * bus that sleeps (I2C, SPI) would leave that to a thread a real-time
	 * task can starve, so such a board is refused, not run weaker.
	 */
	if (gpiod_cansleep(m->enable_gpio))
		return dev_err_probe(dev, -EINVAL,
				     "The enable GPIO is on a gpiochip that sleeps: the motor would have no hard stop; wire it to a SoC GPIO\n");
	if (gpiod_cansleep(m->estop_gpio))
		return dev_err_probe(dev, -EINVAL,
				     "The e-stop GPIO is on a gpiochip that sleeps: its interrupt would wait for a thread; wire it to a SoC GPIO\n");
	strscpy(m->gpiochip, massager_gpiod_chip_label(m->estop_gpio),
		sizeof(m->gpiochip));
	return 0;
}

static int massager_probe_iio(struct massager *m)
{
	static const char * const names[] = { "accel_x", "accel_y", "accel_z" };
	struct device *dev = m->dev;
	struct iio_dev *indio_dev = NULL;
	struct iio_channel *chan;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		chan = devm_iio_channel_get(dev, names[i]);
		if (IS_ERR(chan))
			return dev_err_probe(dev, PTR_ERR(chan),
					     "Failed to get IIO channel %s\n",
					     names[i]);
		if (indio_dev && chan->indio_dev != indio_dev)
			return dev_err_probe(dev, -EINVAL,
					     "Accelerometer channels are on different IIO devices\n");
		indio_dev = chan->indio_dev;
	}
	strscpy(m->iio_device, dev_name(&indio_dev->dev),
		sizeof(m->iio_device));
	return 0;
}

static int massager_probe_limits(struct massager *m)
{
	struct device *dev = m->dev;
	u32 ceiling = MASSAGER_DUTY_FULL_PERMILLE;
	int r;

	r = device_property_read_u32(dev, "massaged,max-duty-permille",
				     &ceiling);
	if (r < 0 && r != -EINVAL)
		return dev_err_probe(dev, r,
				     "Failed to read massaged,max-duty-permille\n");
	if (!ceiling || ceiling > MASSAGER_DUTY_FULL_PERMILLE)
		return dev_err_probe(dev, -EINVAL,
				     "massaged,max-duty-permille = %u is outside 1..%u\n",
				     ceiling, MASSAGER_DUTY_FULL_PERMILLE);
	if (!max_duty || max_duty > MASSAGER_DUTY_FULL_PERMILLE)
		return dev_err_probe(dev, -EINVAL,
				     "max_duty=%u is outside 1..%u\n",
				     max_duty, MASSAGER_DUTY_FULL_PERMILLE);
	m->max_duty_permille = min(ceiling, max_duty);
	return 0;
}

static void massager_destroy_worker(void *data)
{
	kthread_destroy_worker(data);
}

/*
 * The board's own worker for the process-context part of a watchdog trip:
 * SCHED_FIFO at the priority the kernel gives its own real-time threads
 * (sched_set_fifo(): 50, that of IRQ threads), not a shared workqueue whose
 * SCHED_OTHER kworkers any real-time task starves. The daemon's control
 * thread runs below it (massaged.conf(5), Priority=).
 */
static int massager_probe_worker(struct massager *m)
{
	struct kthread_worker *w;

	w = kthread_create_worker(0, "%s-stop", dev_name(m->dev));
	if (IS_ERR(w))
		return dev_err_probe(m->dev, PTR_ERR(w),
				     "Failed to start the stop worker\n");
	sched_set_fifo(w->task);
	m->stop_worker = w;
	/* Released after the IRQ and before the last reference. */
	return devm_add_action_or_reset(m->dev, massager_destroy_worker, w);
}

static int massager_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct massager *m;
	int irq, r;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	kref_init(&m->kref);
	mutex_init(&m->lock);
	spin_lock_init(&m->event_lock);
	INIT_LIST_HEAD(&m->files);
	init_waitqueue_head(&m->event_wait);
	massager_hrtimer_setup(&m->watchdog, massager_watchdog_expired,
			       CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	kthread_init_work(&m->watchdog_work, massager_watchdog_work);
	m->dev = dev;
	m->watchdog_ms = MASSAGER_WATCHDOG_DEFAULT_MS;
	r = devm_add_action_or_reset(dev, massager_put_action, m);
	if (r)
		return r;

	r = massager_probe_limits(m);
	if (r)
		return r;
	r = massager_probe_pwm(m);
	if (r)
		return r;
	r = massager_probe_gpios(m);
	if (r)
		return r;
	r = massager_probe_iio(m);
	if (r)
		return r;
	r = massager_probe_worker(m);
	if (r)
		return r;

	/* Start from a known state: motor off, e-stop latched if held. */
	r = massager_pwm_apply(m, 0);
	if (r)
		return dev_err_probe(dev, r, "Failed to turn the PWM off\n");
	if (massager_estop_asserted(m)) {
		m->estop_latched = true;
		m->estop_reported = true;
		m->stop_reason = MASSAGER_STOP_ESTOP;
		dev_warn(dev, "E-stop asserted at probe: latched\n");
	}

	irq = gpiod_to_irq(m->estop_gpio);
	if (irq < 0)
		return dev_err_probe(dev, irq,
				     "The e-stop GPIO has no interrupt\n");
	/*
	 * IRQF_NO_THREAD: the primary handler stays in hard interrupt context
	 * on RT too. Not IRQF_ONESHOT: the line stays unmasked while the thread
	 * runs, so no edge is lost while a real-time task holds the thread off.
	 */
	r = devm_request_threaded_irq(dev, irq, massager_estop_hardirq,
				      massager_estop_thread,
				      IRQF_NO_THREAD | IRQF_TRIGGER_RISING |
				      IRQF_TRIGGER_FALLING,
				      dev_name(dev), m);
	if (r)
		return dev_err_probe(dev, r,
				     "Failed to request the e-stop IRQ %d\n",
				     irq);

	r = ida_alloc(&massager_ida, GFP_KERNEL);
	if (r < 0)
		return r;
	m->id = r;
	snprintf(m->name, sizeof(m->name), "massager%d", m->id);
	m->misc.minor = MISC_DYNAMIC_MINOR;
	m->misc.name = m->name;
	m->misc.fops = &massager_fops;
	m->misc.parent = dev;
	m->misc.groups = massager_groups;
	r = misc_register(&m->misc);
	if (r) {
		ida_free(&massager_ida, m->id);
		return dev_err_probe(dev, r, "Failed to register /dev/%s\n",
				     m->name);
	}
	r = devm_add_action_or_reset(dev, massager_unbind, m);
	if (r)
		return r;

	platform_set_drvdata(pdev, m);
	dev_info(dev, "/dev/%s: max duty %u permille, PWM period %llu ns, %s, gpiochip %s\n",
		 m->name, m->max_duty_permille, m->pwm_period_ns,
		 m->iio_device, m->gpiochip);
	return 0;
}

/* Reboot or power-off: leave the motor off. */
static void massager_shutdown(struct platform_device *pdev)
{
	struct massager *m = platform_get_drvdata(pdev);

	if (!m)
		return;
	mutex_lock(&m->lock);
	if (!m->dead) {
		massager_watchdog_disarm(m);
		massager_outputs_off(m);
	}
	mutex_unlock(&m->lock);
}

/*
 * System sleep: no heartbeat can come while userspace is frozen, but the
 * watchdog's clock (CLOCK_MONOTONIC) stops too, so the timer alone would
 * let the motor run on after resume. Suspend counts as a missed heartbeat:
 * the motor stops and the trip is counted and announced like any other.
 */
static int massager_suspend(struct device *dev)
{
	struct massager *m = dev_get_drvdata(dev);

	massager_lock_settled(m);
	if (!m->dead && m->enabled) {
		hrtimer_cancel(&m->watchdog);
		massager_watchdog_flag(m, ktime_get_ns());
		massager_watchdog_settle(m);
	}
	mutex_unlock(&m->lock);
	return 0;
}

static DEFINE_SIMPLE_DEV_PM_OPS(massager_pm_ops, massager_suspend, NULL);

static const struct of_device_id massager_of_match[] = {
	{ .compatible = "massaged,erm-massager" },
	{ }
};
MODULE_DEVICE_TABLE(of, massager_of_match);

static const struct platform_device_id massager_id_table[] = {
	{ .name = "massager" },
	{ }
};
MODULE_DEVICE_TABLE(platform, massager_id_table);

static struct platform_driver massager_driver = {
	.probe = massager_probe,
	.shutdown = massager_shutdown,
	.id_table = massager_id_table,
	.driver = {
		.name = "massager",
		.of_match_table = massager_of_match,
		.pm = pm_sleep_ptr(&massager_pm_ops),
	},
};
module_platform_driver(massager_driver);

MASSAGER_IMPORT_NS_PWM();
MODULE_DESCRIPTION("ERM vibration massager board: motor, e-stop, heartbeat watchdog");
MODULE_LICENSE("GPL");
