/* config.h: the node's configuration, read from a Lua file that returns
 * the cluster's table; only the part for one node is kept. These are the
 * runtime's settings; services add theirs as sections (config_reader.h). */
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
	/* harbor_listen: where the node listens when that is not where its
	 * peers dial it (behind a proxy, NAT or a container's port map);
	 * NULL: host and port */
	char *listen_host;
	int listen_port;
};

/* Sections that services may register (config_reader.h). */
#define WISP_CONFIG_SECTIONS 16

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
	uint32_t slow_call_ms;    /* a longer Lua call is logged with its
	                           * trace's path; 0: never */
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
	/* the registered sections' settings, in the order of registering:
	 * wisp_config_section finds them */
	void *sections[WISP_CONFIG_SECTIONS];
};

/* The settings of a config that names nothing: every default. */
void wisp_config_defaults(struct wisp_config *cfg, const char *node);
/* 0, or -1 with one line in err naming the file and what is wrong. */
int wisp_config_load(const char *path, const char *node,
	struct wisp_config *cfg, char *err, size_t errsz);
void wisp_config_free(struct wisp_config *cfg);
/* Reads the config as each of its nodes would, in name order, running
 * the file once, and calls fn with each (cfg is freed after): 0, or -1
 * with err saying what was wrong, or fn's -1 (which writes err). */
int wisp_config_load_each(const char *path,
	int (*fn)(const char *node, const struct wisp_config *cfg, void *ud),
	void *ud, char *err, size_t errsz);
/* The names of the config's nodes, sorted: 0 with them in *names (each
 * name and the list to wisp_free), or -1 with err saying why not. */
int wisp_config_node_names(const char *path, char ***names, size_t *count,
	char *err, size_t errsz);
const char *wisp_config_env(const struct wisp_config *cfg, const char *key);
const struct wisp_peer *wisp_config_peer(const struct wisp_config *cfg,
	const char *name);
const struct wisp_peer *wisp_config_peer_id(const struct wisp_config *cfg,
	uint32_t id);
/* Where p's harbor listens: harbor_listen, or else harbor. */
const char *wisp_peer_listen_host(const struct wisp_peer *p);
int wisp_peer_listen_port(const struct wisp_peer *p);

#endif
