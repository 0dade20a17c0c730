/* forger.c: the C service of the packed test (test_packed.c), a module
 * built for the test only. Told "go" by the Lua service target, it sends
 * target WISP_MSG_LUA_PACKED messages no Lua service would: one as
 * itself, one as if from another node, a good one as if from target
 * itself, a malformed one as if from a service gone, then a text "ping".
 * When target answers "alive", it stops the node: exit code 0 if its own
 * message came back as an error saying why, else 1. A malformed message
 * made up as if from a live Lua service of the node is not sent: a C
 * module is trusted code of the process, which could as well overwrite
 * memory, and the fast path does not pay to check what Lua services
 * pack. */
#include <string.h>
#include "service.h" /* wisp_deliver, to make up a sender */
#include "wisp.h"

#define OWN_SESSION 7

struct forger {
	struct wisp_context *ctx;
	int refused; /* its own message was answered with the reason */
};

/* Two values, the second a reserved tag; and two values, 1 and "ping". */
static const char malformed[] = { 2, 1, (char)0xa0 };
static const char good[] = { 2, 1, (char)0x84, 'p', 'i', 'n', 'g' };

void *forger_create(void)
{
	struct forger *f = wisp_malloc(sizeof(*f));
	memset(f, 0, sizeof(*f));
	return f;
}

static void *copy(const void *data, size_t sz)
{
	return memcpy(wisp_malloc(sz), data, sz);
}

static void forge(wisp_handle from, wisp_handle to, const char *data,
	size_t sz)
{
	wisp_deliver(from, to, WISP_MSG_LUA_PACKED, 0, copy(data, sz), sz);
}

static void go(struct forger *f, wisp_handle target)
{
	wisp_handle node = target & ~WISP_LOCAL_MASK;
	wisp_handle other_node = node + (1u << WISP_LOCAL_BITS);
	wisp_send(f->ctx, target, WISP_MSG_LUA_PACKED, OWN_SESSION,
		copy(malformed, sizeof(malformed)), sizeof(malformed));
	forge(other_node | 5, target, malformed, sizeof(malformed));
	forge(target, target, good, sizeof(good));
	forge(node | WISP_LOCAL_MASK, target, malformed, sizeof(malformed));
	wisp_send(f->ctx, target, WISP_MSG_TEXT, 0, copy("ping", 4), 4);
}

static int is(const void *msg, size_t sz, const char *text)
{
	return sz == strlen(text) && memcmp(msg, text, sz) == 0;
}

static int forger_cb(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	struct forger *f = ud;
	if (type == WISP_MSG_TEXT && is(msg, sz, "go")) {
		go(f, source);
	} else if (type == WISP_MSG_ERROR && session == OWN_SESSION) {
		f->refused = memmem(msg, sz, "only from Lua services", 22) != NULL;
		wisp_log(ctx, WISP_LOG_INFO, "forger: answered: %.*s", (int)sz,
			(const char *)msg);
	} else if (type == WISP_MSG_TEXT && is(msg, sz, "alive")) {
		wisp_log(ctx, WISP_LOG_INFO, "forger: target is alive; its own "
			"message was %s", f->refused ? "refused" : "not refused");
		wisp_shutdown(f->refused ? 0 : 1);
	} else if (type == WISP_MSG_EXIT) {
		wisp_exit(ctx);
	}
	return 0;
}

int forger_init(void *inst, struct wisp_context *ctx, const char *args)
{
	struct forger *f = inst;
	(void)args;
	f->ctx = ctx;
	wisp_set_callback(ctx, f, forger_cb);
	if (wisp_register(ctx, "forger") < 0)
		return wisp_fail(ctx, "the name forger is taken");
	return 0;
}

void forger_release(void *inst)
{
	wisp_free(inst);
}
