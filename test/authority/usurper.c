/* usurper.c: the C service of the authority test (test_authority.c), a
 * module built for the test only, run on the node "peer": a node of the
 * cluster, holding its secret, but not a root. Lua cannot send directory
 * messages (WISP_MSG_CLUSTER); this service can, as any code running in a
 * node could. Told "go HANDLE" by the test's Lua service (HANDLE: the
 * service of game2 that holds the cluster-wide name "holder"), it says
 * what only a root may say: game1 hears that game2 is down, that "holder"
 * is free and then held by the usurper, and is welcomed by it as by a
 * root; the root hears that holder has exited, as only game2 may say.
 * Then it asks game1's harbor to claim a name for it, as if it were a
 * service of game1, and floods game1 with "down 3" for its log's flood
 * control. Once the claim is refused it answers the Lua service "sent". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wisp.h"

#define FLOOD 1000
#define GAME1 "wisp.harbor@game1"

struct usurper {
	struct wisp_context *ctx;
	wisp_handle asker;  /* the Lua service that said go */
	int claim_session;
};

void *usurper_create(void)
{
	struct usurper *u = wisp_malloc(sizeof(*u));
	memset(u, 0, sizeof(*u));
	return u;
}

static void say(struct usurper *u, const char *to, int session,
	const char *text)
{
	size_t n = strlen(text);
	wisp_send_name(u->ctx, to, WISP_MSG_CLUSTER, session,
		memcpy(wisp_malloc(n), text, n), n);
}

static void go(struct usurper *u, wisp_handle holder)
{
	char line[64];
	say(u, GAME1, 0, "down 3");
	say(u, GAME1, 0, "unname holder");
	snprintf(line, sizeof(line), "name holder %08x", wisp_self(u->ctx));
	say(u, GAME1, 0, line);
	say(u, GAME1, 0, "welcome");
	snprintf(line, sizeof(line), "gone %08x", holder);
	say(u, "wisp.harbor@root", 0, line);
	u->claim_session = wisp_new_session(u->ctx);
	say(u, GAME1, u->claim_session, "register stolen");
}

static void claim_answered(struct usurper *u, int type, const void *msg,
	size_t sz)
{
	wisp_log(u->ctx, WISP_LOG_INFO, "usurper: the claim got %s: %.*s",
		type == WISP_MSG_ERROR ? "an error" : "an answer", (int)sz,
		(const char *)msg);
	for (int i = 0; i < FLOOD; i++)
		say(u, GAME1, 0, "down 3");
	const char *text = type == WISP_MSG_ERROR ? "sent" : "claimed";
	wisp_send(u->ctx, u->asker, WISP_MSG_TEXT, 0, wisp_strdup(text),
		strlen(text));
}

static int usurper_cb(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	struct usurper *u = ud;
	if (type == WISP_MSG_TEXT && sz == 11 && memcmp(msg, "go ", 3) == 0) {
		char hex[9];
		memcpy(hex, (const char *)msg + 3, 8);
		hex[8] = '\0';
		u->asker = source;
		go(u, (wisp_handle)strtoul(hex, NULL, 16));
	} else if ((type == WISP_MSG_ERROR || type == WISP_MSG_RESPONSE)
		&& session == u->claim_session) {
		claim_answered(u, type, msg, sz);
	} else if (type == WISP_MSG_EXIT) {
		wisp_exit(ctx);
	}
	return 0;
}

int usurper_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct usurper *u = inst;
	(void)args;
	u->ctx = ctx;
	wisp_set_callback(ctx, u, usurper_cb);
	if (wisp_register(ctx, "usurper") < 0)
		return wisp_fail(ctx, "the name usurper is taken");
	return 0;
}

void usurper_release(void *inst)
{
	wisp_free(inst);
}
