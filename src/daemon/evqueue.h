/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bounded lock-free queue of fixed-size line slots, multi-producer and
 * single-consumer (sequence-numbered cells, after Vyukov's bounded queue):
 * a producer claims a cell with one CAS on `head`, fills it and publishes it
 * by storing the cell's sequence number; the consumer takes the cells in
 * order and frees each once it has copied the line out. The event log
 * (daemon/eventlog.c) formats into the cells and drains them to its file.
 *
 * No I/O, no blocking, no waking: the caller pairs a publish with its own
 * wake-up of the consumer. fg_evq_claim() and fg_evq_publish() may be called
 * from any thread; fg_evq_peek() and fg_evq_pop() from one consumer thread.
 *
 * Ownership: fg_evq_init() allocates the cells into a caller's struct,
 * fg_evq_fini() frees them (no producer or consumer may run then).
 */
#ifndef FG_DAEMON_EVQUEUE_H
#define FG_DAEMON_EVQUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FG_EVQ_SLOT_BYTES 1024
#define FG_EVQ_MAX_CAPACITY (1u << 20)

typedef struct fg_evq_slot {
	_Atomic size_t seq;        /* == index: free; == index + 1: full */
	uint32_t len;              /* 0: nothing to write (format failed) */
	char line[FG_EVQ_SLOT_BYTES];
} fg_evq_slot_t;

typedef struct fg_evq {
	fg_evq_slot_t *slots;
	size_t mask;
	/* producers' cursor, apart from the consumer's to spare the cache
	 * line bouncing between them */
	char pad0[64];
	_Atomic size_t head;
	char pad1[64];
	size_t tail;               /* consumer only */
} fg_evq_t;

/* `capacity` cells rounded up to a power of two (at least 2). -EINVAL above
 * FG_EVQ_MAX_CAPACITY or for 0, -ENOMEM. */
int fg_evq_init(fg_evq_t *q, size_t capacity);
void fg_evq_fini(fg_evq_t *q);

/* Claim the next free cell for writing; NULL when the queue is full (the
 * consumer has not freed the oldest cell yet). `*pos` is the claim's ticket
 * for fg_evq_publish(). A claimed cell must be published, even empty, or
 * the consumer would wait on it forever. */
fg_evq_slot_t *fg_evq_claim(fg_evq_t *q, size_t *pos);
/* Publish a claimed cell holding `len` bytes (0: nothing to write). */
void fg_evq_publish(fg_evq_slot_t *s, size_t pos, uint32_t len);

/* Consumer: the oldest cell when it is published, else NULL. */
fg_evq_slot_t *fg_evq_peek(fg_evq_t *q);
/* Consumer: free the cell fg_evq_peek() returned and move past it. */
void fg_evq_pop(fg_evq_t *q, fg_evq_slot_t *s);

#endif
