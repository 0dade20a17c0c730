/* service.h: what the runtime knows of one service, and the internal
 * calls that create, feed and retire services. */
#ifndef WISP_SERVICE_H
#define WISP_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include "mailbox.h"
#include "module.h"
#include "wisp.h"

struct wisp_context {
	wisp_handle handle;
	wisp_callback cb;
	void *ud;
	const struct wisp_module *module;
	void *inst;
	struct wisp_mailbox mailbox;
	struct wisp_context *next_ready;
	char **names;
	unsigned name_count;
	int session;
	uint8_t queued; /* on the ready queue */
	uint8_t dead;   /* exited or killed; retired on its next turn */
	uint8_t lasting; /* infrastructure: stopped after the others */
	uint8_t untraced; /* its calls start no trace (the console's) */
	char *fail_reason;
	uint64_t handled; /* messages handled */
	uint64_t busy;    /* time spent in its callback, in wisp_ticks() */
	size_t memory;    /* bytes, as its host reports them (Lua services) */
	size_t memory_limit; /* its host's limit, 0 for none: queued mail
	                      * counts against it */
	uint32_t mailbox_max;     /* requests queued at most */
	size_t mailbox_bytes_max; /* their payload bytes at most */
	uint64_t refused;         /* requests refused: mailbox full */
};

/* Queues a message from source (any handle, local or not) to a local
 * service. Takes data; a request with a session to a dead or unknown
 * service gets an error reply. 0 when queued, -1 otherwise. */
int wisp_deliver(wisp_handle source, wisp_handle dest, int type, int session,
	void *data, size_t sz);
/* Sends an ERROR with the reason to `to`, as coming from `from`. */
void wisp_bounce(wisp_handle from, wisp_handle to, int session,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Whether a message of this type asks for an answer when it has a session.
 * Only requests count against a mailbox's limits: answers, timers, socket
 * events and EXIT always get through. */
int wisp_is_request(int type);
/* The mailbox limits a new service starts with (the config's). */
void wisp_service_mailbox_defaults(uint32_t messages, size_t bytes);

/* Starts a service; 0 with the reason in err when it could not. */
wisp_handle wisp_service_start(const char *module, const char *args,
	char *err, size_t errsz);
/* Runs the service's release and frees it; its mail is bounced. */
void wisp_service_retire(struct wisp_context *ctx);
/* Marks a service dead so the scheduler retires it on its next turn. */
void wisp_service_doom(struct wisp_context *ctx);
/* Calls the module's signal hook of every service that has one. */
void wisp_services_signal(int sig);
/* Marks a service (logger, harbor) to outlive the others at a stop: the
 * node stops once only lasting services are left. */
void wisp_service_set_lasting(struct wisp_context *ctx);
/* Live services that are not lasting. */
size_t wisp_service_workers(void);
/* The name a log line shows for the service: its module's. */
const char *wisp_service_label(const struct wisp_context *ctx);

/* What a service has done and holds, as the console and wisp.stats show
 * it: the runtime's counters, and what its module adds (module.h). */
struct wisp_service_stats {
	const char *module;  /* its module's name */
	const char *what;    /* what it runs (a Lua service: its script), or
	                      * NULL; both live as long as the service */
	uint64_t handled;    /* messages handled */
	uint32_t mailbox;    /* messages queued */
	uint32_t mailbox_peak; /* the most queued at once, since its start */
	uint64_t errors;     /* messages its handler failed (a Lua error) */
	uint64_t refused;    /* requests refused: mailbox full */
	uint64_t cpu_ns;     /* time spent in its callback */
	size_t memory;       /* bytes, as its module reports them */
};
/* The stats of the service h names (0), or -1 when it names none. */
int wisp_service_stats(wisp_handle h, struct wisp_service_stats *out);

#endif
