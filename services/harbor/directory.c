/* directory.c: which nodes are up and who holds each cluster-wide name.
 * A root keeps the table: nodes join it, services claim names through it,
 * and it tells every node of changes. Other nodes keep a replica, so that
 * sending by a cluster-wide name is a local lookup. A node whose root goes
 * away joins the next root in the config and claims its names again.
 * Each command is obeyed only from whom may give it (proto/HARBOR.md,
 * "Trust"): the table from the node's root, a node's news from that node. */
#include <stdio.h>
#include <string.h>
#include "cluster.h"
#include "harbor_service.h"
#include "names.h"
#include "service.h"

#define JOIN_RETRY_MS 500      /* the first wait for a welcome */
#define JOIN_RETRY_MAX_MS 4000 /* a busy root is not asked more often */

/* Straight onto the peer's link, found by id: a root sends a frame per
 * node for every join, so nothing here may look nodes up by name. */
static void send_text(struct harbor *h, uint32_t node, wisp_handle source,
	int session, const char *text, size_t n)
{
	if (node == h->self->id) {
		wisp_send_name(h->ctx, "wisp.harbor", WISP_MSG_CLUSTER, session,
			memcpy(wisp_malloc(n), text, n), n);
		return;
	}
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL)
		return;
	struct wisp_harbor_msg m = { .source = source ? source
		: wisp_self(h->ctx), .session = session, .type = WISP_MSG_CLUSTER,
		.name = "wisp.harbor", .payload = (void *)text, .size = n };
	wisp_harbor_link_send(h, l, &m); /* it copies the payload */
}

void wisp_directory_send(struct harbor *h, uint32_t node, wisp_handle source,
	int session, const struct wisp_cluster_cmd *cmd)
{
	char text[WISP_CLUSTER_MAX];
	send_text(h, node, source, session, text, wisp_cluster_format(cmd, text));
}

/* Root: commands to one node, a line each, many to a message: a joining
 * node gets the whole table in a few frames, not one per node and name
 * (which would also grow the link's buffer to hold them all). A message
 * stays under harbor.compress: a link that compresses once keeps a zstd
 * context at both ends for good. */
#define BATCH_MAX 8192
struct batch {
	uint32_t node;
	size_t len, max;
	char text[BATCH_MAX];
};

static void batch_init(struct harbor *h, struct batch *b, uint32_t node)
{
	size_t compress = h->settings->compress_threshold;
	b->node = node;
	b->len = 0;
	b->max = compress && compress <= BATCH_MAX ? compress - 1 : BATCH_MAX;
}

static void batch_flush(struct harbor *h, struct batch *b)
{
	if (b->len)
		send_text(h, b->node, wisp_self(h->ctx), 0, b->text, b->len);
	b->len = 0;
}

static void batch_add(struct harbor *h, struct batch *b, int op,
	uint32_t value, const char *name)
{
	struct wisp_cluster_cmd cmd = { .op = op, .value = value };
	snprintf(cmd.name, sizeof(cmd.name), "%s", name ? name : "");
	char line[WISP_CLUSTER_MAX];
	size_t n = wisp_cluster_format(&cmd, line);
	if (b->len + 1 + n > b->max)
		batch_flush(h, b);
	if (b->len)
		b->text[b->len++] = '\n';
	memcpy(b->text + b->len, line, n);
	b->len += n;
}

/* Root: to every node that joined but skip (0: none); not to itself,
 * whose table is the one that changed. */
static void broadcast(struct harbor *h, const struct wisp_cluster_cmd *cmd,
	uint32_t skip)
{
	for (uint32_t id = 1; id <= WISP_MAX_NODE; id++)
		if (id != skip && h->links[id].peer && h->links[id].up)
			wisp_directory_send(h, id, wisp_self(h->ctx), 0, cmd);
}

static void tell_monitors(struct harbor *h, const char *event,
	const struct harbor_link *l)
{
	char text[96];
	int n = snprintf(text, sizeof(text), "%s %s %u", event, l->peer->name,
		l->peer->id);
	for (size_t i = 0; i < h->monitor_count; i++)
		if (wisp_send(h->ctx, h->monitors[i], WISP_MSG_NODE, 0,
				memcpy(wisp_malloc((size_t)n), text, (size_t)n), (size_t)n) < 0)
			h->monitors[i--] = h->monitors[--h->monitor_count];
}

static struct global_name *find_name(struct harbor *h, const char *name)
{
	for (size_t i = 0; i < h->name_count; i++)
		if (strcmp(h->names[i].name, name) == 0)
			return &h->names[i];
	return NULL;
}

static void set_name(struct harbor *h, const char *name, wisp_handle holder)
{
	struct global_name *g = find_name(h, name);
	if (g == NULL) {
		h->names = wisp_realloc(h->names, (h->name_count + 1) * sizeof(*g));
		g = &h->names[h->name_count++];
		snprintf(g->name, sizeof(g->name), "%s", name);
	}
	g->handle = holder;
}

static void drop_name(struct harbor *h, const char *name)
{
	struct global_name *g = find_name(h, name);
	if (g)
		*g = h->names[--h->name_count];
}

static void mark_up(struct harbor *h, uint32_t node)
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL || l->up)
		return;
	l->up = 1;
	l->retry_ms = 0; /* a node back up may be dialed at once */
	l->load.known = 0;
	wisp_resolve_forget(l); /* a new life, with new handles */
	tell_monitors(h, "up", l);
}

static void mark_down(struct harbor *h, uint32_t node)
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL || !l->up)
		return;
	l->up = 0;
	wisp_load_forget(h, l);
	wisp_resolve_forget(l);
	for (size_t i = h->name_count; i-- > 0;) /* its names go with it */
		if (WISP_HANDLE_NODE(h->names[i].handle) == node)
			h->names[i] = h->names[--h->name_count];
	tell_monitors(h, "down", l);
}

static void send_op(struct harbor *h, uint32_t node, int op, uint32_t value,
	const char *name)
{
	struct wisp_cluster_cmd cmd = { .op = op, .value = value };
	snprintf(cmd.name, sizeof(cmd.name), "%s", name ? name : "");
	wisp_directory_send(h, node, wisp_self(h->ctx), 0, &cmd);
}

/* Root: a node that asks again on the connection it joined on waits for
 * the welcome already on its way (a lost link would have marked it down):
 * answering again would send it the whole table twice. */
static int joined_here(const struct harbor_link *l)
{
	return l->up && l->in && l->in->id == l->joined_on;
}

/* Root: a node joined; it learns the whole table, the others learn of it. */
static void root_join(struct harbor *h, uint32_t node)
{
	struct harbor_link *l = wisp_harbor_link(h, node);
	if (l == NULL || joined_here(l))
		return;
	l->joined_on = l->in ? l->in->id : 0;
	for (size_t i = h->name_count; i-- > 0;) /* left from its last life */
		if (WISP_HANDLE_NODE(h->names[i].handle) == node) {
			struct wisp_cluster_cmd un = { .op = WISP_CLUSTER_UNNAME };
			snprintf(un.name, sizeof(un.name), "%s", h->names[i].name);
			h->names[i] = h->names[--h->name_count];
			broadcast(h, &un, 0);
		}
	mark_up(h, node);
	struct batch b;
	batch_init(h, &b, node);
	batch_add(h, &b, WISP_CLUSTER_WELCOME, 0, NULL);
	batch_add(h, &b, WISP_CLUSTER_UP, h->self->id, NULL);
	for (uint32_t id = 1; id <= WISP_MAX_NODE; id++)
		if (h->links[id].peer && h->links[id].up && id != node)
			batch_add(h, &b, WISP_CLUSTER_UP, id, NULL);
	for (size_t i = 0; i < h->name_count; i++)
		batch_add(h, &b, WISP_CLUSTER_NAME, h->names[i].handle,
			h->names[i].name);
	batch_flush(h, &b);
	struct wisp_cluster_cmd up = { .op = WISP_CLUSTER_UP, .value = node };
	broadcast(h, &up, node);
}

static void root_register(struct harbor *h, wisp_handle source, int session,
	const char *name)
{
	struct global_name *g = find_name(h, name);
	if (g && g->handle != source) {
		wisp_bounce(wisp_self(h->ctx), source, session, "the cluster-wide "
			"name '%s' is held by :%08x", name, g->handle);
		return;
	}
	struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_NAME, .value = source };
	snprintf(cmd.name, sizeof(cmd.name), "%s", name);
	set_name(h, name, source);
	broadcast(h, &cmd, 0);
	if (session > 0) /* the answer is a packed list of no values */
		wisp_send(h->ctx, source, WISP_MSG_RESPONSE, session,
			memset(wisp_malloc(1), 0, 1), 1);
}

static void root_gone(struct harbor *h, wisp_handle service)
{
	for (size_t i = h->name_count; i-- > 0;)
		if (h->names[i].handle == service) {
			struct wisp_cluster_cmd un = { .op = WISP_CLUSTER_UNNAME };
			snprintf(un.name, sizeof(un.name), "%s", h->names[i].name);
			h->names[i] = h->names[--h->name_count];
			broadcast(h, &un, 0);
		}
}

/* Claims again, at a new root, the names this node's services hold. */
static void reclaim_names(struct harbor *h)
{
	for (size_t i = 0; i < h->name_count; i++)
		if (WISP_HANDLE_NODE(h->names[i].handle) == h->self->id) {
			struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_REGISTER };
			snprintf(cmd.name, sizeof(cmd.name), "%s", h->names[i].name);
			wisp_directory_send(h, h->root, h->names[i].handle, 0, &cmd);
		}
}

static void hold_claim(struct harbor *h, wisp_handle source, int session,
	const char *name)
{
	h->held = wisp_realloc(h->held, (h->held_count + 1) * sizeof(*h->held));
	struct held_claim *c = &h->held[h->held_count++];
	c->source = source;
	c->session = session;
	snprintf(c->name, sizeof(c->name), "%s", name);
}

static void send_held_claims(struct harbor *h)
{
	for (size_t i = 0; i < h->held_count; i++) {
		struct wisp_cluster_cmd cmd = { .op = WISP_CLUSTER_REGISTER };
		snprintf(cmd.name, sizeof(cmd.name), "%s", h->held[i].name);
		wisp_directory_send(h, h->root, h->held[i].source,
			h->held[i].session, &cmd);
	}
	h->held_count = 0;
}

static void node_command(struct harbor *h, wisp_handle source, int session,
	const struct wisp_cluster_cmd *cmd)
{
	switch (cmd->op) {
	case WISP_CLUSTER_WELCOME:
		h->root = WISP_HANDLE_NODE(source);
		h->joined = 1;
		reclaim_names(h);
		send_held_claims(h);
		wisp_load_joined(h);
		break;
	case WISP_CLUSTER_UP:
		mark_up(h, cmd->value);
		break;
	case WISP_CLUSTER_DOWN:
		mark_down(h, cmd->value);
		break;
	case WISP_CLUSTER_NAME:
		set_name(h, cmd->name, cmd->value);
		break;
	case WISP_CLUSTER_UNNAME:
		drop_name(h, cmd->name);
		break;
	case WISP_CLUSTER_LOAD:
		wisp_load_set(h, cmd->value, cmd->numbers);
		break;
	case WISP_CLUSTER_REGISTER: /* from a local service: to the root */
		if (h->joined)
			wisp_directory_send(h, h->root, source, session, cmd);
		else /* until a root welcomes this node; the caller's timeout
		      * bounds the wait */
			hold_claim(h, source, session, cmd->name);
		break;
	}
}

static void root_command(struct harbor *h, wisp_handle source, int session,
	const struct wisp_cluster_cmd *cmd)
{
	switch (cmd->op) {
	case WISP_CLUSTER_JOIN:
		root_join(h, WISP_HANDLE_NODE(source));
		break;
	case WISP_CLUSTER_REGISTER:
		root_register(h, source, session, cmd->name);
		break;
	case WISP_CLUSTER_GONE:
		root_gone(h, cmd->value);
		break;
	case WISP_CLUSTER_REPORT:
		wisp_load_report(h, WISP_HANDLE_NODE(source), cmd->numbers);
		break;
	case WISP_CLUSTER_WATCH:
		wisp_load_add_watcher(h, WISP_HANDLE_NODE(source));
		break;
	}
}

/* Between any two harbors, root or not: 1 if cmd was one of those. */
static int peer_command(struct harbor *h, wisp_handle source,
	const struct wisp_cluster_cmd *cmd)
{
	switch (cmd->op) {
	case WISP_CLUSTER_RESOLVE:
		wisp_resolve_asked(h, source, cmd->name);
		return 1;
	case WISP_CLUSTER_RESOLVED:
		wisp_resolve_answered(h, source, cmd->name, cmd->value);
		return 1;
	case WISP_CLUSTER_STALE:
		wisp_resolve_stale(h, source, cmd->value);
		return 1;
	default:
		return 0;
	}
}

static int config_root(const struct harbor *h, uint32_t node)
{
	for (size_t i = 0; i < h->cfg->root_count; i++)
		if (h->cfg->roots[i] == node)
			return 1;
	return 0;
}

/* What a root tells its nodes (welcome, up, down, name, unname, load): a
 * node takes it from the root that welcomed it, and between roots from
 * any root of its config. A welcome is taken from any root at any time:
 * one may come late from a root asked before, which now counts this node
 * as joined and would not answer its next join on that link. A root
 * takes the table from nobody: roots do not talk to each other. */
static const char *root_speaks(const struct harbor *h, uint32_t node, int op)
{
	if (h->is_root)
		return "a root takes the table from nobody";
	if (h->joined && op != WISP_CLUSTER_WELCOME && node != h->root)
		return "not from the root this node joined";
	return config_root(h, node) ? NULL : "not from a root of the config";
}

/* NULL if source may give cmd to this node, else why not. The harbor lets
 * in only sources of the node whose link a message came on, so the
 * source's node is the node that speaks: a node's news (join, report,
 * watch, gone) is of itself, and a claim is for the source. */
static const char *refusal(const struct harbor *h, wisp_handle source,
	const struct wisp_cluster_cmd *cmd)
{
	uint32_t node = WISP_HANDLE_NODE(source);
	switch (cmd->op) {
	case WISP_CLUSTER_RESOLVE: /* of the asker's or the sender's own */
	case WISP_CLUSTER_RESOLVED:
	case WISP_CLUSTER_STALE:
		return NULL;
	case WISP_CLUSTER_GONE:
		if (h->is_root && WISP_HANDLE_NODE(cmd->value) != node)
			return "a node tells only of its own services";
		/* fall through */
	case WISP_CLUSTER_JOIN:
	case WISP_CLUSTER_REPORT:
	case WISP_CLUSTER_WATCH:
		return h->is_root ? NULL : "only a root is told that";
	case WISP_CLUSTER_REGISTER: /* a node passes on its own services' */
		return h->is_root || node == h->self->id ? NULL
			: "a claim goes to the root from the claimer's node";
	default:
		return root_speaks(h, node, cmd->op);
	}
}

static const char *node_name(const struct harbor *h, uint32_t node)
{
	const struct wisp_peer *p = wisp_config_peer_id(h->cfg, node);
	return p ? p->name : "?";
}

static const char *malformed(struct harbor *h, wisp_handle source)
{
	wisp_log(h->ctx, WISP_LOG_WARN, "bad directory message from :%08x",
		source);
	return "bad directory message";
}

/* NULL when the line was run, else why not (logged: a parsed line is
 * plain ASCII, safe to show; flood control holds such lines to a few a
 * second, whatever a peer sends). */
static const char *run_line(struct harbor *h, wisp_handle source,
	int session, const char *line, size_t sz)
{
	struct wisp_cluster_cmd cmd;
	if (wisp_cluster_parse(line, sz, &cmd) < 0)
		return malformed(h, source);
	const char *why = refusal(h, source, &cmd);
	if (why) {
		wisp_log(h->ctx, WISP_LOG_WARN, "refused directory command '%.*s' "
			"from :%08x (node %s): %s", (int)sz, line, source,
			node_name(h, WISP_HANDLE_NODE(source)), why);
		return "refused directory command";
	}
	if (peer_command(h, source, &cmd))
		return NULL;
	if (h->is_root)
		root_command(h, source, session, &cmd);
	else
		node_command(h, source, session, &cmd);
	return NULL;
}

/* One command a line (a root's batches hold many), run in order up to
 * the first bad or refused one, which drops the rest with it. */
void wisp_directory_request(struct harbor *h, wisp_handle source,
	int session, const char *text, size_t sz)
{
	const char *end = text ? text + sz : NULL, *nl;
	const char *why = text && sz ? NULL : malformed(h, source);
	for (; why == NULL; text = nl + 1) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (nl == NULL)
			nl = end;
		why = run_line(h, source, session, text, (size_t)(nl - text));
		if (nl == end)
			break;
	}
	if (why)
		wisp_bounce(wisp_self(h->ctx), source, session, "%s", why);
}

void wisp_directory_node_down(struct harbor *h, uint32_t node)
{
	if (h->is_root) {
		if (wisp_harbor_link(h, node) && h->links[node].up) {
			mark_down(h, node);
			struct wisp_cluster_cmd down = { .op = WISP_CLUSTER_DOWN,
				.value = node };
			broadcast(h, &down, 0);
		}
		return;
	}
	mark_down(h, node);
	if (node == h->root) { /* join the next root */
		h->joined = 0;
		h->root = 0;
		h->root_index++;
		h->join_retry_ms = 0;
	}
}

void wisp_directory_gone(struct harbor *h, wisp_handle service)
{
	if (h->is_root) {
		root_gone(h, service);
		return;
	}
	for (size_t i = h->name_count; i-- > 0;)
		if (h->names[i].handle == service)
			h->names[i] = h->names[--h->name_count];
	if (h->joined)
		send_op(h, h->root, WISP_CLUSTER_GONE, service, NULL);
}

static uint32_t root_asked(struct harbor *h)
{
	return h->cfg->roots[h->root_index % h->cfg->root_count];
}

/* The last JOIN got no welcome: the wait for the next one doubles if it
 * reached its root (the link is up), since a root that many nodes join at
 * once answers late and asking it again only adds to its work; it stays
 * short while no link carries the JOIN. */
static uint32_t join_wait(struct harbor *h)
{
	struct harbor_link *l = wisp_harbor_link(h, root_asked(h));
	if (l == NULL || l->out == NULL || l->out->state != CONN_UP)
		return JOIN_RETRY_MS;
	uint32_t wait = h->join_wait_ms * 2;
	return wait > JOIN_RETRY_MAX_MS ? JOIN_RETRY_MAX_MS : wait;
}

/* Until a root has welcomed this node, asks the roots in turn. */
void wisp_directory_tick(struct harbor *h)
{
	uint64_t now = wisp_harbor_now();
	if (h->is_root || h->joined || h->cfg->root_count == 0
		|| now < h->join_retry_ms)
		return;
	h->join_wait_ms = h->join_retry_ms ? join_wait(h) : JOIN_RETRY_MS;
	if (h->join_retry_ms) /* the last try got no welcome */
		h->root_index++;
	h->join_retry_ms = now + h->join_wait_ms;
	send_op(h, root_asked(h), WISP_CLUSTER_JOIN, 0, NULL);
}

void wisp_directory_start(struct harbor *h)
{
	for (size_t i = 0; i < h->cfg->root_count; i++)
		if (h->cfg->roots[i] == h->self->id)
			h->is_root = 1;
	wisp_directory_tick(h);
}

void wisp_directory_free(struct harbor *h)
{
	wisp_free(h->names);
	wisp_free(h->monitors);
	wisp_free(h->held);
	wisp_load_free(h);
	h->names = NULL;
	h->monitors = NULL;
	h->name_count = h->monitor_count = 0;
}
