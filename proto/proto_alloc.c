/* proto_alloc.c: the allocator proto/'s codecs call (proto_alloc.h). */
#include <stdlib.h>
#include "proto_alloc.h"

static struct wisp_proto_allocator allocator = { malloc, realloc, free };

void wisp_proto_set_allocator(const struct wisp_proto_allocator *a)
{
	allocator = *a;
}

void *wisp_proto_malloc(size_t sz)
{
	void *p = allocator.malloc(sz ? sz : 1);
	if (p == NULL)
		abort(); /* out of memory: nothing sane is left to do */
	return p;
}

void *wisp_proto_realloc(void *p, size_t sz)
{
	void *q = allocator.realloc(p, sz ? sz : 1);
	if (q == NULL)
		abort();
	return q;
}

void wisp_proto_free(void *p)
{
	allocator.free(p);
}
