/* config_reader.h: the checked reading of config tables that config.c,
 * config_node.c and the services' sections share, and the registration
 * of those sections. Each reads from the table on top of r->L. */
#ifndef WISP_CONFIG_READER_H
#define WISP_CONFIG_READER_H

#include <lua.h>
#include <stddef.h>

struct wisp_peer;
struct wisp_check;

struct reader {
	lua_State *L;
	const char *file;
	char *err;
	size_t errsz;
	const struct wisp_peer *node; /* the node whose table is read */
	int self;                     /* it is the one the config is read as */
};

/* Writes "file: message" into r->err; returns -1. */
int wisp_cfg_fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The index of s in a NULL-terminated list, or -1. */
int wisp_cfg_listed(const char *const *list, const char *s);
/* Every key of the table on top must be in allowed; the error for one
 * that is not names the nearest allowed key when one is near. */
int wisp_cfg_check_keys(struct reader *r, const char *where,
	const char *const *allowed);
/* Pushes t[key]: 0 if present, 1 if nil (nothing pushed), -1 if of the
 * wrong type (nothing pushed, error written). */
int wisp_cfg_field(struct reader *r, const char *where, const char *key,
	int type, const char *type_name);
/* t[key] into *out (0 or 1) when it is a boolean; 0 also when nil. */
int wisp_cfg_boolean(struct reader *r, const char *where, const char *key,
	int *out);
/* Replaces *out with a copy of t[key] if present; 0 or -1. */
int wisp_cfg_string(struct reader *r, const char *where, const char *key,
	char **out);
/* *out = t[key] if present and in range: 0; 1 if absent; -1 if wrong. */
int wisp_cfg_integer(struct reader *r, const char *where, const char *key,
	lua_Integer min, lua_Integer max, lua_Integer *out);

/* "host:port" (text, changed in place) into *host, pointing into text,
 * and *port, as wisp_addr_parse (proto/addr.h) takes it with no default
 * port; 0, or -1 when it is not such an address. */
int wisp_cfg_split_address(char *text, char **host, int *port);

struct wisp_config;
/* config_node.c: the nodes table on top, and a node's own settings. */
int wisp_cfg_read_nodes(struct reader *r, const char *node,
	struct wisp_config *cfg);
int wisp_cfg_read_common(struct reader *r, const char *where,
	struct wisp_config *cfg);

/* ---- sections (config_section.c): what services add to a config ---- */

/* How a key's value is read and where it goes. */
enum wisp_cfg_kind {
	WISP_CFG_INT,    /* an integer from min to max, in a field of width
	                  * bytes (a uint8_t to a size_t) */
	WISP_CFG_BOOL,   /* true or false, in an int */
	WISP_CFG_STRING, /* a string, copied into a char * */
	WISP_CFG_TABLE,  /* a table whose keys are sub, into the same settings */
	WISP_CFG_CUSTOM, /* read by read alone */
};

/* A key of a section's table. Integers and booleans start as def and
 * strings as a copy of text (or NULL); tables and custom keys start as
 * the section's defaults make them. */
struct wisp_cfg_key {
	const char *name;
	int kind;              /* enum wisp_cfg_kind */
	size_t offset, width;  /* of its field in the settings */
	lua_Integer min, max, def;
	const char *text;      /* a string's default */
	const struct wisp_cfg_key *sub; /* a table's keys, ended by a NULL name */
	/* A custom key's reader: t[key] of the table on top (where names it)
	 * into settings, nothing when it is nil. Any other kind's check of
	 * the value just read (NULL: none). 0, or -1 with the error written
	 * (wisp_cfg_fail). */
	int (*read)(struct reader *r, const char *where,
		const struct wisp_cfg_key *k, void *settings);
};

#define WISP_CFG_FIELD(type, field) \
	offsetof(type, field), sizeof(((type *)0)->field)
/* name: an integer from min to max in type's field, def by default. */
#define WISP_CFG_INT_KEY(name, type, field, min, max, def) \
	{ name, WISP_CFG_INT, WISP_CFG_FIELD(type, field), min, max, def, \
		NULL, NULL, NULL }

/* A service's part of the config: its settings (size bytes, made for
 * every config read once registered), the keys it adds to the config's
 * top level, and those it adds to each node's table. */
struct wisp_cfg_section {
	const char *name;               /* for errors: "gate" */
	size_t size;
	const struct wisp_cfg_key *keys; /* of the top level; NULL name ends */
	const char *const *node_keys;   /* allowed in node tables, or NULL */
	/* Reads node_keys from a node's table (on top; where names it) for
	 * every node: keeps what it reads only when r->self, and checks the
	 * others' so that a mistake shows on any node's --check. */
	int (*read_node)(struct reader *r, const char *where, void *settings);
	void (*defaults)(void *settings); /* what the keys' defaults are not */
	void (*free)(void *settings);     /* what custom keys hold */
	/* Optional, for `wisp --check CONFIG` (check.h): what the node of cfg
	 * listens on and which services it names, in settings. */
	void (*check)(const void *settings, const struct wisp_config *cfg,
		struct wisp_check *c);
};

/* Makes s a part of every config read from now on; the executable does
 * it before reading one. Registering s again changes nothing. */
void wisp_config_register(const struct wisp_cfg_section *s);
/* s's settings in cfg, or NULL if s was not registered when cfg was
 * read. */
void *wisp_config_section(const struct wisp_config *cfg,
	const struct wisp_cfg_section *s);
/* Reads keys from the table on top into settings, each checked. */
int wisp_cfg_read_keys(struct reader *r, const char *where,
	const struct wisp_cfg_key *keys, void *settings);
/* Sets keys' defaults in settings (zeroed before). */
void wisp_cfg_key_defaults(const struct wisp_cfg_key *keys, void *settings);
/* Frees the strings of keys in settings. */
void wisp_cfg_key_free(const struct wisp_cfg_key *keys, void *settings);
/* What config.c and config_node.c do with every registered section: make
 * their settings in cfg, free them, check the keys of the table on top
 * (base and what the sections add there), read their keys there, read
 * their part of a node's table. */
void wisp_cfg_sections_new(struct wisp_config *cfg);
void wisp_cfg_sections_free(struct wisp_config *cfg);
int wisp_cfg_check_top_keys(struct reader *r, const char *const *base);
int wisp_cfg_check_node_keys(struct reader *r, const char *where,
	const char *const *base);
int wisp_cfg_sections_read(struct reader *r, struct wisp_config *cfg);
int wisp_cfg_sections_read_node(struct reader *r, const char *where,
	struct wisp_config *cfg);
/* Runs every section's check hook on cfg's settings. */
void wisp_cfg_sections_check(const struct wisp_config *cfg,
	struct wisp_check *c);

#endif
