/* timer.c: the hierarchical timing wheel. A near wheel of 256 slots, one
 * per millisecond, then four levels of 64 slots, each slot spanning a whole
 * turn of the wheel below; together they reach 2^32 ms ahead. A timer sits
 * in the wheel picked by the highest bit where its expiry differs from the
 * wheel's time, and moves down (cascades) when time enters its slot. So two
 * timers with the same expiry always share a list, which keeps them in the
 * order they were added. A hash table of pending timers by (owner, session)
 * lets a call's timeout be cancelled once the call is answered, which is
 * how almost every timeout ends. */
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
/* The hash table never shrinks below 64 buckets (512 bytes). */
#define HASH_MIN_BITS 6

/* Slot lists are circular with the slot itself as the sentinel, so a node
 * unlinks from anywhere without knowing its slot, and an unlink that
 * leaves only the sentinel names the slot whose busy bit must go. */
struct link {
	struct link *next, *prev;
};

/* Hash chains point back at whatever points to the node (a bucket or the
 * previous node's hnext), so firing unlinks a node from its chain with two
 * stores, without hashing or searching. */
struct node {
	struct link link; /* first, so a link is its node */
	struct node *hnext, **hprev;
	uint64_t expiry;
	wisp_handle owner;
	int session;
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
	size_t count; /* pending timers: the nodes in slots and in the table */
	struct link slot[SLOTS];
	/* A bit per non-empty slot, so finding the next one is a few word
	 * scans; each region fills whole words. */
	uint64_t busy[SLOTS / 64];
	/* 2^bits chains, newest node first. */
	struct node **bucket;
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

/* Fibonacci hashing: sessions count up, and the multiply spreads
 * neighbours over the whole table; its top bits are the best mixed. */
static size_t bucket_of(const struct wisp_wheel *w, wisp_handle owner,
	int session)
{
	uint64_t key = (uint64_t)owner << 32 | (uint32_t)session;
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - w->bits));
}

static struct node **buckets_new(unsigned bits)
{
	size_t size = sizeof(struct node *) << bits;
	return memset(wisp_malloc(size), 0, size);
}

/* Rehashes into 2^bits chains. Nodes are appended in the order their old
 * chains hold them (equal keys share a chain), so twins stay newest
 * first. */
static void rehash(struct wisp_wheel *w, unsigned bits)
{
	struct node **old = w->bucket;
	size_t nold = (size_t)1 << w->bits, nnew = (size_t)1 << bits;
	struct node ***tail = wisp_malloc(sizeof *tail * nnew);
	w->bucket = buckets_new(bits);
	w->bits = bits;
	for (size_t b = 0; b < nnew; b++)
		tail[b] = &w->bucket[b];
	for (size_t i = 0; i < nold; i++) {
		struct node *n, *next;
		for (n = old[i]; n; n = next) {
			size_t b = bucket_of(w, n->owner, n->session);
			next = n->hnext;
			n->hprev = tail[b];
			*tail[b] = n;
			tail[b] = &n->hnext;
		}
	}
	for (size_t b = 0; b < nnew; b++)
		*tail[b] = NULL;
	wisp_free(tail);
	wisp_free(old);
}

/* Doubles the table before it would hold more timers than buckets, so a
 * chain averages at most one node. Called before the count goes up. */
static void hash_add(struct wisp_wheel *w, struct node *n)
{
	if (w->count >= (size_t)1 << w->bits)
		rehash(w, w->bits + 1);
	struct node **head = &w->bucket[bucket_of(w, n->owner, n->session)];
	n->hnext = *head;
	n->hprev = head;
	if (*head)
		(*head)->hprev = &n->hnext;
	*head = n;
}

/* Takes a timer leaving the wheel out of the table. Halving it once under
 * 1/4 full lets a burst's table go when the burst has passed; a resize
 * leaves it 1/2 full, so the next one waits until the count has halved or
 * doubled, and rehashing costs O(1) per timer even for a count hovering
 * around a threshold. */
static void forget(struct wisp_wheel *w, struct node *n)
{
	*n->hprev = n->hnext;
	if (n->hnext)
		n->hnext->hprev = n->hprev;
	w->count--;
	if (w->bits > HASH_MIN_BITS && w->count < (size_t)1 << (w->bits - 2))
		rehash(w, w->bits - 1);
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

/* Each node leaves the slot and the table and is recycled before its
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
		forget(w, n);
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
	w->bits = HASH_MIN_BITS;
	w->bucket = buckets_new(w->bits);
	return w;
}

void wisp_wheel_free(struct wisp_wheel *w)
{
	for (unsigned s = 0; s < SLOTS; s++)
		free_nodes(w->slot[s].next, &w->slot[s]);
	free_nodes(w->spare, NULL);
	wisp_free(w->bucket);
	wisp_free(w);
}

int wisp_wheel_add(struct wisp_wheel *w, uint32_t delay_ms, wisp_handle owner,
	int session)
{
	struct node *n = node_new(w);
	n->expiry = w->now + delay_ms;
	n->owner = owner;
	n->session = session;
	hash_add(w, n);
	place(w, n);
	w->count++;
	return 0;
}

int wisp_wheel_cancel(struct wisp_wheel *w, wisp_handle owner, int session)
{
	struct node *n = w->bucket[bucket_of(w, owner, session)];
	for (; n; n = n->hnext) {
		if (n->owner == owner && n->session == session) {
			unlink_node(w, n);
			forget(w, n);
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

uint64_t wisp_wheel_time(const struct wisp_wheel *w)
{
	return w->now;
}

size_t wisp_wheel_count(const struct wisp_wheel *w)
{
	return w->count;
}
