/* forward.c: what the gate tells services. Each client frame goes to the
 * service its command id is routed to (gate.commands), local or on
 * another node, as a request whose session stands for the command until
 * it is answered (flow.c), or, for a connection bound to a service
 * (bind.c), to that service; connects and disconnects go to gate.events,
 * and disconnects to bound services too. All as WISP_MSG_CLIENT messages
 * (proto/GATE.md), with the connection's session data. A frame nobody
 * takes fails its command at once; the client stays. Each frame starts a
 * trace (README, "Traces"), which its answer and all the work it causes
 * carry. */
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "gate.h"
#include "remote.h"
#include "service.h"

/* The send to service failed at once: why, as wisp_send_refusal says. */
static void refused(struct gate *g, struct gate_conn *c, uint32_t command,
	const char *service)
{
	const char *refusal = wisp_send_refusal();
	enum gate_failure kind = GATE_FAIL_UNROUTED;
	char why[160];
	if (strcmp(refusal, "overloaded") == 0) {
		kind = GATE_FAIL_OVERLOADED;
		snprintf(why, sizeof(why), "service '%s' is overloaded", service);
	} else if (strcmp(refusal, "node unreachable") == 0) {
		kind = GATE_FAIL_UNREACHABLE; /* the harbor's why: "node N is down" */
		snprintf(why, sizeof(why), "%s", wisp_remote_refusal());
	} else if (strcmp(refusal, "no such service") == 0)
		snprintf(why, sizeof(why), "no service named '%s'", service);
	else
		snprintf(why, sizeof(why), "%s '%s'", refusal, service);
	wisp_gate_failed(g, c, command, kind, why);
}

/* The event of kind about c, with c's session if it has one. */
static void *encode(const struct gate_conn *c, int kind, int bound,
	uint32_t command, const void *data, size_t size, size_t *sz)
{
	struct wisp_gate_event e = { .kind = (uint8_t)kind, .bound = (uint8_t)bound,
		.conn = (uint32_t)c->id, .command = command, .data = data,
		.size = size };
	e.has_session = (uint8_t)wisp_gate_session_of(c, &e.session);
	return wisp_gate_event_encode(&e, sz);
}

/* To the service c is bound to, or its route's (to, if resolved: routes.c),
 * or else to the one named. */
static void send_frame(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f, wisp_handle to, int bound,
	const char *name)
{
	size_t sz;
	void *msg = encode(c, WISP_GATE_FRAME, bound, f->command, f->body,
		f->size, &sz);
	int session = wisp_new_session(g->ctx);
	wisp_trace_begin(g->ctx);
	/* a refusal also comes back as an ERROR, for a session not in flight */
	int rc = to ? wisp_send(g->ctx, to, WISP_MSG_CLIENT, session, msg, sz)
		: wisp_send_name(g->ctx, name, WISP_MSG_CLIENT, session, msg, sz);
	if (rc < 0)
		refused(g, c, f->command, name);
	else
		wisp_gate_flow_sent(g, c, session, f->command);
}

/* A bound connection's frames go to its service by handle, with no
 * lookup by name; the others by gate.commands, whose targets are resolved
 * to handles once (routes.c). */
void wisp_gate_forward(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f)
{
	wisp_handle to = c->bind ? wisp_gate_bound(g, c, f->command) : 0;
	if (to) {
		char name[16];
		snprintf(name, sizeof(name), ":%08x", to);
		send_frame(g, c, f, to, 1, name);
		return;
	}
	const char *service;
	if (wisp_gate_route_of(g, f->command, &to, &service) < 0) {
		wisp_gate_failed(g, c, f->command, GATE_FAIL_UNROUTED,
			"no route in gate.commands");
		return;
	}
	send_frame(g, c, f, to, 0, service);
}

/* A CLOSE goes to the services c is bound to as well, and is the last
 * event about c: its bindings go with it. */
void wisp_gate_event(struct gate *g, struct gate_conn *c, int kind,
	const char *text)
{
	if (g->cfg->events) {
		size_t sz;
		void *msg = encode(c, kind, 0, 0, text, strlen(text), &sz);
		wisp_send_name(g->ctx, g->cfg->events, WISP_MSG_CLIENT, 0, msg, sz);
	}
	if (kind == WISP_GATE_CLOSE && c->bind)
		wisp_gate_unbind_closed(g, c, text);
}

void wisp_gate_tell(struct gate *g, struct gate_conn *c, wisp_handle to,
	int kind, const char *text)
{
	size_t sz;
	void *msg = encode(c, kind, 1, 0, text, text ? strlen(text) : 0, &sz);
	wisp_send(g->ctx, to, WISP_MSG_CLIENT, 0, msg, sz);
}
