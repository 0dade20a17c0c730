/* mailbox.c: the slow paths of the mailbox ring: growing and shrinking. */
#include <string.h>
#include "mailbox.h"

#define FIRST_CAP 8
/* A ring larger than this is given back once it has been drained at the
 * end of IDLE_TURNS turns without growing: one burst should not pin its
 * memory for the life of the service, and a service that gets a burst
 * every turn should not regrow its ring every turn. */
#define KEEP_CAP 1024
#define IDLE_TURNS 64

void wisp_mailbox_grow(struct wisp_mailbox *mb)
{
	uint32_t cap = mb->cap ? mb->cap * 2 : FIRST_CAP;
	struct wisp_message *ring = wisp_malloc(cap * sizeof(*ring));
	/* unroll the ring so the oldest message lands at index 0 */
	uint32_t first = mb->cap - mb->head;
	if (first > mb->count)
		first = mb->count;
	if (mb->count) {
		memcpy(ring, mb->ring + mb->head, first * sizeof(*ring));
		memcpy(ring + first, mb->ring, (mb->count - first) * sizeof(*ring));
	}
	wisp_free(mb->ring);
	mb->ring = ring;
	mb->cap = cap;
	mb->head = 0;
	mb->idle = 0;
}

void wisp_mailbox_shrink(struct wisp_mailbox *mb)
{
	if (mb->count == 0 && mb->cap > KEEP_CAP && ++mb->idle >= IDLE_TURNS)
		wisp_mailbox_free(mb);
}

void wisp_mailbox_free(struct wisp_mailbox *mb)
{
	wisp_free(mb->ring);
	mb->ring = NULL;
	mb->cap = mb->head = mb->count = mb->idle = 0;
	mb->bytes = 0;
}
