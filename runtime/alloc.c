/* alloc.c: payload memory. When built with jemalloc, malloc itself is
 * jemalloc's (the Debian library replaces the system allocator), so these
 * are thin on purpose; wisp_allocator names which one is in use. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp.h"
#include "alloc.h"
#include "proto_alloc.h"
#ifdef WISP_JEMALLOC
#include <jemalloc/jemalloc.h>

/* Read by jemalloc at its start (MALLOC_CONF in the environment still
 * overrides it). A node is one thread, and a host runs many nodes: one
 * arena instead of four per core. The thread cache keeps its default (up
 * to 32 KiB): cut to 1 KiB it saved an idle node a little memory but cost
 * gate_echo a quarter of its rate, socket reads and frames passing that
 * size. */
const char *malloc_conf = "narenas:1";
#endif

void *wisp_malloc(size_t sz)
{
	void *p = malloc(sz ? sz : 1);
	if (p == NULL)
		abort(); /* out of memory: nothing sane is left to do */
	return p;
}

void *wisp_realloc(void *p, size_t sz)
{
	void *q = realloc(p, sz ? sz : 1);
	if (q == NULL)
		abort();
	return q;
}

void *wisp_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		abort(); /* out of memory, or n * size past SIZE_MAX */
	return p;
}

void wisp_free(void *p)
{
	free(p);
}

char *wisp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(wisp_malloc(n), s, n);
}

void wisp_alloc_init(void)
{
	static const struct wisp_proto_allocator runtime = { wisp_malloc,
		wisp_realloc, wisp_free };
	wisp_proto_set_allocator(&runtime);
}

const char *wisp_allocator(void)
{
#ifdef WISP_JEMALLOC
	static char name[64];
	const char *version = NULL;
	size_t len = sizeof(version);
	if (mallctl("version", &version, &len, NULL, 0) != 0 || version == NULL)
		version = "?";
	/* "5.3.0-0-g54eaed1d..." says more than a log line needs */
	snprintf(name, sizeof(name), "jemalloc %.*s", (int)strcspn(version, "-"),
		version);
	return name;
#else
	return "system malloc";
#endif
}

void wisp_alloc_trim(void)
{
#ifdef WISP_JEMALLOC
	char purge[48];
	snprintf(purge, sizeof(purge), "arena.%u.purge",
		(unsigned)MALLCTL_ARENAS_ALL);
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl(purge, NULL, NULL, NULL, 0);
#else
	malloc_trim(0);
#endif
}
