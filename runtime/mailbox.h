/* mailbox.h: a service's queue of messages, a ring that grows by doubling
 * and gives its memory back when a burst has drained. Push and pop are on
 * every message, so they are inline. */
#ifndef WISP_MAILBOX_H
#define WISP_MAILBOX_H

#include <stddef.h>
#include <stdint.h>
#include "wisp.h"

struct wisp_message {
	wisp_handle source;
	int session;
	int type;
	void *data;
	size_t size;
	uint64_t trace; /* 0: none (trace.h) */
};

struct wisp_mailbox {
	struct wisp_message *ring;
	uint32_t cap;  /* power of two, 0 before the first message */
	uint32_t head; /* index of the oldest message */
	uint32_t count;
	uint32_t idle;  /* drained turns since the ring last had to grow */
	uint32_t peak;  /* the most messages it has held at once */
	size_t bytes;   /* payload bytes of the queued messages */
};

void wisp_mailbox_grow(struct wisp_mailbox *mb);
void wisp_mailbox_shrink(struct wisp_mailbox *mb);
void wisp_mailbox_free(struct wisp_mailbox *mb);

static inline void wisp_mailbox_push(struct wisp_mailbox *mb,
	const struct wisp_message *m)
{
	if (mb->count == mb->cap)
		wisp_mailbox_grow(mb);
	mb->ring[(mb->head + mb->count) & (mb->cap - 1)] = *m;
	mb->count++;
	if (mb->count > mb->peak)
		mb->peak = mb->count;
	mb->bytes += m->size;
}

/* 0 when empty. */
static inline int wisp_mailbox_pop(struct wisp_mailbox *mb,
	struct wisp_message *m)
{
	if (mb->count == 0)
		return 0;
	*m = mb->ring[mb->head];
	mb->head = (mb->head + 1) & (mb->cap - 1);
	mb->count--;
	mb->bytes -= m->size;
	return 1;
}

#endif
