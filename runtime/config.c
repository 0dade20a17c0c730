/* config.c: reads a config file with the embedded Lua and checks it
 * against what wisp knows: an unknown key, a missing required key or a
 * value of the wrong type is an error naming the key and where it is. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "config.h"
#include "config_reader.h"
#include "config_secret.h"
#include "log.h"
#include "wisp.h"

static const char *const top_keys[] = { "cluster", "nodes", "module_path",
	"log_level", "log_file", "log_rate", "socket_write_limit", "stop_timeout", "env",
	"lua_path", "call_timeout", "lua_memory_limit", "lua_handler_budget",
	"handler_warn", "watchdog", "slow_call_ms",
	"mailbox_limit", "mailbox_bytes", "secret", "roots", NULL };

/* Integer settings of the top level: key, range, where it goes. */
static int read_limits(struct reader *r, struct wisp_config *cfg)
{
	const char *w = "the config";
	lua_Integer limit = (lua_Integer)cfg->socket_write_limit;
	lua_Integer stop = cfg->stop_timeout_ms, call = cfg->call_timeout_ms;
	lua_Integer mem = (lua_Integer)cfg->lua_memory_limit;
	lua_Integer budget = cfg->lua_budget_ms;
	lua_Integer mail = cfg->mailbox_limit;
	lua_Integer mail_bytes = (lua_Integer)cfg->mailbox_bytes;
	if (wisp_cfg_integer(r, w, "socket_write_limit", 1, (lua_Integer)1 << 40,
			&limit) < 0
		|| wisp_cfg_integer(r, w, "stop_timeout", 0, 3600000, &stop) < 0
		|| wisp_cfg_integer(r, w, "call_timeout", 1, 86400000, &call) < 0
		|| wisp_cfg_integer(r, w, "lua_memory_limit", 0, (lua_Integer)1 << 40,
			&mem) < 0
		|| wisp_cfg_integer(r, w, "lua_handler_budget", 1, 3600000, &budget) < 0
		|| wisp_cfg_integer(r, w, "mailbox_limit", 1, UINT32_MAX, &mail) < 0
		|| wisp_cfg_integer(r, w, "mailbox_bytes", 1, (lua_Integer)1 << 40,
			&mail_bytes) < 0)
		return -1;
	cfg->mailbox_limit = (uint32_t)mail;
	cfg->mailbox_bytes = (size_t)mail_bytes;
	cfg->socket_write_limit = (size_t)limit;
	cfg->stop_timeout_ms = (uint32_t)stop;
	cfg->call_timeout_ms = (uint32_t)call;
	cfg->lua_memory_limit = (size_t)mem;
	cfg->lua_budget_ms = (uint32_t)budget;
	return 0;
}

/* handler_warn, watchdog (the master's) and slow_call_ms, in ms; 0 for
 * off. */
static int read_watchdog(struct reader *r, struct wisp_config *cfg)
{
	const char *w = "the config";
	lua_Integer warn = cfg->handler_warn_ms, dog = cfg->watchdog_ms;
	lua_Integer slow = cfg->slow_call_ms;
	if (wisp_cfg_integer(r, w, "handler_warn", 0, 3600000, &warn) < 0
		|| wisp_cfg_integer(r, w, "slow_call_ms", 0, 86400000, &slow) < 0
		|| wisp_cfg_integer(r, w, "watchdog", 0, 3600000, &dog) < 0)
		return -1;
	if (dog > 0 && dog < 100)
		return wisp_cfg_fail(r, "key 'watchdog' in the config must be 0 "
			"(off) or at least 100 (ms)");
	cfg->handler_warn_ms = (uint32_t)warn;
	cfg->watchdog_ms = (uint32_t)dog;
	cfg->slow_call_ms = (uint32_t)slow;
	return 0;
}

static void add_root(struct wisp_config *cfg, uint32_t id)
{
	cfg->roots = wisp_realloc(cfg->roots,
		(cfg->root_count + 1) * sizeof(*cfg->roots));
	cfg->roots[cfg->root_count++] = id;
}

/* Every node with the root role, in id order, in one pass over the nodes:
 * a lookup of each of the 1,023 ids added 2 ms to each read of a config of
 * 1,000 nodes, which the master and every node read. */
static void default_roots(struct wisp_config *cfg)
{
	unsigned char root[WISP_MAX_NODE + 1] = { 0 };
	for (size_t i = 0; i < cfg->peer_count; i++) /* ids are 1..MAX */
		root[cfg->peers[i].id] = (cfg->peers[i].roles & WISP_ROLE_ROOT) != 0;
	for (uint32_t id = 1; id <= WISP_MAX_NODE; id++)
		if (root[id])
			add_root(cfg, id);
}

/* roots = { "name", ... }; by default every node with the root role, in
 * id order. */
static int read_roots(struct reader *r, struct wisp_config *cfg)
{
	int got = wisp_cfg_field(r, "the config", "roots", LUA_TTABLE,
		"a list of node names");
	if (got < 0)
		return -1;
	if (got > 0) {
		default_roots(cfg);
		return 0;
	}
	lua_Integer n = luaL_len(r->L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(r->L, -1, i);
		const char *name = lua_tostring(r->L, -1);
		const struct wisp_peer *p = name ? wisp_config_peer(cfg, name) : NULL;
		if (p == NULL)
			return wisp_cfg_fail(r, "roots names '%s', which is not in nodes",
				name ? name : "?");
		add_root(cfg, p->id);
		lua_pop(r->L, 1);
	}
	lua_pop(r->L, 1);
	return 0;
}

/* A node that others can reach needs the secret that proves it is one of
 * the cluster; a secret, wherever given, must be one that guesses do not
 * find (config_secret.c). */
static int check_secret(struct reader *r, struct wisp_config *cfg)
{
	const struct wisp_peer *self = wisp_config_peer_id(cfg, cfg->node_id);
	char why[256];
	if (self->host && (cfg->secret == NULL || cfg->secret[0] == '\0'))
		return wisp_cfg_fail(r, "missing required key 'secret': nodes with "
			"a harbor address need the cluster secret (`wisp --new-secret` "
			"makes one)");
	if (cfg->secret && cfg->secret[0]
		&& wisp_secret_weakness(cfg->secret, why, sizeof(why)))
		return wisp_cfg_fail(r, "key 'secret' in the config is refused: it "
			"%s; `wisp --new-secret` makes a good one", why);
	return 0;
}

/* The cluster's name is only checked: holding a copy across the reads
 * after it would leak it when one of them raises (run_job). */
static int check_cluster(struct reader *r)
{
	int got = wisp_cfg_field(r, "the config", "cluster", LUA_TSTRING,
		"a string");
	if (got == 0)
		lua_pop(r->L, 1);
	return got < 0 ? -1 : 0;
}

static int read_top(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	int bad = wisp_cfg_check_top_keys(r, top_keys) < 0
		|| check_cluster(r) < 0
		|| wisp_cfg_string(r, "the config", "module_path", &cfg->module_path) < 0
		|| wisp_cfg_string(r, "the config", "lua_path", &cfg->lua_path) < 0
		|| wisp_cfg_string(r, "the config", "secret", &cfg->secret) < 0
		|| read_limits(r, cfg) < 0 || read_watchdog(r, cfg) < 0
		|| wisp_cfg_sections_read(r, cfg) < 0
		|| wisp_cfg_read_common(r, "the config", cfg) < 0;
	if (bad)
		return -1;
	if (wisp_cfg_field(r, "the config", "nodes", LUA_TTABLE, "a table") != 0)
		return r->err[0] ? -1 : wisp_cfg_fail(r, "missing required key 'nodes'");
	if (wisp_cfg_read_nodes(r, node, cfg) < 0)
		return -1;
	lua_pop(r->L, 1);
	return read_roots(r, cfg) < 0 ? -1 : check_secret(r, cfg);
}

void wisp_config_defaults(struct wisp_config *cfg, const char *node)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->node = wisp_strdup(node);
	cfg->roles = WISP_ROLE_NODE;
	cfg->log_level = WISP_LOG_INFO;
	cfg->log_rate = WISP_LOG_RATE;
	cfg->socket_write_limit = 4u << 20;
	cfg->stop_timeout_ms = 5000;
	cfg->call_timeout_ms = 10000;
	/* shorter than the harbor's timeout: a node busy in one handler must
	 * not look dead to its peers */
	cfg->lua_budget_ms = 2000;
	cfg->handler_warn_ms = 1000;
	/* far past any healthy turn, even on a loaded host: a false alarm
	 * kills a node */
	cfg->watchdog_ms = 30000;
	cfg->mailbox_limit = WISP_MAILBOX_MESSAGES;
	cfg->mailbox_bytes = WISP_MAILBOX_BYTES;
	wisp_cfg_sections_new(cfg);
}

/* The config is the operator's, but one that runs away must end in an
 * error, not hang `wisp --check` or a start: its Lua may run so many
 * instructions, a call counting as CALL_COST (a C function such as
 * string.rep or a raise can cost far more than an instruction), and hold
 * so much memory; a hook every CONFIG_STEP instructions and at every call
 * counts, and also ends a run that takes too long all the same. A real
 * config needs a small fraction of each. */
#define CONFIG_STEP 1000
#define CALL_COST 100
#define CONFIG_INSTRUCTIONS 20000000L
#define CONFIG_SECONDS 10
#define CONFIG_MEMORY_MB 64

struct budget {
	size_t used;      /* bytes the config's Lua holds */
	long spent;       /* instructions run, calls counted as CALL_COST */
	uint64_t start;   /* when it started, in ns */
	char over[64];    /* "", or which bound it passed */
};

static void *budget_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	struct budget *b = ud;
	if (p == NULL)
		osize = 0;
	if (nsize == 0) {
		free(p);
		b->used -= osize;
		return NULL;
	}
	if (nsize > osize
		&& b->used + (nsize - osize) > (size_t)CONFIG_MEMORY_MB << 20)
		return NULL;
	void *q = realloc(p, nsize);
	if (q != NULL)
		b->used = b->used - osize + nsize;
	return q;
}

static struct budget *budget_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Past a bound, raises at every instruction of every coroutine that
 * runs: a pcall in the config catches the error, but the next
 * instruction after it raises again, up to the loader. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct budget *b = budget_of(L);
	b->spent += ar->event == LUA_HOOKCOUNT ? CONFIG_STEP : CALL_COST;
	if (b->spent > CONFIG_INSTRUCTIONS)
		snprintf(b->over, sizeof(b->over), "ran for more than %ld "
			"instructions", CONFIG_INSTRUCTIONS);
	else if (wisp_clock_ns() - b->start > CONFIG_SECONDS * 1000000000ull)
		snprintf(b->over, sizeof(b->over), "ran for more than %d s",
			CONFIG_SECONDS);
	if (b->over[0] == '\0')
		return;
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	luaL_error(L, "the config %s", b->over);
}

static lua_State *new_state(void)
{
	struct budget *b = wisp_malloc(sizeof(*b));
	memset(b, 0, sizeof(*b));
	lua_State *L = lua_newstate(budget_alloc, b);
	if (L == NULL) {
		wisp_free(b);
		return NULL;
	}
	b->start = wisp_clock_ns();
	lua_sethook(L, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, CONFIG_STEP);
	return L;
}

static void close_state(lua_State *L)
{
	if (L == NULL)
		return;
	struct budget *b = budget_of(L);
	lua_close(L);
	wisp_free(b);
}

/* The error of a failed run of the config's Lua (status, its value on
 * top), written as one line: -1. */
static int lua_failed(struct reader *r, int status)
{
	const char *msg = lua_tostring(r->L, -1);
	if (budget_of(r->L)->over[0])
		return wisp_cfg_fail(r, "the config %s", budget_of(r->L)->over);
	if (status == LUA_ERRMEM)
		return wisp_cfg_fail(r, "the config needs more than %d MB of "
			"memory", CONFIG_MEMORY_MB);
	if (msg == NULL)
		return wisp_cfg_fail(r, "the config raised an error that is not a "
			"string");
	if (strncmp(msg, r->file, strlen(r->file)) != 0) /* error(x, 0) */
		return wisp_cfg_fail(r, "%s", msg);
	snprintf(r->err, r->errsz, "%s", msg);
	return -1;
}

/* Runs the config file: 0 with the table it returns on top, or -1 with
 * the error written. */
static int run_file(struct reader *r)
{
	int status;
	if (r->L == NULL)
		return wisp_cfg_fail(r, "no memory for the config's Lua");
	luaL_openlibs(r->L);
	if ((status = luaL_loadfilex(r->L, r->file, "t")) != LUA_OK
		|| (status = lua_pcall(r->L, 0, 1, 0)) != LUA_OK)
		return lua_failed(r, status);
	if (!lua_istable(r->L, -1))
		return wisp_cfg_fail(r, "must return a table (return { nodes = { "
			"... } })");
	return 0;
}

/* What is read from the config's table under protection: a metamethod
 * of the config's tables (__index, __len, __tostring) runs its Lua, and
 * what that raises, or running out of the budget, must fail the read,
 * not the process. */
struct job {
	struct reader *r;
	const char *node;          /* read_top for node into cfg, */
	struct wisp_config *cfg;
	char ***names;             /* or collect_names when names is set */
	size_t *count;
	int rc;
};

static int collect_names(struct reader *r, char ***names, size_t *count);

static int run_job(lua_State *L)
{
	struct job *j = lua_touserdata(L, 2);
	lua_settop(L, 1);
	j->rc = j->names ? collect_names(j->r, j->names, j->count)
		: read_top(j->r, j->node, j->cfg);
	return 0;
}

/* Runs j on the table on top of j->r->L: its result, or -1. */
static int protect(struct job *j)
{
	lua_State *L = j->r->L;
	lua_pushcfunction(L, run_job);
	lua_pushvalue(L, -2);
	lua_pushlightuserdata(L, j);
	int status = lua_pcall(L, 2, 0, 0);
	return status == LUA_OK ? j->rc : lua_failed(j->r, status);
}

static int read_node(struct reader *r, const char *node,
	struct wisp_config *cfg)
{
	struct job j = { r, node, cfg, NULL, NULL, 0 };
	return protect(&j);
}

static int read_names(struct reader *r, char ***names, size_t *count)
{
	struct job j = { r, NULL, NULL, names, count, 0 };
	return protect(&j);
}

int wisp_config_load(const char *path, const char *node,
	struct wisp_config *cfg, char *err, size_t errsz)
{
	struct reader r = { new_state(), path, err, errsz, NULL, 0 };
	err[0] = '\0';
	wisp_config_defaults(cfg, node);
	int rc = run_file(&r) < 0 ? -1 : read_node(&r, node, cfg);
	close_state(r.L);
	if (rc < 0)
		wisp_config_free(cfg);
	return rc;
}

void wisp_config_free(struct wisp_config *cfg)
{
	for (size_t i = 0; i < cfg->service_count; i++) {
		wisp_free(cfg->services[i].module);
		wisp_free(cfg->services[i].args);
	}
	for (size_t i = 0; i < cfg->env_count; i++) {
		wisp_free(cfg->env[i].key);
		wisp_free(cfg->env[i].value);
	}
	wisp_free(cfg->services);
	wisp_free(cfg->env);
	wisp_free(cfg->node);
	wisp_free(cfg->module_path);
	wisp_free(cfg->log_file);
	wisp_free(cfg->lua_path);
	for (size_t i = 0; i < cfg->peer_count; i++) {
		wisp_free(cfg->peers[i].name);
		wisp_free(cfg->peers[i].host);
		wisp_free(cfg->peers[i].listen_host);
	}
	wisp_free(cfg->peers);
	wisp_free(cfg->roots);
	wisp_free(cfg->secret);
	wisp_cfg_sections_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of the config's nodes table (the config on top), into a new
 * sorted list. */
static int collect_names(struct reader *r, char ***names, size_t *count)
{
	int got = wisp_cfg_field(r, "the config", "nodes", LUA_TTABLE, "a table");
	if (got != 0)
		return got < 0 ? -1 : wisp_cfg_fail(r, "missing required key 'nodes'");
	for (lua_pushnil(r->L); lua_next(r->L, -2); lua_pop(r->L, 1)) {
		if (lua_type(r->L, -2) != LUA_TSTRING)
			return wisp_cfg_fail(r, "nodes are named by strings");
		*names = wisp_realloc(*names, (*count + 1) * sizeof(**names));
		(*names)[(*count)++] = wisp_strdup(lua_tostring(r->L, -2));
	}
	if (*count == 0)
		return wisp_cfg_fail(r, "nodes is empty: there is no node");
	qsort(*names, *count, sizeof(**names), by_name);
	return 0;
}

/* Reads each of names from the table on top, as that node would. */
static int read_each(struct reader *r, char **names, size_t count,
	int (*fn)(const char *node, const struct wisp_config *cfg, void *ud),
	void *ud)
{
	for (size_t i = 0; i < count; i++) {
		struct wisp_config cfg;
		int top = lua_gettop(r->L);
		r->node = NULL;
		r->self = 0;
		wisp_config_defaults(&cfg, names[i]);
		int rc = read_node(r, names[i], &cfg) < 0 ? -1
			: fn(names[i], &cfg, ud);
		wisp_config_free(&cfg);
		if (rc < 0)
			return -1;
		lua_settop(r->L, top);
	}
	return 0;
}

int wisp_config_load_each(const char *path,
	int (*fn)(const char *node, const struct wisp_config *cfg, void *ud),
	void *ud, char *err, size_t errsz)
{
	struct reader r = { new_state(), path, err, errsz, NULL, 0 };
	char **names = NULL;
	size_t count = 0;
	err[0] = '\0';
	int rc = run_file(&r) < 0 || read_names(&r, &names, &count) < 0 ? -1
		: 0;
	lua_settop(r.L, 1); /* the config's table */
	if (rc == 0)
		rc = read_each(&r, names, count, fn, ud);
	close_state(r.L);
	for (size_t i = 0; i < count; i++)
		wisp_free(names[i]);
	wisp_free(names);
	return rc;
}

int wisp_config_node_names(const char *path, char ***names, size_t *count,
	char *err, size_t errsz)
{
	struct reader r = { new_state(), path, err, errsz, NULL, 0 };
	int rc = -1;
	*names = NULL;
	*count = 0;
	if (run_file(&r) == 0)
		rc = read_names(&r, names, count);
	close_state(r.L);
	if (rc < 0) {
		for (size_t i = 0; i < *count; i++)
			wisp_free((*names)[i]);
		wisp_free(*names);
		*names = NULL;
		*count = 0;
	}
	return rc;
}

const char *wisp_config_env(const struct wisp_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->env_count; i++)
		if (strcmp(cfg->env[i].key, key) == 0)
			return cfg->env[i].value;
	return NULL;
}
