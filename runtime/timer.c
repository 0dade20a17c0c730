/* timer.c: the hierarchical timing wheel. A near wheel of 256 slots, one
 * per millisecond, then four levels of 64 slots, each slot spanning a whole
 * turn of the wheel below; together they reach 2^32 ms ahead. A timer sits
 * in the wheel picked by the highest bit where its expiry differs from the
 * wheel's time, and moves down (cascades) when time enters its slot. So two
 * timers with the same expiry always share a list, which keeps them in the
 * order they were added. */
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

struct node {
	struct node *next;
	uint64_t expiry;
	wisp_handle owner;
	int session;
};

struct slot {
	struct node *head, *tail;
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
	size_t count;
	struct slot slot[SLOTS];
	/* A bit per non-empty slot, so finding the next one is a few word
	 * scans; each region fills whole words. */
	uint64_t busy[SLOTS / 64];
	struct node *spare;
	size_t nspare;
};

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

static void append(struct wisp_wheel *w, unsigned s, struct node *n)
{
	struct slot *sl = &w->slot[s];
	n->next = NULL;
	if (sl->tail)
		sl->tail->next = n;
	else
		sl->head = n;
	sl->tail = n;
	w->busy[s / 64] |= 1ull << (s % 64);
}

/* Empties slot s, handing back its list. */
static struct node *take(struct wisp_wheel *w, unsigned s)
{
	struct node *head = w->slot[s].head;
	w->slot[s].head = w->slot[s].tail = NULL;
	w->busy[s / 64] &= ~(1ull << (s % 64));
	return head;
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
			struct node *next = n->next;
			place(w, n);
			n = next;
		}
	}
}

static struct node *node_new(struct wisp_wheel *w)
{
	struct node *n = w->spare;
	if (n == NULL)
		return wisp_malloc(sizeof *n);
	w->spare = n->next;
	w->nspare--;
	return n;
}

static void node_drop(struct wisp_wheel *w, struct node *n)
{
	if (w->nspare >= SPARE_MAX) {
		wisp_free(n);
		return;
	}
	n->next = w->spare;
	w->spare = n;
	w->nspare++;
}

static void free_list(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		wisp_free(n);
		n = next;
	}
}

/* Removes the first timer of slot s, or returns NULL if it is empty. */
static struct node *pop(struct wisp_wheel *w, unsigned s)
{
	struct node *n = w->slot[s].head;
	if (n == NULL)
		return NULL;
	w->slot[s].head = n->next;
	if (n->next == NULL) {
		w->slot[s].tail = NULL;
		w->busy[s / 64] &= ~(1ull << (s % 64));
	}
	return n;
}

/* Each node is unlinked and recycled before its callback, so fire may add
 * timers: one added with delay 0 joins the slot being fired and fires in
 * this same pass, after the others of its millisecond. */
static void fire_slot(struct wisp_wheel *w, unsigned s, wisp_wheel_fire fire,
	void *ud)
{
	struct node *n;
	while ((n = pop(w, s)) != NULL) {
		wisp_handle owner = n->owner;
		int session = n->session;
		node_drop(w, n);
		w->count--;
		fire(ud, owner, session);
	}
}

struct wisp_wheel *wisp_wheel_new(uint64_t now_ms)
{
	struct wisp_wheel *w = wisp_malloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->now = now_ms;
	return w;
}

void wisp_wheel_free(struct wisp_wheel *w)
{
	for (unsigned s = 0; s < SLOTS; s++)
		free_list(w->slot[s].head);
	free_list(w->spare);
	wisp_free(w);
}

int wisp_wheel_add(struct wisp_wheel *w, uint32_t delay_ms, wisp_handle owner,
	int session)
{
	struct node *n = node_new(w);
	n->expiry = w->now + delay_ms;
	n->owner = owner;
	n->session = session;
	place(w, n);
	w->count++;
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
	if (w->slot[slot_at(regions, w->now)].head)
		return 0;
	uint64_t ms = next_work(w) - w->now;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

size_t wisp_wheel_count(const struct wisp_wheel *w)
{
	return w->count;
}
