/* SPDX-License-Identifier: MIT */
/*
 * spsc-ring.h - a single-producer single-consumer ring of fixed-size
 * records, lock-free with C11 atomics
 *
 * The control thread produces, the main thread consumes. The producer
 * never blocks and never allocates: when the ring is full the record is
 * dropped and counted (the consumer fell behind; telemetry is advisory,
 * the kernel watchdog and the supervisor's own timer cover a stuck main
 * thread). head and tail sit on their own cache lines so the two threads
 * do not bounce one line on every record.
 */
#ifndef MASSAGED_SPSC_RING_H
#define MASSAGED_SPSC_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct spsc_ring {
	_Alignas(64) atomic_size_t head;	/* next slot the producer fills */
	_Alignas(64) atomic_size_t tail;	/* next slot the consumer reads */
	_Alignas(64) size_t mask;		/* capacity - 1, power of two */
	size_t elem_size;
	unsigned char *slots;
	atomic_uint_fast64_t dropped;		/* producer side */
};

/* @slots holds @capacity records of @elem_size; @capacity a power of 2. */
static inline int spsc_ring_init(struct spsc_ring *r, void *slots,
				 size_t capacity, size_t elem_size)
{
	if (capacity < 2 || (capacity & (capacity - 1)))
		return -EINVAL;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->dropped, 0);
	r->mask = capacity - 1;
	r->elem_size = elem_size;
	r->slots = slots;
	return 0;
}

/* Producer: false (and counted) when full. */
static inline bool spsc_ring_push(struct spsc_ring *r, const void *elem)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail > r->mask) {
		atomic_store_explicit(&r->dropped,
				      atomic_load_explicit(&r->dropped,
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return false;
	}
	memcpy(r->slots + (head & r->mask) * r->elem_size, elem,
	       r->elem_size);
	/* Release: the record is written before the consumer can see it. */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

/* Consumer: false when empty. */
static inline bool spsc_ring_pop(struct spsc_ring *r, void *elem)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail == head)
		return false;
	memcpy(elem, r->slots + (tail & r->mask) * r->elem_size,
	       r->elem_size);
	/* Release: the slot is read before the producer may reuse it. */
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

static inline uint64_t spsc_ring_dropped(struct spsc_ring *r)
{
	return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}

#endif
