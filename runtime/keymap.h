/* keymap.h: a map from non-zero 64-bit keys (sessions, handles,
 * connection ids) to pointers, open addressing with linear probing: at
 * most half full, and smaller again after a burst. */
#ifndef WISP_KEYMAP_H
#define WISP_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct wisp_keymap_slot {
	uint64_t key; /* 0 marks an empty slot */
	void *value;
};

struct wisp_keymap {
	struct wisp_keymap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t count;
};

/* Sets key's value, replacing any. */
void wisp_keymap_put(struct wisp_keymap *m, uint64_t key, void *value);
/* key's value, or NULL. */
void *wisp_keymap_get(const struct wisp_keymap *m, uint64_t key);
/* Removes key: 1 if it was there. */
int wisp_keymap_remove(struct wisp_keymap *m, uint64_t key);
/* Takes every entry out, then calls fn for each: the map is empty when
 * fn runs, and keeps what fn puts in it. */
void wisp_keymap_drain(struct wisp_keymap *m, void (*fn)(uint64_t key,
	void *value, void *ud), void *ud);
void wisp_keymap_free(struct wisp_keymap *m);

#endif
