/* bench_c_send.c: one C service sends 10,000,000 small messages to
 * another in the same process, dispatch included; the receiver counts
 * them and the figure is messages per second from first send to last
 * receipt. The sender works in batches, yielding to the scheduler
 * between them, as a real service would. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "../fixture.h"

#define TOTAL 10000000
#define BATCH WISP_QUOTA

static wisp_handle receiver;
static uint64_t start_ns, received;

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int count(struct wisp_context *ctx, void *ud, int type, int session,
	wisp_handle source, void *msg, size_t sz)
{
	(void)ud; (void)type; (void)session; (void)source; (void)msg; (void)sz;
	if (++received == TOTAL) {
		double secs = (double)(clock_ns() - start_ns) / 1e9;
		printf("BENCH c_send %.0f msg/s\n", TOTAL / secs);
		wisp_exit(ctx);
	}
	return 0;
}

static int receiver_init(void *inst, struct wisp_context *ctx, const char *a)
{
	(void)inst; (void)a;
	wisp_set_callback(ctx, NULL, count);
	return 0;
}

/* Each message to itself is a cue to send the next batch. */
static int send_batch(struct wisp_context *ctx, void *ud, int type,
	int session, wisp_handle source, void *msg, size_t sz)
{
	(void)type; (void)session; (void)source; (void)msg; (void)sz;
	uint64_t *sent = ud;
	for (int i = 0; i < BATCH && *sent < TOTAL; i++, (*sent)++) {
		uint64_t *payload = wisp_malloc(sizeof(*payload));
		*payload = *sent;
		wisp_send(ctx, receiver, WISP_MSG_TEXT, 0, payload, sizeof(*payload));
	}
	if (*sent < TOTAL)
		wisp_send(ctx, wisp_self(ctx), WISP_MSG_TEXT, 0, NULL, 0);
	else
		wisp_exit(ctx);
	return 0;
}

static uint64_t sent;

static int sender_init(void *inst, struct wisp_context *ctx, const char *a)
{
	(void)inst; (void)a;
	wisp_set_callback(ctx, &sent, send_batch);
	start_ns = clock_ns();
	wisp_send(ctx, wisp_self(ctx), WISP_MSG_TEXT, 0, NULL, 0);
	return 0;
}

static const struct wisp_module receiver_module = {
	.name = "receiver", .init = receiver_init,
};
static const struct wisp_module sender_module = {
	.name = "sender", .init = sender_init,
};

int main(void)
{
	char err[256];
	fixture_up(1000);
	wisp_module_builtin(&receiver_module);
	wisp_module_builtin(&sender_module);
	receiver = wisp_service_start("receiver", "", err, sizeof(err));
	wisp_service_start("sender", "", err, sizeof(err));
	wisp_scheduler_run();
	fixture_down();
	return received == TOTAL ? 0 : 1;
}
