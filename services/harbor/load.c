/* load.c: how busy each node is, for wisp.pick_least_loaded. Every node
 * reports its live services and its CPU to its root once a second; the
 * root keeps the last report of each and passes every report on to the
 * nodes that asked to watch, so that a pick is a lookup where it is made.
 * Only watchers hear of loads: a cluster of many nodes does not send
 * each report to all of them. */
#include <time.h>
#include "handle.h"
#include "harbor_service.h"

#define LOAD_EVERY_MS 1000

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This node's load now: its CPU is the share of the time since the last
 * measure that the process ran. */
static void measure(struct harbor *h, uint32_t numbers[WISP_LOAD_NUMBERS])
{
	uint64_t cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t wall = clock_of(CLOCK_MONOTONIC);
	uint64_t spent = wall > h->wall_ns ? wall - h->wall_ns : 1;
	uint64_t share = h->wall_ns ? (cpu - h->cpu_ns) * 1000 / spent : 0;
	h->cpu_ns = cpu;
	h->wall_ns = wall;
	numbers[WISP_LOAD_SERVICES] = (uint32_t)wisp_handle_count();
	numbers[WISP_LOAD_CPU] = share > UINT32_MAX ? UINT32_MAX : (uint32_t)share;
}

static void store(struct node_load *to, const uint32_t *numbers)
{
	to->services = numbers[WISP_LOAD_SERVICES];
	to->cpu = numbers[WISP_LOAD_CPU];
	to->known = 1;
}

struct node_load *wisp_load_of(struct harbor *h, uint32_t node)
{
	if (node == h->self->id)
		return &h->self_load;
	struct harbor_link *l = wisp_harbor_link(h, node);
	return l ? &l->load : NULL;
}

static void send_load(struct harbor *h, uint32_t to, uint32_t node,
	const struct node_load *load)
{
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_LOAD, .value = node };
	cmd.numbers[WISP_LOAD_SERVICES] = load->services;
	cmd.numbers[WISP_LOAD_CPU] = load->cpu;
	wisp_directory_send(h, to, wisp_self(h->ctx), 0, &cmd);
}

void wisp_load_report(struct harbor *h, uint32_t node,
	const uint32_t numbers[WISP_LOAD_NUMBERS])
{
	struct node_load *load = wisp_load_of(h, node);
	if (load == NULL || (node != h->self->id && !h->links[node].up))
		return; /* not a node that joined */
	store(load, numbers);
	/* a report a second from each node: the list, not every link */
	for (size_t i = 0; i < h->watcher_count; i++)
		if (h->watchers[i] != node)
			send_load(h, h->watchers[i], node, load);
}

void wisp_load_add_watcher(struct harbor *h, uint32_t node)
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL || !l->up)
		return;
	if (!l->watches) {
		h->watchers = wisp_realloc(h->watchers,
			(h->watcher_count + 1) * sizeof(*h->watchers));
		h->watchers[h->watcher_count++] = node;
		l->watches = 1;
	}
	for (uint32_t id = 1; id <= WISP_MAX_NODE; id++) {
		struct node_load *load = id == node ? NULL : wisp_load_of(h, id);
		if (load && load->known)
			send_load(h, node, id, load);
	}
}

void wisp_load_forget(struct harbor *h, struct harbor_link *l)
{
	l->load.known = 0;
	for (size_t i = 0; l->watches && i < h->watcher_count; i++)
		if (h->watchers[i] == l->peer->id) {
			h->watchers[i] = h->watchers[--h->watcher_count];
			l->watches = 0;
		}
}

void wisp_load_free(struct harbor *h)
{
	wisp_free(h->watchers);
	h->watchers = NULL;
	h->watcher_count = 0;
}

void wisp_load_set(struct harbor *h, uint32_t node,
	const uint32_t numbers[WISP_LOAD_NUMBERS])
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l && l->up)
		store(&l->load, numbers);
}

static void ask_root(struct harbor *h)
{
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_WATCH };
	wisp_directory_send(h, h->root, wisp_self(h->ctx), 0, &cmd);
}

void wisp_load_watch(struct harbor *h)
{
	if (h->watching || h->is_root)
		return;
	h->watching = 1;
	if (h->joined)
		ask_root(h);
}

void wisp_load_joined(struct harbor *h)
{
	if (h->watching)
		ask_root(h);
}

void wisp_load_tick(struct harbor *h)
{
	uint64_t now = wisp_harbor_now();
	if (now < h->load_due_ms)
		return;
	h->load_due_ms = now + LOAD_EVERY_MS;
	uint32_t numbers[WISP_LOAD_NUMBERS];
	measure(h, numbers);
	if (h->is_root) {
		wisp_load_report(h, h->self->id, numbers);
		return;
	}
	store(&h->self_load, numbers);
	if (h->joined) {
		struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_REPORT };
		cmd.numbers[WISP_LOAD_SERVICES] = numbers[WISP_LOAD_SERVICES];
		cmd.numbers[WISP_LOAD_CPU] = numbers[WISP_LOAD_CPU];
		wisp_directory_send(h, h->root, wisp_self(h->ctx), 0, &cmd);
	}
}
