/* handle.c: handles of the services on this node. A handle's low bits
 * index a power-of-two slot table; new handles come from a counter that
 * walks the whole local space before wrapping, so a freed handle is not
 * handed out again until about four million others have been. */
#include <stdlib.h>
#include "alloc.h"
#include "handle.h"

static struct {
	struct wisp_context **slots;
	wisp_handle *owners; /* the handle held in each slot, 0 when free */
	uint32_t size;        /* power of two */
	uint32_t next;        /* next local id to try */
	uint32_t node;        /* node id, already shifted into place */
	size_t count;
} H;

#define INITIAL_SLOTS 64

void wisp_handles_init(uint32_t node_id)
{
	H.size = INITIAL_SLOTS;
	H.slots = wisp_calloc(H.size, sizeof(*H.slots));
	H.owners = wisp_calloc(H.size, sizeof(*H.owners));
	H.next = 1;
	H.node = node_id << WISP_LOCAL_BITS;
	H.count = 0;
}

void wisp_handles_exit(void)
{
	wisp_free(H.slots);
	wisp_free(H.owners);
	H.slots = NULL;
	H.owners = NULL;
	H.size = 0;
}

uint32_t wisp_node_id(void)
{
	return H.node >> WISP_LOCAL_BITS;
}

/* Doubles the table; handles distinct modulo size stay distinct modulo
 * twice the size, so nothing collides. */
static int grow(void)
{
	uint32_t size = H.size * 2;
	if (size > WISP_LOCAL_MASK + 1)
		return -1;
	struct wisp_context **slots = wisp_calloc(size, sizeof(*slots));
	wisp_handle *owners = wisp_calloc(size, sizeof(*owners));
	for (uint32_t i = 0; i < H.size; i++) {
		if (H.owners[i] == 0)
			continue;
		uint32_t at = H.owners[i] & (size - 1);
		slots[at] = H.slots[i];
		owners[at] = H.owners[i];
	}
	wisp_free(H.slots);
	wisp_free(H.owners);
	H.slots = slots;
	H.owners = owners;
	H.size = size;
	return 0;
}

static uint32_t step(uint32_t local)
{
	local = (local + 1) & WISP_LOCAL_MASK;
	return local ? local : 1; /* local id 0 is never a service */
}

wisp_handle wisp_handle_add(struct wisp_context *ctx)
{
	for (;;) {
		uint32_t local = H.next;
		for (uint32_t i = 0; i < H.size; i++, local = step(local)) {
			uint32_t at = local & (H.size - 1);
			if (H.owners[at] != 0)
				continue;
			wisp_handle h = H.node | local;
			H.slots[at] = ctx;
			H.owners[at] = h;
			H.next = step(local);
			H.count++;
			return h;
		}
		if (grow() < 0)
			return 0;
	}
}

struct wisp_context *wisp_handle_grab(wisp_handle h)
{
	uint32_t at = h & (H.size - 1);
	return H.owners[at] == h && h != 0 ? H.slots[at] : NULL;
}

void wisp_handle_remove(wisp_handle h)
{
	uint32_t at = h & (H.size - 1);
	if (H.owners[at] != h || h == 0)
		return;
	H.owners[at] = 0;
	H.slots[at] = NULL;
	H.count--;
}

size_t wisp_handle_count(void)
{
	return H.count;
}

static int by_age(const void *a, const void *b)
{
	wisp_handle x = *(const wisp_handle *)a, y = *(const wisp_handle *)b;
	return (x > y) - (x < y);
}

wisp_handle *wisp_handle_list(size_t *count)
{
	wisp_handle *list = wisp_malloc((H.count + 1) * sizeof(*list));
	size_t n = 0;
	for (uint32_t i = 0; i < H.size; i++)
		if (H.owners[i])
			list[n++] = H.owners[i];
	/* handles grow with age until the counter wraps; good enough for
	 * ordering a shutdown */
	qsort(list, n, sizeof(*list), by_age);
	*count = n;
	return list;
}
