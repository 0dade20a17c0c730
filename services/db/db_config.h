/* db_config.h: the db service's section of the config (config_db.c),
 * the top-level `db` table: its sqlite3 database (or PostgreSQL's
 * conninfo) and the cache of its rows, in memcached when servers are
 * listed, in process otherwise; and each db node's own `db` table: its
 * file and the tables it owns. Every
 * node reads it, so that a mistake shows on any node's --check; the db
 * service of a node with the db role uses it. */
#ifndef WISP_DB_CONFIG_H
#define WISP_DB_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "config_reader.h"

struct wisp_db_settings {
	char *file;             /* the database; relative to the working dir */
	char *postgres;         /* libpq's conninfo, in place of file; or NULL */
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
	/* Which db node owns which table: each db node's db.tables, and the
	 * db node that lists none, which owns the rest (NULL if none). */
	struct wisp_db_owner *owners;
	size_t owner_count;
	char *default_owner;
};

/* A table a db node's db.tables lists. */
struct wisp_db_owner {
	char *table;
	char *node;
};

extern const struct wisp_cfg_section wisp_db_config;

/* cfg's db settings; NULL if the section was not registered when cfg was
 * read. */
const struct wisp_db_settings *wisp_db_settings(
	const struct wisp_config *cfg);

#endif
