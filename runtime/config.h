/* config.h: the node's configuration, read from a Lua file that returns
 * the cluster's table; only the part for one node is kept. */
#ifndef WISP_CONFIG_H
#define WISP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* The roles' names by bit (WISP_ROLE_ROOT is bit 0), NULL-terminated. */
extern const char *const wisp_role_names[];

enum {
	WISP_ROLE_ROOT = 1,
	WISP_ROLE_NODE = 2,
	WISP_ROLE_NET = 4,
	WISP_ROLE_DB = 8,
};

struct wisp_service_spec {
	char *module;
	char *args;
	uint32_t mailbox_limit; /* 0: the node's */
	size_t mailbox_bytes;   /* 0: the node's */
};

struct wisp_env_entry {
	char *key;
	char *value;
};

/* A node of the cluster as every node knows it. */
struct wisp_peer {
	char *name;
	uint32_t id;
	unsigned roles;
	char *host; /* harbor address; NULL when the node has none */
	int port;
};

struct wisp_harbor_settings {
	uint32_t heartbeat_ms;     /* a ping on a quiet link this often */
	uint32_t timeout_ms;       /* a peer silent this long is down */
	size_t max_frame;          /* larger frames close the link */
	size_t compress_threshold; /* payloads this big are compressed */
	size_t buffer_limit;       /* output a link may hold */
};

/* Client frames with a command id in [first, last] go to service, a name
 * or "name@node"; an ordered one only when the client has no command in
 * flight (and none of its later frames go on before it ends). */
struct wisp_command_route {
	uint32_t first, last;
	char *service;
	int ordered;
};

/* The gate of a net node: the client protocol (which clients must match),
 * where it listens, its limits and where frames go. Set by a top-level
 * `gate` table and, key by key over it, the node's own. */
struct wisp_gate_settings {
	char *host;                /* NULL: no listen address given */
	int port;
	uint8_t magic[4];
	uint8_t proto_version;
	uint32_t server_version;
	uint32_t max_body;         /* largest frame body, both directions */
	uint32_t max_connections;
	size_t output_limit;       /* bytes queued for one client at most */
	uint32_t idle_timeout_ms;  /* a client silent this long is closed; 0 */
	uint32_t rate_limit;       /* frames/s per client, 0 for none */
	uint32_t rate_burst;       /* frames a client may send at once */
	uint32_t frame_timeout_ms; /* a frame begun must be whole by then; 0 */
	uint32_t first_frame_timeout_ms; /* from connect to a whole frame; 0 */
	uint32_t max_per_address;  /* clients from one address; 0 for any */
	size_t partial_budget;     /* bytes of unfinished frames, node-wide; 0 */
	uint32_t max_inflight;     /* a client's commands not yet answered */
	uint32_t reply_timeout_ms; /* a command not answered by then is over */
	int error_frames;          /* a failed command is told to its client */
	uint32_t error_command;    /* the command id of those error frames */
	int request_ids;           /* each body starts with a request id */
	char *events;              /* told of connects and disconnects, or NULL */
	struct wisp_command_route *routes; /* sorted, not overlapping */
	size_t route_count;
};

/* The db service of a db node: its sqlite3 database and the cache of its
 * rows, in memcached when servers are listed, in process otherwise. Set by
 * the top-level `db` table. */
struct wisp_db_settings {
	char *file;             /* the database; relative to the working dir */
	char *migrations;       /* a directory of *.sql files, or NULL */
	int synchronous;        /* sqlite3's: 0 off, 1 normal, 2 full */
	size_t cache_size;      /* bytes of rows cached in process */
	uint32_t batch_max;     /* writes committed in one transaction */
	char **memcached;       /* "host:port" of each server */
	size_t memcached_count; /* 0: the in-process cache */
	char *prefix;           /* of every memcached key */
	uint32_t ttl_s;         /* of a row in memcached */
	size_t compress;        /* values this big are compressed; 0 never */
	uint32_t timeout_ms;    /* of a memcached call */
	char **static_tables;   /* read-only tables, loaded at start */
	size_t static_count;
};

/* The console of a node: where operators connect (a line protocol) and
 * where Prometheus scrapes, each NULL when not given, and the token both
 * ask for (NULL: none; required when either is not on loopback). */
struct wisp_console_settings {
	char *host;          /* the console's listen address */
	int port;
	char *metrics_host;  /* the HTTP metrics endpoint's */
	int metrics_port;
	char *token;
};

struct wisp_config {
	char *node;
	uint32_t node_id;
	unsigned roles;
	char *module_path; /* NULL: the default path */
	char *log_file;    /* NULL: stdout */
	int log_level;
	uint32_t log_rate;        /* lines/s the node may log, 0: no flood control */
	size_t socket_write_limit;
	uint32_t stop_timeout_ms;
	char *lua_path;           /* searched before the built-in path */
	uint32_t call_timeout_ms; /* a Lua call's timeout unless it names one */
	size_t lua_memory_limit;  /* bytes per Lua service, 0 for none */
	uint32_t lua_budget_ms;   /* how long one Lua handler may run */
	uint32_t handler_warn_ms; /* a longer turn is logged; 0: never */
	uint32_t watchdog_ms;     /* the master kills a node stuck this long */
	uint32_t mailbox_limit;   /* requests a service may have queued */
	size_t mailbox_bytes;     /* and their payload bytes */
	struct wisp_service_spec *services;
	size_t service_count;
	struct wisp_env_entry *env;
	size_t env_count;
	struct wisp_peer *peers; /* every node, this one too */
	size_t peer_count;
	char *secret;
	uint32_t *roots;         /* ids of the root nodes, first choice first */
	size_t root_count;
	struct wisp_harbor_settings harbor;
	struct wisp_gate_settings gate;
	struct wisp_db_settings db;
	struct wisp_console_settings console;
};

/* The settings of a config that names nothing: every default. */
void wisp_config_defaults(struct wisp_config *cfg, const char *node);
/* 0, or -1 with one line in err naming the file and what is wrong. */
int wisp_config_load(const char *path, const char *node,
	struct wisp_config *cfg, char *err, size_t errsz);
void wisp_config_free(struct wisp_config *cfg);
const char *wisp_config_env(const struct wisp_config *cfg, const char *key);
const struct wisp_peer *wisp_config_peer(const struct wisp_config *cfg,
	const char *name);
/* The route of a command id, or NULL when none covers it. */
const struct wisp_command_route *wisp_config_route(
	const struct wisp_gate_settings *g, uint32_t command);
const struct wisp_peer *wisp_config_peer_id(const struct wisp_config *cfg,
	uint32_t id);

#endif
