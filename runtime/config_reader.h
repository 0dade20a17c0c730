/* config_reader.h: the checked reading of config tables that config.c
 * and config_node.c share. Each reads from the table on top of r->L. */
#ifndef WISP_CONFIG_READER_H
#define WISP_CONFIG_READER_H

#include <lua.h>

struct reader {
	lua_State *L;
	const char *file;
	char *err;
	size_t errsz;
};

/* Writes "file: message" into r->err; returns -1. */
int wisp_cfg_fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The index of s in a NULL-terminated list, or -1. */
int wisp_cfg_listed(const char *const *list, const char *s);
/* Every key of the table on top must be in allowed. */
int wisp_cfg_check_keys(struct reader *r, const char *where,
	const char *const *allowed);
/* Pushes t[key]: 0 if present, 1 if nil (nothing pushed), -1 if of the
 * wrong type (nothing pushed, error written). */
int wisp_cfg_field(struct reader *r, const char *where, const char *key,
	int type, const char *type_name);
/* Replaces *out with a copy of t[key] if present; 0 or -1. */
int wisp_cfg_string(struct reader *r, const char *where, const char *key,
	char **out);
/* *out = t[key] if present and in range: 0; 1 if absent; -1 if wrong. */
int wisp_cfg_integer(struct reader *r, const char *where, const char *key,
	lua_Integer min, lua_Integer max, lua_Integer *out);

/* "host:port" (text, changed in place) into *host, pointing into text,
 * and *port: the last colon splits, "[v6]:port" loses its brackets, the
 * port is 1 to 65535 in decimal digits only; 0, or -1 when it is not. */
int wisp_cfg_split_address(char *text, char **host, int *port);

struct wisp_config;
/* config_node.c: the nodes table on top, and a node's own settings. */
int wisp_cfg_read_nodes(struct reader *r, const char *node,
	struct wisp_config *cfg);
int wisp_cfg_read_common(struct reader *r, const char *where,
	struct wisp_config *cfg);

struct wisp_gate_settings;
/* config_gate.c: the gate settings. read_gate reads the `gate` field of
 * the table on top (owner names that table, where the field); read_node_gate
 * the one of the node table on top, and checks that a net node has a
 * listen address and that only a net node has a gate table. */
void wisp_cfg_gate_defaults(struct wisp_gate_settings *g);
void wisp_cfg_gate_free(struct wisp_gate_settings *g);
int wisp_cfg_read_gate(struct reader *r, const char *owner, const char *where,
	struct wisp_gate_settings *g);
int wisp_cfg_read_node_gate(struct reader *r, const char *node,
	struct wisp_config *cfg);

struct wisp_db_settings;
/* config_db.c: the settings of the db service, from the `db` field of the
 * table on top. */
void wisp_cfg_db_defaults(struct wisp_db_settings *d);
void wisp_cfg_db_free(struct wisp_db_settings *d);
int wisp_cfg_read_db(struct reader *r, struct wisp_db_settings *d);

struct wisp_console_settings;
/* config_console.c: the `console` and `metrics` addresses of the node
 * table on top (nodes.NAME), checked against the config's console_token;
 * kept in *keep, when not NULL, over its token, which is read first. */
void wisp_cfg_console_free(struct wisp_console_settings *c);
int wisp_cfg_read_console(struct reader *r, const char *name,
	const char *token, struct wisp_console_settings *keep);

#endif
