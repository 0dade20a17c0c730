/* names.c: the table of local names, a chained hash keyed by name. Names
 * are few next to messages, so the table favours plainness over speed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "remote.h"
#include "service.h"

struct entry {
	struct entry *next;
	wisp_handle handle;
	char name[];
};

static struct {
	struct entry **buckets;
	size_t size; /* power of two, or 0 before the first name */
	size_t count;
} N;

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)h;
}

static struct entry **find_link(const char *name)
{
	if (N.size == 0)
		return NULL;
	struct entry **link = &N.buckets[hash(name) & (N.size - 1)];
	while (*link && strcmp((*link)->name, name) != 0)
		link = &(*link)->next;
	return link;
}

static void rehash(size_t size)
{
	struct entry **buckets = calloc(size, sizeof(*buckets));
	if (buckets == NULL)
		abort();
	for (size_t i = 0; i < N.size; i++) {
		struct entry *e = N.buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			struct entry **b = &buckets[hash(e->name) & (size - 1)];
			e->next = *b;
			*b = e;
		}
	}
	free(N.buckets);
	N.buckets = buckets;
	N.size = size;
}

int wisp_names_add(const char *name, wisp_handle h)
{
	if (!wisp_name_valid(name) || h == 0 || wisp_names_find(name))
		return -1;
	if (N.count >= N.size)
		rehash(N.size ? N.size * 2 : 16);
	size_t len = strlen(name) + 1;
	struct entry *e = wisp_malloc(sizeof(*e) + len);
	memcpy(e->name, name, len);
	e->handle = h;
	struct entry **b = &N.buckets[hash(name) & (N.size - 1)];
	e->next = *b;
	*b = e;
	N.count++;
	return 0;
}

int wisp_names_remove(const char *name, wisp_handle h)
{
	struct entry **link = find_link(name);
	if (link == NULL || *link == NULL || (*link)->handle != h)
		return -1;
	struct entry *e = *link;
	*link = e->next;
	wisp_free(e);
	N.count--;
	return 0;
}

wisp_handle wisp_names_find(const char *name)
{
	struct entry **link = find_link(name);
	return link && *link ? (*link)->handle : 0;
}

void wisp_names_exit(void)
{
	for (size_t i = 0; i < N.size; i++) {
		struct entry *e = N.buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			wisp_free(e);
		}
	}
	free(N.buckets);
	N.buckets = NULL;
	N.size = N.count = 0;
}

/* The service API: a service remembers its names so they go with it. */
int wisp_register(struct wisp_context *ctx, const char *name)
{
	if (ctx->dead || wisp_names_add(name, ctx->handle) != 0)
		return -1;
	ctx->names = wisp_realloc(ctx->names,
		(ctx->name_count + 1) * sizeof(*ctx->names));
	ctx->names[ctx->name_count++] = wisp_strdup(name);
	return 0;
}

int wisp_unregister(struct wisp_context *ctx, const char *name)
{
	for (unsigned i = 0; i < ctx->name_count; i++) {
		if (strcmp(ctx->names[i], name) != 0)
			continue;
		wisp_names_remove(name, ctx->handle);
		wisp_free(ctx->names[i]);
		ctx->names[i] = ctx->names[--ctx->name_count];
		return 0;
	}
	return -1;
}

/* A local name first, then a cluster-wide one. */
wisp_handle wisp_query(const char *name)
{
	wisp_handle h = wisp_names_find(name);
	return h ? h : wisp_remote_global(name);
}
