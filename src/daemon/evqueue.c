/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/evqueue.h"

#include <errno.h>
#include <stdlib.h>

int fg_evq_init(fg_evq_t *q, size_t capacity)
{
	size_t cap = 2;

	if (!capacity || capacity > FG_EVQ_MAX_CAPACITY)
		return -EINVAL;
	while (cap < capacity)
		cap <<= 1;
	q->slots = calloc(cap, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		atomic_init(&q->slots[i].seq, i);
	atomic_init(&q->head, 0);
	q->tail = 0;
	return 0;
}

void fg_evq_fini(fg_evq_t *q)
{
	free(q->slots);
	q->slots = NULL;
}

fg_evq_slot_t *fg_evq_claim(fg_evq_t *q, size_t *pos_out)
{
	/* a cell is free when its sequence equals our position */
	size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (;;) {
		fg_evq_slot_t *s = &q->slots[pos & q->mask];
		size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		intptr_t diff = (intptr_t)seq - (intptr_t)pos;

		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				*pos_out = pos;
				return s;
			}
		} else if (diff < 0) {
			return NULL;   /* the consumer has not freed this cell yet */
		} else {
			pos = atomic_load_explicit(&q->head, memory_order_relaxed);
		}
	}
}

void fg_evq_publish(fg_evq_slot_t *s, size_t pos, uint32_t len)
{
	s->len = len;
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
}

fg_evq_slot_t *fg_evq_peek(fg_evq_t *q)
{
	fg_evq_slot_t *s = &q->slots[q->tail & q->mask];

	return atomic_load_explicit(&s->seq, memory_order_acquire) == q->tail + 1 ? s : NULL;
}

void fg_evq_pop(fg_evq_t *q, fg_evq_slot_t *s)
{
	atomic_store_explicit(&s->seq, q->tail + q->mask + 1, memory_order_release);
	q->tail++;
}
