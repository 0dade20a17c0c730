/* probe.c: a C service module built the way an author outside the tree
 * builds one, against the installed headers found by pkg-config
 * (test_install.py): it answers a Lua call with how many values it got
 * and the first of them, as a table {count = N, first = V}. */
#include <string.h>
#include <wisp.h>

static int on_message(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)ud;
	if ((type == WISP_MSG_LUA || type == WISP_MSG_LUA_PACKED) && session > 0) {
		struct wisp_value_reader r;
		struct wisp_value first;
		int64_t count = wisp_value_read(&r, msg, sz);
		struct wisp_value_writer w;
		size_t size;
		wisp_value_begin(&w);
		wisp_value_table(&w, 0, 2);
		wisp_value_cstring(&w, "count");
		wisp_value_integer(&w, count);
		wisp_value_cstring(&w, "first");
		if (count > 0 && wisp_value_next(&r, &first) == 1
				&& first.type == WISP_VALUE_STRING)
			wisp_value_string(&w, first.as.string.data, first.as.string.size);
		else
			wisp_value_boolean(&w, 0);
		void *reply = wisp_value_end(&w, &size);
		wisp_send(ctx, source, WISP_MSG_RESPONSE, session, reply, size);
	} else if (type == WISP_MSG_EXIT) {
		wisp_exit(ctx);
	}
	return 0;
}

void *probe_create(void)
{
	return wisp_malloc(1);
}

int probe_init(void *inst, struct wisp_context *ctx, const char *args)
{
	(void)args;
	wisp_set_callback(ctx, inst, on_message);
	return wisp_register(ctx, "probe") < 0
		? wisp_fail(ctx, "the name probe is taken") : 0;
}

void probe_release(void *inst)
{
	wisp_free(inst);
}
