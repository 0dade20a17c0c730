/* alloc.c: payload memory. When built with jemalloc, malloc itself is
 * jemalloc's (the Debian library replaces the system allocator), so these
 * are thin on purpose; wisp_allocator names which one is in use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp.h"
#include "alloc.h"
#ifdef WISP_JEMALLOC
#include <jemalloc/jemalloc.h>
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

void wisp_free(void *p)
{
	free(p);
}

char *wisp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(wisp_malloc(n), s, n);
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
