/* service.c: the life of a service: start through its module, death by
 * exit or kill, and retirement, which runs release and answers whatever
 * mail is left so that no caller waits for a service that is gone. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "handle.h"
#include "names.h"
#include "remote.h"
#include "scheduler.h"
#include "service.h"
#include "socket.h"

static size_t lasting_alive;
static uint32_t default_mailbox_max = WISP_MAILBOX_MESSAGES;
static size_t default_mailbox_bytes = WISP_MAILBOX_BYTES;

void wisp_service_mailbox_defaults(uint32_t messages, size_t bytes)
{
	default_mailbox_max = messages;
	default_mailbox_bytes = bytes;
}

int wisp_mailbox_limit(struct wisp_context *ctx, uint32_t messages,
	size_t bytes)
{
	if (messages == 0 || bytes == 0)
		return -1;
	ctx->mailbox_max = messages;
	ctx->mailbox_bytes_max = bytes;
	return 0;
}

void wisp_service_set_lasting(struct wisp_context *ctx)
{
	if (!ctx->lasting)
		lasting_alive++;
	ctx->lasting = 1;
}

size_t wisp_service_workers(void)
{
	return wisp_handle_count() - lasting_alive;
}

void wisp_set_callback(struct wisp_context *ctx, void *ud, wisp_callback cb)
{
	ctx->cb = cb;
	ctx->ud = ud;
}

wisp_handle wisp_self(struct wisp_context *ctx)
{
	return ctx->handle;
}

const char *wisp_service_label(const struct wisp_context *ctx)
{
	return ctx->module ? ctx->module->name : "?";
}

int wisp_service_stats(wisp_handle h, struct wisp_service_stats *out)
{
	struct wisp_context *ctx = wisp_handle_grab(h);
	if (ctx == NULL)
		return -1;
	*out = (struct wisp_service_stats){ .module = wisp_service_label(ctx),
		.handled = ctx->handled, .mailbox = ctx->mailbox.count,
		.mailbox_peak = ctx->mailbox.peak,
		.refused = ctx->refused, .cpu_ns = wisp_ticks_ns(ctx->busy),
		.memory = ctx->memory };
	if (ctx->module && ctx->module->stats)
		ctx->module->stats(ctx->inst, out);
	return 0;
}

int wisp_fail(struct wisp_context *ctx, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wisp_free(ctx->fail_reason);
	ctx->fail_reason = wisp_strdup(buf);
	return -1;
}

static struct wisp_context *create(const struct wisp_module *m)
{
	struct wisp_context *ctx = wisp_malloc(sizeof(*ctx));
	memset(ctx, 0, sizeof(*ctx));
	ctx->module = m;
	ctx->mailbox_max = default_mailbox_max;
	ctx->mailbox_bytes_max = default_mailbox_bytes;
	ctx->inst = m->create ? m->create() : NULL;
	ctx->handle = wisp_handle_add(ctx);
	return ctx;
}

/* The scheduler retires the service on its next turn: only the ready
 * queue frees services, so none is freed while still queued. */
static void init_failed(struct wisp_context *ctx, char *err, size_t errsz)
{
	snprintf(err, errsz, "%s", ctx->fail_reason ? ctx->fail_reason
		: "its init failed");
	wisp_service_doom(ctx);
}

wisp_handle wisp_service_start(const char *module, const char *args,
	char *err, size_t errsz)
{
	const struct wisp_module *m = wisp_module_find(module, err, errsz);
	if (m == NULL)
		return 0;
	struct wisp_context *ctx = create(m);
	if (ctx->handle == 0) {
		snprintf(err, errsz, "no handle left for a new service");
		wisp_service_retire(ctx); /* never queued: nothing knows it */
		return 0;
	}
	/* the handle exists before init so that init can register names and
	 * send messages; mail that arrives meanwhile waits in the mailbox */
	if (m->init(ctx->inst, ctx, args ? args : "") != 0) {
		init_failed(ctx, err, errsz);
		return 0;
	}
	wisp_free(ctx->fail_reason);
	ctx->fail_reason = NULL;
	return ctx->handle;
}

wisp_handle wisp_launch(struct wisp_context *ctx, const char *module,
	const char *args)
{
	char err[512];
	wisp_handle h = wisp_service_start(module, args, err, sizeof(err));
	if (h == 0)
		wisp_log(ctx, WISP_LOG_ERROR, "cannot start service %s: %s",
			module, err);
	return h;
}

void wisp_service_doom(struct wisp_context *ctx)
{
	if (ctx->dead)
		return;
	ctx->dead = 1;
	if (ctx->lasting)
		lasting_alive--;
	wisp_handle_remove(ctx->handle);
	wisp_schedule(ctx);
}

void wisp_exit(struct wisp_context *ctx)
{
	wisp_service_doom(ctx);
}

int wisp_kill(struct wisp_context *ctx, wisp_handle target)
{
	(void)ctx;
	struct wisp_context *t = wisp_handle_grab(target);
	if (t == NULL)
		return -1;
	wisp_service_doom(t);
	return 0;
}

static void drop_names(struct wisp_context *ctx)
{
	for (unsigned i = 0; i < ctx->name_count; i++) {
		wisp_names_remove(ctx->names[i], ctx->handle);
		wisp_free(ctx->names[i]);
	}
	wisp_free(ctx->names);
	ctx->names = NULL;
	ctx->name_count = 0;
}

static void bounce_mail(struct wisp_context *ctx)
{
	struct wisp_message m;
	while (wisp_mailbox_pop(&ctx->mailbox, &m)) {
		wisp_free(m.data);
		if (wisp_is_request(m.type))
			wisp_bounce(ctx->handle, m.source, m.session,
				"service :%08x (%s) exited", ctx->handle,
				wisp_service_label(ctx));
	}
	wisp_mailbox_free(&ctx->mailbox);
}

void wisp_service_retire(struct wisp_context *ctx)
{
	wisp_handle_remove(ctx->handle);
	drop_names(ctx);
	wisp_remote_gone(ctx->handle);
	wisp_net_drop_owner(ctx->handle);
	if (ctx->module->release)
		ctx->module->release(ctx->inst);
	/* release may have sent itself mail; answer all of it */
	bounce_mail(ctx);
	wisp_free(ctx->fail_reason);
	wisp_free(ctx);
}

void wisp_services_signal(int sig)
{
	size_t n;
	wisp_handle *list = wisp_handle_list(&n);
	for (size_t i = 0; i < n; i++) {
		struct wisp_context *ctx = wisp_handle_grab(list[i]);
		if (ctx && ctx->module->signal)
			ctx->module->signal(ctx->inst, sig);
	}
	wisp_free(list);
}
