/* proto_alloc.h: where proto/'s codecs get the memory they hand out (an
 * encoded frame, a decoded payload, a packed value) and their own buffers.
 * libc's allocator by default; a program with one of its own (the runtime)
 * sets it once at start, before any codec runs, so that what a codec hands
 * out may be freed with that program's free. Whatever the allocator, out
 * of memory aborts, as everywhere in wisp. */
#ifndef WISP_PROTO_ALLOC_H
#define WISP_PROTO_ALLOC_H

#include <stddef.h>

struct wisp_proto_allocator {
	void *(*malloc)(size_t sz);
	void *(*realloc)(void *p, size_t sz);
	void (*free)(void *p);
};

void wisp_proto_set_allocator(const struct wisp_proto_allocator *a);

/* Never NULL: a block of at least one byte. */
void *wisp_proto_malloc(size_t sz);
void *wisp_proto_realloc(void *p, size_t sz);
void wisp_proto_free(void *p);

#endif
