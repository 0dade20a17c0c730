/* alloc.h: what the runtime itself asks of the allocator. */
#ifndef WISP_ALLOC_H
#define WISP_ALLOC_H

/* "jemalloc <version>" or "system". */
const char *wisp_allocator(void);

#endif
