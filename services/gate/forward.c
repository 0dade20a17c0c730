/* forward.c: what the gate tells services. Each client frame goes to the
 * service its command id is routed to (gate.commands), local or on
 * another node, as a request whose session stands for the command until
 * it is answered (flow.c); connects and disconnects go to gate.events.
 * All as WISP_MSG_CLIENT messages (proto/GATE.md). A frame nobody takes
 * fails its command at once; the client stays. */
#include <stdio.h>
#include <string.h>
#include "gate_service.h"
#include "gate.h"
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
		kind = GATE_FAIL_UNREACHABLE;
		snprintf(why, sizeof(why), "the node of '%s' is unreachable",
			service);
	} else if (strcmp(refusal, "no such service") == 0)
		snprintf(why, sizeof(why), "no service named '%s'", service);
	else
		snprintf(why, sizeof(why), "%s '%s'", refusal, service);
	wisp_gate_failed(g, c, command, kind, why);
}

void wisp_gate_forward(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f)
{
	const struct wisp_command_route *r = wisp_config_route(g->cfg, f->command);
	if (r == NULL) {
		wisp_gate_failed(g, c, f->command, GATE_FAIL_UNROUTED,
			"no route in gate.commands");
		return;
	}
	size_t sz;
	void *msg = wisp_gate_event_encode(WISP_GATE_FRAME, (uint32_t)c->id,
		f->command, f->body, f->size, &sz);
	int session = wisp_new_session(g->ctx);
	/* a refusal also comes back as an ERROR, for a session not in flight */
	if (wisp_send_name(g->ctx, r->service, WISP_MSG_CLIENT, session, msg,
		sz) < 0)
		refused(g, c, f->command, r->service);
	else
		wisp_gate_flow_sent(g, c, session, f->command);
}

void wisp_gate_event(struct gate *g, struct gate_conn *c, int kind,
	const char *text)
{
	if (g->cfg->events == NULL)
		return;
	size_t sz;
	void *msg = wisp_gate_event_encode(kind, (uint32_t)c->id, 0, text,
		strlen(text), &sz);
	wisp_send_name(g->ctx, g->cfg->events, WISP_MSG_CLIENT, 0, msg, sz);
}
