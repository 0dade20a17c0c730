/* keyset.h: a set of non-zero 64-bit keys, open addressing with linear
 * probing. Used for the calls a node has pending on a link. */
#ifndef WISP_KEYSET_H
#define WISP_KEYSET_H

#include <stddef.h>
#include <stdint.h>

struct wisp_keyset {
	uint64_t *slots; /* 0 marks an empty slot */
	size_t cap;      /* power of two, or 0 */
	size_t count;
};

void wisp_keyset_add(struct wisp_keyset *s, uint64_t key);
/* 1 if key was there. */
int wisp_keyset_remove(struct wisp_keyset *s, uint64_t key);
int wisp_keyset_has(const struct wisp_keyset *s, uint64_t key);
/* Takes every key out: calls fn for each, then leaves the set empty. */
void wisp_keyset_drain(struct wisp_keyset *s, void (*fn)(uint64_t key,
	void *ud), void *ud);
void wisp_keyset_free(struct wisp_keyset *s);

#endif
