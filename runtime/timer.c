/* timer.c: the hierarchical timing wheel. A near wheel of 256 slots, one
 * per millisecond, then four levels of 64 slots, each slot spanning a whole
 * turn of the wheel below; together they reach 2^32 ms ahead. A timer sits
 * in the wheel picked by the highest bit where its expiry differs from the
 * wheel's time, and moves down (cascades) when time enters its slot. So two
 * timers with the same expiry always share a list, which keeps them in the
 * order they were added. A hash map from (owner, session) to each pending
 * timer lets a call's timeout be cancelled once it is answered, which is
 * what almost every timeout ends as. */
#include <limits.h>
#include <string.h>
#include "timer.h"

#define NEAR_BITS 8
#define LEVEL_BITS 6
#define LEVELS 4
#define NEAR_SIZE (1u << NEAR_BITS)
#define LEVEL_SIZE (1u << LEVEL_BITS)
#define SLOTS (NEAR_SIZE + LEVELS * LEVEL_SIZE)
/* Nodes kept for reuse: enough for a busy service's steady churn without
 * holding on to the memory of a rare burst. */
#define SPARE_MAX 1024
/* The map never shrinks below 64 entries (1 KiB). */
#define MAP_MIN_BITS 6

/* Slot lists are circular with the slot itself as the sentinel, so a node
 * unlinks from anywhere without knowing its slot, and an unlink that
 * leaves only the sentinel names the slot whose busy bit must go. */
struct link {
	struct link *next, *prev;
};

struct node {
	struct link link; /* first, so a link is its node */
	uint64_t expiry;
	wisp_handle owner;
	int session;
};

/* The key is kept beside the node so a probe reads only the table. An
 * entry with node NULL is free. */
struct entry {
	uint64_t key;
	struct node *node;
};

/* A run of slots: the near wheel is region 0, level i is region i + 1.
 * Time bits [shift, shift + bits) pick the slot within it. */
struct region {
	unsigned base, shift, bits;
};

#define LEVEL(i) { NEAR_SIZE + (i) * LEVEL_SIZE, NEAR_BITS + (i) * LEVEL_BITS, LEVEL_BITS }
static const struct region regions[LEVELS + 1] = {
	{ 0, 0, NEAR_BITS }, LEVEL(0), LEVEL(1), LEVEL(2), LEVEL(3),
};
#define TOP (&regions[LEVELS])

struct wisp_wheel {
	uint64_t now;
	size_t count; /* pending timers: the nodes in slots and in the map */
	struct link slot[SLOTS];
	/* A bit per non-empty slot, so finding the next one is a few word
	 * scans; each region fills whole words. */
	uint64_t busy[SLOTS / 64];
	/* Open addressing with linear probing: 2^bits entries. */
	struct entry *map;
	unsigned bits;
	struct link *spare;
	size_t nspare;
};

static struct node *node_of(struct link *l)
{
	return (struct node *)l;
}

static unsigned region_end(const struct region *g)
{
	return g->base + (1u << g->bits);
}

/* The slot of region g that time t falls in. */
static unsigned slot_at(const struct region *g, uint64_t t)
{
	return g->base + (unsigned)((t >> g->shift) & ((1u << g->bits) - 1));
}

/* The time at which slot s of region g comes up in the turn starting at
 * turn. */
static uint64_t slot_time(const struct region *g, uint64_t turn, unsigned s)
{
	return turn + ((uint64_t)(s - g->base) << g->shift);
}

/* The start of region g's turn that t falls in. */
static uint64_t turn_start(const struct region *g, uint64_t t)
{
	unsigned bits = g->shift + g->bits;
	return t >> bits << bits;
}

static int slot_empty(const struct wisp_wheel *w, unsigned s)
{
	return w->slot[s].next == &w->slot[s];
}

static void append(struct wisp_wheel *w, unsigned s, struct node *n)
{
	struct link *head = &w->slot[s];
	n->link.next = head;
	n->link.prev = head->prev;
	head->prev->next = &n->link;
	head->prev = &n->link;
	w->busy[s / 64] |= 1ull << (s % 64);
}

static void unlink_node(struct wisp_wheel *w, struct node *n)
{
	struct link *prev = n->link.prev, *next = n->link.next;
	prev->next = next;
	next->prev = prev;
	if (prev == next) { /* only the sentinel is left */
		unsigned s = (unsigned)(prev - w->slot);
		w->busy[s / 64] &= ~(1ull << (s % 64));
	}
}

/* Empties slot s, handing back its list ended by NULL. */
static struct node *take(struct wisp_wheel *w, unsigned s)
{
	struct link *head = &w->slot[s];
	struct link *first = head->next;
	if (first == head)
		return NULL;
	head->prev->next = NULL;
	head->next = head->prev = head;
	w->busy[s / 64] &= ~(1ull << (s % 64));
	return node_of(first);
}

/* The first non-empty slot in [from, end), or -1; end is word aligned. */
static int first_busy(const struct wisp_wheel *w, unsigned from, unsigned end)
{
	while (from < end) {
		uint64_t m = w->busy[from / 64] >> (from % 64);
		if (m)
			return (int)(from + (unsigned)__builtin_ctzll(m));
		from = (from / 64 + 1) * 64;
	}
	return -1;
}

/* Files n in the first wheel that spans every bit where its expiry differs
 * from time. An expiry under 2^32 ms ahead may still lie in the next 2^32
 * ms epoch, past the top level's reach; it goes to the top level all the
 * same: its slot is at or behind time's, so it comes round again early in
 * the next epoch, before the expiry. */
static void place(struct wisp_wheel *w, struct node *n)
{
	uint64_t x = n->expiry ^ w->now;
	const struct region *g = regions;
	while (g != TOP && x >> (g->shift + g->bits) != 0)
		g++;
	append(w, slot_at(g, n->expiry), n);
}

/* The first time after now with work to do: a near slot to fire or a
 * level slot to cascade. Every time the near wheel can name comes before
 * any level 0 can, and so on up, so the first busy slot found wins. Below
 * the top level, no slot at or behind time's can be busy. */
static uint64_t next_work(const struct wisp_wheel *w)
{
	for (const struct region *g = regions; g <= TOP; g++) {
		int s = first_busy(w, slot_at(g, w->now) + 1, region_end(g));
		if (s >= 0)
			return slot_time(g, turn_start(g, w->now), (unsigned)s);
	}
	/* The top level's slots at or behind time hold the next epoch's. */
	int s = first_busy(w, TOP->base, region_end(TOP));
	if (s < 0)
		return UINT64_MAX;
	uint64_t epoch = turn_start(TOP, w->now) + (1ull << (TOP->shift + TOP->bits));
	return slot_time(TOP, epoch, (unsigned)s);
}

/* When time enters a level's slot (all the bits below it are zero), that
 * slot's timers are spread over the wheels below. */
static void cascade(struct wisp_wheel *w)
{
	for (const struct region *g = regions + 1;
			g <= TOP && (w->now & ((1ull << g->shift) - 1)) == 0; g++) {
		struct node *n = take(w, slot_at(g, w->now));
		while (n) {
			struct node *next = node_of(n->link.next);
			place(w, n);
			n = next;
		}
	}
}

static uint64_t key_of(wisp_handle owner, int session)
{
	return (uint64_t)owner << 32 | (uint32_t)session;
}

static size_t map_mask(const struct wisp_wheel *w)
{
	return ((size_t)1 << w->bits) - 1;
}

/* Fibonacci hashing: sessions count up, and the multiply spreads
 * neighbours over the whole table; the top bits are the best mixed. */
static size_t map_home(const struct wisp_wheel *w, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - w->bits));
}

/* Linear probing puts a key after every earlier entry with the same key,
 * and deleting by shifting back keeps that order, so a lookup finds the
 * one added first. */
static void map_insert(struct wisp_wheel *w, uint64_t key, struct node *n)
{
	size_t mask = map_mask(w), i = map_home(w, key);
	while (w->map[i].node)
		i = (i + 1) & mask;
	w->map[i].key = key;
	w->map[i].node = n;
}

static struct entry *map_alloc(unsigned bits)
{
	size_t size = sizeof(struct entry) << bits;
	return memset(wisp_malloc(size), 0, size);
}

/* Reinserting from the start of a cluster, never its middle (the table
 * always has a free entry), keeps equal keys in the order they were
 * added. */
static void map_resize(struct wisp_wheel *w, unsigned bits)
{
	struct entry *old = w->map;
	size_t mask = map_mask(w), start = 0;
	while (old[start].node)
		start++;
	w->map = map_alloc(bits);
	w->bits = bits;
	for (size_t k = 0; k <= mask; k++) {
		struct entry *e = &old[(start + k) & mask];
		if (e->node)
			map_insert(w, e->key, e->node);
	}
	wisp_free(old);
}

/* Grows past 3/4 full, for short probes. Called before count grows. */
static void map_add(struct wisp_wheel *w, struct node *n)
{
	if ((w->count + 1) * 4 > (size_t)3 << w->bits)
		map_resize(w, w->bits + 1);
	map_insert(w, key_of(n->owner, n->session), n);
}

/* Backward-shift deletion: later entries of the cluster that may sit
 * earlier move into the gap, so no tombstones pile up and a probe stops
 * at the first free entry. */
static void map_remove_at(struct wisp_wheel *w, size_t i)
{
	size_t mask = map_mask(w);
	for (size_t j = (i + 1) & mask; w->map[j].node; j = (j + 1) & mask) {
		size_t home = map_home(w, w->map[j].key);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			w->map[i] = w->map[j];
			i = j;
		}
	}
	w->map[i].node = NULL;
}

/* The map's entry for pending timer n (it has one). */
static size_t map_slot_of(const struct wisp_wheel *w, const struct node *n)
{
	size_t mask = map_mask(w);
	size_t i = map_home(w, key_of(n->owner, n->session));
	while (w->map[i].node != n)
		i = (i + 1) & mask;
	return i;
}

/* Drops the map entry at i of a timer leaving the wheel. Shrinking below
 * 1/8 full to 1/4 full means a burst's table goes once it has passed,
 * and a size is only left again after the count doubles or halves, so
 * resizing costs O(1) per timer even for a count that hovers. */
static void forget(struct wisp_wheel *w, size_t i)
{
	map_remove_at(w, i);
	w->count--;
	if (w->bits > MAP_MIN_BITS && w->count * 8 < (size_t)1 << w->bits)
		map_resize(w, w->bits - 1);
}

static struct node *node_new(struct wisp_wheel *w)
{
	struct link *l = w->spare;
	if (l == NULL)
		return wisp_malloc(sizeof(struct node));
	w->spare = l->next;
	w->nspare--;
	return node_of(l);
}

static void node_drop(struct wisp_wheel *w, struct node *n)
{
	if (w->nspare >= SPARE_MAX) {
		wisp_free(n);
		return;
	}
	n->link.next = w->spare;
	w->spare = &n->link;
	w->nspare++;
}

/* Frees the nodes from l up to end. */
static void free_nodes(struct link *l, const struct link *end)
{
	while (l != end) {
		struct link *next = l->next;
		wisp_free(node_of(l));
		l = next;
	}
}

/* Removes the first timer of slot s, or returns NULL if it is empty. */
static struct node *pop(struct wisp_wheel *w, unsigned s)
{
	if (slot_empty(w, s))
		return NULL;
	struct node *n = node_of(w->slot[s].next);
	unlink_node(w, n);
	return n;
}

/* Each node leaves the slot and the map and is recycled before its
 * callback, so fire may add timers and cancel any, itself included (a
 * no-op then): one added with delay 0 joins the slot being fired and
 * fires in this same pass, after the others of its millisecond. */
static void fire_slot(struct wisp_wheel *w, unsigned s, wisp_wheel_fire fire,
	void *ud)
{
	struct node *n;
	while ((n = pop(w, s)) != NULL) {
		wisp_handle owner = n->owner;
		int session = n->session;
		forget(w, map_slot_of(w, n));
		node_drop(w, n);
		fire(ud, owner, session);
	}
}

struct wisp_wheel *wisp_wheel_new(uint64_t now_ms)
{
	struct wisp_wheel *w = wisp_malloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->now = now_ms;
	for (unsigned s = 0; s < SLOTS; s++)
		w->slot[s].next = w->slot[s].prev = &w->slot[s];
	w->bits = MAP_MIN_BITS;
	w->map = map_alloc(w->bits);
	return w;
}

void wisp_wheel_free(struct wisp_wheel *w)
{
	for (unsigned s = 0; s < SLOTS; s++)
		free_nodes(w->slot[s].next, &w->slot[s]);
	free_nodes(w->spare, NULL);
	wisp_free(w->map);
	wisp_free(w);
}

int wisp_wheel_add(struct wisp_wheel *w, uint32_t delay_ms, wisp_handle owner,
	int session)
{
	struct node *n = node_new(w);
	n->expiry = w->now + delay_ms;
	n->owner = owner;
	n->session = session;
	map_add(w, n);
	place(w, n);
	w->count++;
	return 0;
}

int wisp_wheel_cancel(struct wisp_wheel *w, wisp_handle owner, int session)
{
	uint64_t key = key_of(owner, session);
	size_t mask = map_mask(w), i = map_home(w, key);
	for (; w->map[i].node; i = (i + 1) & mask) {
		if (w->map[i].key == key) {
			struct node *n = w->map[i].node;
			unlink_node(w, n);
			forget(w, i);
			node_drop(w, n);
			return 1;
		}
	}
	return 0;
}

/* Time jumps straight to the next slot with work, so a long step costs
 * a few cascades rather than one pass per millisecond. */
void wisp_wheel_advance(struct wisp_wheel *w, uint64_t now_ms,
	wisp_wheel_fire fire, void *ud)
{
	fire_slot(w, slot_at(regions, w->now), fire, ud);
	while (w->now < now_ms) {
		uint64_t t = next_work(w);
		if (t > now_ms) {
			w->now = now_ms;
			break;
		}
		w->now = t;
		cascade(w);
		fire_slot(w, slot_at(regions, w->now), fire, ud);
	}
}

int wisp_wheel_next(const struct wisp_wheel *w)
{
	if (w->count == 0)
		return -1;
	if (!slot_empty(w, slot_at(regions, w->now)))
		return 0;
	uint64_t ms = next_work(w) - w->now;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

size_t wisp_wheel_count(const struct wisp_wheel *w)
{
	return w->count;
}
