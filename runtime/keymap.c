/* keymap.c: the key map. Removal shifts later keys of the same probe run
 * back, so there are no tombstones and lookups stay short. The table is
 * kept at most half full, and shrinks again after a burst. */
#include <string.h>
#include "keymap.h"
#include "wisp.h"

#define MIN_CAP 16

static size_t home(const struct wisp_keymap *s, uint64_t key)
{
	key ^= key >> 33; /* mix: sessions are small consecutive numbers */
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (s->cap - 1);
}

static void put(struct wisp_keymap *s, uint64_t key, void *value)
{
	size_t i = home(s, key);
	while (s->slots[i].key != 0 && s->slots[i].key != key)
		i = (i + 1) & (s->cap - 1);
	if (s->slots[i].key == 0)
		s->count++;
	s->slots[i].key = key;
	s->slots[i].value = value;
}

static void resize(struct wisp_keymap *s, size_t cap)
{
	struct wisp_keymap_slot *old = s->slots;
	size_t old_cap = s->cap;
	s->slots = wisp_malloc(cap * sizeof(*s->slots));
	memset(s->slots, 0, cap * sizeof(*s->slots));
	s->cap = cap;
	s->count = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			put(s, old[i].key, old[i].value);
	wisp_free(old);
}

void wisp_keymap_put(struct wisp_keymap *s, uint64_t key, void *value)
{
	if ((s->count + 1) * 2 > s->cap)
		resize(s, s->cap ? s->cap * 2 : MIN_CAP);
	put(s, key, value);
}

static size_t find(const struct wisp_keymap *s, uint64_t key)
{
	if (s->cap == 0)
		return SIZE_MAX;
	for (size_t i = home(s, key); s->slots[i].key; i = (i + 1) & (s->cap - 1))
		if (s->slots[i].key == key)
			return i;
	return SIZE_MAX;
}

void *wisp_keymap_get(const struct wisp_keymap *s, uint64_t key)
{
	size_t i = find(s, key);
	return i == SIZE_MAX ? NULL : s->slots[i].value;
}

/* Fills the hole at i with a later key of the run that may move there. */
static void close_hole(struct wisp_keymap *s, size_t i)
{
	size_t mask = s->cap - 1;
	for (size_t j = (i + 1) & mask; s->slots[j].key; j = (j + 1) & mask) {
		size_t h = home(s, s->slots[j].key);
		/* j's key may move back to i if its home is not in (i, j] */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			s->slots[i] = s->slots[j];
			s->slots[j].key = 0;
			i = j;
		}
	}
}

int wisp_keymap_remove(struct wisp_keymap *s, uint64_t key)
{
	size_t i = find(s, key);
	if (i == SIZE_MAX)
		return 0;
	s->slots[i].key = 0;
	s->count--;
	close_hole(s, i);
	if (s->cap > MIN_CAP && s->count * 8 < s->cap)
		resize(s, s->cap / 2);
	return 1;
}

void wisp_keymap_drain(struct wisp_keymap *s, void (*fn)(uint64_t key,
	void *value, void *ud), void *ud)
{
	struct wisp_keymap_slot *slots = s->slots;
	size_t cap = s->cap;
	memset(s, 0, sizeof(*s)); /* fn may add to the set again */
	for (size_t i = 0; i < cap; i++)
		if (slots[i].key)
			fn(slots[i].key, slots[i].value, ud);
	wisp_free(slots);
}

void wisp_keymap_free(struct wisp_keymap *s)
{
	wisp_free(s->slots);
	memset(s, 0, sizeof(*s));
}
