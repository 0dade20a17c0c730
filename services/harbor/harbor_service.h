/* harbor_service.h: the harbor service, which makes services on other nodes look
 * local. Each node dials every peer it sends to; frames to a peer go on
 * the link this node dialed, so order holds per sender and receiver, and
 * answers come back on the link the peer dialed. A handshake proves both
 * sides know the cluster secret. The root's directory (directory.c) says
 * which nodes are up and holds the cluster-wide names. */
#ifndef WISP_HARBOR_SERVICE_H
#define WISP_HARBOR_SERVICE_H

#include <stdint.h>
#include "cluster.h"
#include "config.h"
#include "harbor.h"
#include "harbor_config.h"
#include "harbor_pake.h"
#include "keymap.h"
#include "wisp.h"

struct wisp_tls_session;    /* tls/session.c: a link's TLS */
struct wisp_harbor_tls_ctx;

enum harbor_conn_state {
	CONN_CONNECTING, /* ours, dialing */
	CONN_HELLO,      /* waiting for the peer's HELLO */
	CONN_PROOF,      /* waiting for the peer's PROOF */
	CONN_TLS,        /* both proved the secret; TLS's handshake runs */
	CONN_UP,
};

/* One connection to a peer: dialed by us (out) or by it (in). */
struct harbor_conn {
	struct harbor *h;
	int id;                /* socket */
	int out;               /* we dialed it */
	int local;             /* over the same-host Unix socket */
	int state;             /* enum harbor_conn_state */
	uint32_t peer;         /* node id; 0 until an accepted one says */
	uint64_t born_ms;      /* dialed or accepted: the handshake's deadline
	                        * runs from here, whatever bytes come */
	uint64_t born_ns;      /* the same, finer: the log says how long */
	const char *failed;    /* why to close it, found where it could not
	                        * be closed at once (inside TLS's callbacks) */
	struct wisp_harbor_pake *pake;  /* the key exchange, until PROOF */
	struct wisp_harbor_keys keys;   /* what it gave, until TLS starts */
	struct wisp_tls_session *tls;   /* NULL on a plaintext link */
	uint64_t heard_ms;     /* last sign of life: bytes received, or the
	                        * peer taking some of ours (a large frame
	                        * keeps its answers, even pongs, behind it) */
	int64_t taken;         /* the most of ours the peer had taken */
	uint64_t sent_ms;      /* last frame sent */
	struct wisp_harbor_decoder dec; /* handshake-sized until PROOF */
	struct wisp_harbor_hello mine, theirs;
};

/* How busy a node is, as its last report said (load.c). */
struct node_load {
	uint32_t services; /* live services */
	uint32_t cpu;      /* thousandths of a core over the last second */
	int known;         /* a report came since it was last up */
};

/* A name of a peer's that this node asked it to resolve (resolve.c). */
struct resolved {
	char name[WISP_NAME_MAX + 1];
	wisp_handle handle;  /* 0 until the peer says, or if nobody holds it */
	uint64_t asked_ms;   /* when the question last went */
};

/* What this node knows of one peer. */
struct harbor_link {
	const struct wisp_peer *peer;
	struct harbor_conn *out, *in;
	struct wisp_harbor_encoder enc; /* frames waiting for the out conn */
	struct wisp_keymap pending;      /* calls sent: source << 32 | session */
	int up;                         /* the directory says it is up */
	int same_host;                  /* dial its Unix socket first */
	int was_up;                     /* the out conn got up since the last loss */
	uint64_t retry_ms;              /* no dial before this */
	uint32_t backoff_ms;
	uint64_t bytes_out, bytes_in, frames_out, frames_in;
	int dirty;                      /* on the harbor's dirty list */
	struct harbor_link *next_dirty;
	uint64_t named_out;             /* MSG frames to it by name */
	struct node_load load;          /* as the root last said */
	int watches;                    /* root: it asked for every load */
	int joined_on;                  /* root: the socket its JOIN came on */
	uint32_t epoch;                 /* changes when its names may be stale */
	struct resolved *resolved;      /* names asked of it, and its answers */
	uint32_t resolved_count;
	wisp_handle stale_sent;         /* the last stale notice sent to it */
};

/* A cluster-wide name as the directory holds it. */
struct global_name {
	char name[WISP_NAME_MAX + 1];
	wisp_handle handle;
};

/* A claim of a cluster-wide name made before this node joined a root. */
struct held_claim {
	wisp_handle source;
	int session;
	char name[WISP_NAME_MAX + 1];
};

struct harbor {
	struct wisp_context *ctx;
	const struct wisp_config *cfg;
	const struct wisp_harbor_settings *settings; /* cfg's harbor table */
	const struct wisp_peer *self;
	int listener;
	int local_listener;        /* the same-host Unix socket, or -1 */
	struct wisp_harbor_tls_ctx *tls; /* TCP links run TLS; NULL: plaintext */
	size_t handshaking;        /* accepted conns not yet up */
	struct harbor_link *links;        /* by node id, WISP_MAX_NODE + 1 of them */
	struct harbor_conn **conns;       /* every open conn, for the heartbeat tick */
	size_t conn_count;
	struct wisp_keymap conn_by_socket; /* socket id -> conn, for events */
	int tick_session;
	uint64_t last_tick_ms;     /* when the heartbeat tick last ran */
	struct harbor_link *dirty;        /* links with frames to write */
	/* directory */
	int is_root;
	uint32_t root;             /* the root this node joined, 0 if none */
	int joined;                /* a root welcomed this node */
	size_t root_index;         /* which of cfg->roots it is trying */
	uint64_t join_retry_ms;    /* when to ask a root again */
	uint32_t join_wait_ms;     /* until then: doubles while unanswered */
	struct global_name *names; /* the replica (the table, on a root) */
	size_t name_count;
	wisp_handle *monitors;     /* services told of nodes going up/down */
	size_t monitor_count;
	struct held_claim *held;
	size_t held_count;
	/* load.c */
	struct node_load self_load; /* this node's, at its last report */
	int watching;              /* asked the root for every node's load */
	uint32_t *watchers;        /* root: the nodes that asked, by id */
	size_t watcher_count;
	uint64_t load_due_ms;      /* the next report */
	uint64_t cpu_ns, wall_ns;  /* the process's CPU and the clock then */
};

/* service.c */
extern struct harbor *wisp_harbor_active;
uint64_t wisp_harbor_now(void);
/* service will be told (WISP_MSG_NODE) when a node goes up or down, once
 * however often it asks; until unwatch, or until a message to it fails. */
void wisp_harbor_watch(struct harbor *h, wisp_handle service);
void wisp_harbor_unwatch(struct harbor *h, wisp_handle service);

/* conn.c */
struct harbor_conn *wisp_harbor_conn_dial(struct harbor *h,
	struct harbor_link *l);
/* The open files the harbor may need at once: a link in and out with
 * every peer, the handshakes that may wait, and a few to spare. */
size_t wisp_harbor_fds_needed(const struct harbor *h);
/* local: it came in on the same-host Unix socket. */
struct harbor_conn *wisp_harbor_conn_accepted(struct harbor *h, int id,
	int local);
struct harbor_conn *wisp_harbor_conn_find(struct harbor *h, int id);
void wisp_harbor_conn_data(struct harbor *h, struct harbor_conn *c,
	const void *data, size_t sz);
void wisp_harbor_conn_connected(struct harbor *h, struct harbor_conn *c);
/* Closes c (socket too, unless the socket layer closed it already). */
void wisp_harbor_conn_close(struct harbor *h, struct harbor_conn *c,
	int socket_open, const char *why);
void wisp_harbor_conn_send(struct harbor *h, struct harbor_conn *c,
	const struct wisp_harbor_frame *f);
/* Bytes of frames to the peer: through TLS on a TLS link. */
void wisp_harbor_conn_write(struct harbor_conn *c, const void *data,
	size_t size);
/* Closes c if it failed where it could not be closed, or is past the
 * handshake's deadline: 1 if it did (c is gone), else 0. */
int wisp_harbor_conn_expired(struct harbor *h, struct harbor_conn *c,
	uint64_t now);

/* local.c: the same-host transport */
#define WISP_LOCAL_NAME_MAX 100 /* within a Unix socket's sun_path */
/* Marks the links of peers whose address is on this host. */
void wisp_local_find_peers(struct harbor *h);
/* The Unix socket name of p's harbor. */
void wisp_local_name(const struct wisp_peer *p, char *out, size_t size);
/* Listens on this node's Unix socket; its id, or -1. */
int wisp_local_listen(struct harbor *h);
/* Dials l's peer over its Unix socket: the socket id, or -1 at once when
 * nobody listens there. */
int wisp_local_dial(struct harbor *h, const struct harbor_link *l);

/* link.c */
struct harbor_link *wisp_harbor_link(struct harbor *h, uint32_t node);
void wisp_harbor_link_peer_alive(struct harbor_link *l);
void wisp_harbor_link_up(struct harbor *h, struct harbor_link *l);
/* The out conn is gone: fail what waits on it, and back off. */
void wisp_harbor_link_lost(struct harbor *h, struct harbor_link *l,
	const char *why);
/* The peer's conn to us (c) is closing: on the root, the peer is gone
 * if the root's conn to it is gone too. */
void wisp_harbor_link_in_lost(struct harbor *h, struct harbor_link *l,
	const struct harbor_conn *c);
void wisp_harbor_link_received(struct harbor *h, struct harbor_link *l,
	struct wisp_harbor_msg *m);
void wisp_harbor_link_flush(struct harbor *h, struct harbor_link *l);
void wisp_harbor_links_tick(struct harbor *h);
int wisp_harbor_link_send(struct harbor *h, struct harbor_link *l,
	const struct wisp_harbor_msg *m);

/* route.c: h is the node's way out (wisp_harbor_active, and the
 * runtime's remote hooks) from start until stop. */
void wisp_harbor_route_start(struct harbor *h);
void wisp_harbor_route_stop(struct harbor *h);

/* directory.c */
void wisp_directory_start(struct harbor *h);
void wisp_directory_request(struct harbor *h, wisp_handle source,
	int session, const char *text, size_t sz);
void wisp_directory_node_down(struct harbor *h, uint32_t node);
void wisp_directory_gone(struct harbor *h, wisp_handle service);
void wisp_directory_tick(struct harbor *h);
void wisp_directory_free(struct harbor *h);
/* Sends cmd to the harbor of node (this one's too), as source. */
void wisp_directory_send(struct harbor *h, uint32_t node, wisp_handle source,
	int session, const struct wisp_cluster_cmd *cmd);

/* load.c */
/* Every LOAD_EVERY_MS: a node reports its load to its root; a root keeps
 * its own and passes it on to the watchers. */
void wisp_load_tick(struct harbor *h);
/* Root: node reported its load (a report, or its own). */
void wisp_load_report(struct harbor *h, uint32_t node,
	const uint32_t numbers[WISP_LOAD_NUMBERS]);
/* Root: node wants every load: the table now, each report from now on. */
void wisp_load_add_watcher(struct harbor *h, uint32_t node);
/* l's node went down: its load is unknown, and it watches no more. */
void wisp_load_forget(struct harbor *h, struct harbor_link *l);
void wisp_load_free(struct harbor *h);
/* Node: the root said what node's load is. */
void wisp_load_set(struct harbor *h, uint32_t node,
	const uint32_t numbers[WISP_LOAD_NUMBERS]);
/* Node: asks its root for every load, now and at each new root. */
void wisp_load_watch(struct harbor *h);
/* Node: a root welcomed it: the watch, if any, is asked again there. */
void wisp_load_joined(struct harbor *h);
/* What this node knows of node's load (its own too); NULL if nothing. */
struct node_load *wisp_load_of(struct harbor *h, uint32_t node);

/* resolve.c */
/* route.c's hooks for wisp_remote_resolve and wisp_remote_epoch. */
wisp_handle wisp_harbor_resolve(uint32_t node, const char *name);
uint32_t wisp_harbor_epoch(uint32_t node);
/* A peer asked which service holds one of this node's names. */
void wisp_resolve_asked(struct harbor *h, wisp_handle source,
	const char *name);
/* A peer answered: name is handle (0: nobody's). */
void wisp_resolve_answered(struct harbor *h, wisp_handle source,
	const char *name, wisp_handle handle);
/* A peer said that one of its handles is gone: its answers are stale. */
void wisp_resolve_stale(struct harbor *h, wisp_handle source,
	wisp_handle gone);
/* A request from l's node came by handle to a service that is gone: tells
 * it, so that whatever it resolved is asked again. */
void wisp_resolve_missed(struct harbor *h, struct harbor_link *l,
	wisp_handle gone);
/* What l's node said may be stale: it went down, came back or was lost. */
void wisp_resolve_forget(struct harbor_link *l);

#endif
