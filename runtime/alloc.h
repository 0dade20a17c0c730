/* alloc.h: what the runtime asks of the allocator beyond wisp.h's
 * wisp_malloc family (which aborts when memory runs out, as these do):
 * zeroed arrays, the allocator's name, and handing it to proto/. */
#ifndef WISP_ALLOC_H
#define WISP_ALLOC_H

#include <stddef.h>

/* n zeroed elements of size bytes; aborts if n * size overflows. */
void *wisp_calloc(size_t n, size_t size);
/* "jemalloc <version>" or "system malloc". */
const char *wisp_allocator(void);
/* Makes proto/'s codecs allocate with wisp_malloc, so that what they hand
 * out is the runtime's to free; called first thing at start. */
void wisp_alloc_init(void);
/* Gives the pages of freed memory back to the system. An idle node's
 * allocator would keep what its start freed (the config's Lua state
 * above all) for as long as the node stays idle: a node calls this once
 * started. */
void wisp_alloc_trim(void);

#endif
