/* forward.c: what the gate tells services. Each client frame goes to the
 * service its command id is routed to (gate.commands), local or on
 * another node; connects and disconnects go to gate.events. Both as
 * WISP_MSG_CLIENT messages (proto/GATE.md). A frame nobody takes is
 * dropped with a warning; the client stays. */
#include <string.h>
#include "gate_service.h"
#include "gate.h"

static void unrouted(struct gate *g, struct gate_conn *c, uint32_t command,
	const char *service)
{
	g->stats.unrouted++;
	if (!wisp_gate_may_warn(g, GATE_WARN_UNROUTED))
		return;
	if (service)
		wisp_log(g->ctx, WISP_LOG_WARN, "command %u from client %s dropped: "
			"no service named '%s'", command, c->addr, service);
	else
		wisp_log(g->ctx, WISP_LOG_WARN, "command %u from client %s dropped: "
			"no route in gate.commands", command, c->addr);
}

void wisp_gate_forward(struct gate *g, struct gate_conn *c,
	const struct wisp_client_frame *f)
{
	const struct wisp_command_route *r = wisp_config_route(g->cfg, f->command);
	if (r == NULL) {
		unrouted(g, c, f->command, NULL);
		return;
	}
	size_t sz;
	void *msg = wisp_gate_event_encode(WISP_GATE_FRAME, (uint32_t)c->id,
		f->command, f->body, f->size, &sz);
	if (wisp_send_name(g->ctx, r->service, WISP_MSG_CLIENT, 0, msg, sz) < 0)
		unrouted(g, c, f->command, r->service);
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
