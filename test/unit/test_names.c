/* test_names.c: local names: rules, lookup, ownership, and that a
 * service's names go away with it. */
#include <stdio.h>
#include "fixture.h"
#include "testlib.h"

static void validity(void)
{
	CHECK(wisp_name_valid("chat"));
	CHECK(wisp_name_valid("a.b-c_9"));
	CHECK(!wisp_name_valid(""));
	CHECK(!wisp_name_valid("chat@game1")); /* @ is for node addresses */
	CHECK(!wisp_name_valid("has space"));
	char longest[WISP_NAME_MAX + 2];
	memset(longest, 'x', sizeof(longest));
	longest[WISP_NAME_MAX] = '\0';
	CHECK(wisp_name_valid(longest));
	longest[WISP_NAME_MAX] = 'x';
	longest[WISP_NAME_MAX + 1] = '\0';
	CHECK(!wisp_name_valid(longest));
}

static void add_find_remove(void)
{
	CHECK_INT(wisp_names_add("chat", 5), 0);
	CHECK_INT(wisp_names_find("chat"), 5);
	CHECK_INT(wisp_names_add("chat", 6), -1); /* taken */
	CHECK_INT(wisp_names_remove("chat", 6), -1); /* not the holder */
	CHECK_INT(wisp_names_find("chat"), 5);
	CHECK_INT(wisp_names_remove("chat", 5), 0);
	CHECK_INT(wisp_names_find("chat"), 0);
	CHECK_INT(wisp_names_add("bad name", 5), -1);
	wisp_names_exit();
}

static void many_names(void)
{
	char name[32];
	for (int i = 1; i <= 20000; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		CHECK_INT(wisp_names_add(name, (wisp_handle)i), 0);
	}
	int wrong = 0;
	for (int i = 1; i <= 20000; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		wrong += wisp_names_find(name) != (wisp_handle)i;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(wisp_names_find("svc0"), 0);
	wisp_names_exit();
}

static int named_init(void *inst, struct wisp_context *ctx, const char *args)
{
	(void)inst;
	if (wisp_register(ctx, args) < 0 || wisp_register(ctx, "second") < 0)
		return wisp_fail(ctx, "cannot register %s", args);
	return 0;
}

static const struct wisp_module named = { .name = "named", .init = named_init };

static void names_go_with_their_service(void)
{
	fixture_up(100);
	wisp_module_builtin(&named);
	char err[256];
	wisp_handle h = wisp_service_start("named", "lobby", err, sizeof(err));
	CHECK(h != 0);
	CHECK_INT(wisp_query("lobby"), h);
	CHECK_INT(wisp_query("second"), h);
	struct wisp_context *ctx = wisp_handle_grab(h);
	CHECK_INT(wisp_unregister(ctx, "second"), 0);
	CHECK_INT(wisp_query("second"), 0);
	CHECK_INT(wisp_unregister(ctx, "second"), -1);
	/* a second instance cannot take the name, and says why */
	CHECK_INT(wisp_service_start("named", "lobby", err, sizeof(err)), 0);
	CHECK_STR(err, "cannot register lobby");
	wisp_kill(NULL, h);
	wisp_scheduler_drain();
	CHECK_INT(wisp_query("lobby"), 0);
	h = wisp_service_start("named", "lobby", err, sizeof(err));
	CHECK(h != 0 && wisp_query("lobby") == h);
	fixture_down();
}

int main(void)
{
	RUN(validity);
	RUN(add_find_remove);
	RUN(many_names);
	RUN(names_go_with_their_service);
	return TEST_END();
}
