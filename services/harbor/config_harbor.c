/* config_harbor.c: the harbor's section of the config (harbor_config.h):
 * harbor = { heartbeat, timeout, max_frame, compress, buffer, same_host,
 * tls }, each key checked and defaulted here, and whether a node's TCP
 * links use TLS. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "harbor_config.h"
#include "wisp.h"

#define HARBOR_INT(name, field, min, max, def) \
	WISP_CFG_INT_KEY(name, struct wisp_harbor_settings, field, min, max, def)
#define HARBOR_END { NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL }

/* The keys of harbor.tls as a table, and where each goes. */
static const char *const tls_keys[] = { "cert", "key", "ca", NULL };

static char **tls_file(struct wisp_harbor_settings *s, int i)
{
	char **files[] = { &s->tls_cert, &s->tls_key, &s->tls_ca };
	return files[i];
}

/* harbor.tls = { cert, key, ca } (on top), each required, as written:
 * the node's own files are named by read_node. */
static int read_tls_files(struct reader *r, struct wisp_harbor_settings *s)
{
	if (wisp_cfg_check_keys(r, "harbor.tls", tls_keys) < 0)
		return -1;
	for (int i = 0; tls_keys[i]; i++) {
		if (wisp_cfg_string(r, "harbor.tls", tls_keys[i], tls_file(s, i)) < 0)
			return -1;
		if (*tls_file(s, i) == NULL)
			return wisp_cfg_fail(r, "missing required key '%s' in harbor.tls "
				"(certificates need cert, key and ca)", tls_keys[i]);
	}
	s->tls_mode = WISP_HARBOR_TLS_CERT;
	return 0;
}

/* harbor.tls: true, false or a table of certificates; absent, auto. */
static int read_tls(struct reader *r, const char *where,
	const struct wisp_cfg_key *k, void *settings)
{
	struct wisp_harbor_settings *s = settings;
	int type = lua_getfield(r->L, -1, k->name), rc = 0;
	if (type == LUA_TBOOLEAN)
		s->tls_mode = lua_toboolean(r->L, -1) ? WISP_HARBOR_TLS_PSK
			: WISP_HARBOR_TLS_OFF;
	else if (type == LUA_TTABLE)
		rc = read_tls_files(r, s);
	else if (type != LUA_TNIL)
		rc = wisp_cfg_fail(r, "key '%s' in %s must be true, false or a "
			"table { cert = FILE, key = FILE, ca = FILE }", k->name, where);
	lua_pop(r->L, 1);
	return rc;
}

static const struct wisp_cfg_key harbor_keys[] = {
	HARBOR_INT("heartbeat", heartbeat_ms, 10, 600000, 1000),
	HARBOR_INT("timeout", timeout_ms, 20, 3600000, 5000),
	HARBOR_INT("max_frame", max_frame, 1024, 1 << 30, 64 << 20),
	HARBOR_INT("compress", compress_threshold, 0, 1 << 30, 4096),
	HARBOR_INT("buffer", buffer_limit, 1024, (lua_Integer)1 << 40, 64 << 20),
	{ "same_host", WISP_CFG_BOOL,
		WISP_CFG_FIELD(struct wisp_harbor_settings, same_host), 0, 1, 1,
		NULL, NULL, NULL },
	{ "tls", WISP_CFG_CUSTOM, 0, 0, 0, 0, 0, NULL, NULL, read_tls },
	HARBOR_END,
};

static const struct wisp_cfg_key top_keys[] = {
	{ "harbor", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, harbor_keys, NULL },
	HARBOR_END,
};

/* text with every "{node}" replaced by node, in a new string. */
static char *expand(const char *text, const char *node)
{
	static const char mark[] = "{node}";
	size_t n = 0, len = strlen(node);
	for (const char *p = strstr(text, mark); p; p = strstr(p + 1, mark))
		n++;
	char *out = wisp_malloc(strlen(text) + n * len + 1), *o = out;
	for (const char *p; (p = strstr(text, mark)); text = p + sizeof(mark) - 1) {
		memcpy(o, text, (size_t)(p - text));
		o += p - text;
		memcpy(o, node, len);
		o += len;
	}
	strcpy(o, text);
	return out;
}

/* The node's certificate files: named, and readable. */
static int node_files(struct reader *r, struct wisp_harbor_settings *s)
{
	for (int i = 0; tls_keys[i]; i++) {
		char *path = expand(*tls_file(s, i), r->node->name);
		wisp_free(*tls_file(s, i));
		*tls_file(s, i) = path;
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return wisp_cfg_fail(r, "key '%s' in harbor.tls: cannot read "
				"'%s': %s", tls_keys[i], path, strerror(errno));
		fclose(f);
	}
	return 0;
}

/* A node's harbor address, or where it listens, off loopback: NULL if
 * neither is. */
static const char *far_address(const struct wisp_peer *p)
{
	if (p->host && !wisp_addr_is_loopback(p->host))
		return p->host;
	if (p->listen_host && !wisp_addr_is_loopback(p->listen_host))
		return p->listen_host;
	return NULL;
}

/* Every node: plaintext only where every address is on loopback. The node
 * read: its certificate files. */
static int read_node(struct reader *r, const char *where, void *settings)
{
	struct wisp_harbor_settings *s = settings;
	const char *host = far_address(r->node);
	if (s->tls_mode == WISP_HARBOR_TLS_OFF && host)
		return wisp_cfg_fail(r, "harbor.tls = false (plaintext links) needs "
			"every harbor address on loopback, and %s's is %s: leave "
			"harbor.tls out, or set it to true or to certificates", where,
			host);
	return s->tls_mode == WISP_HARBOR_TLS_CERT && r->self
		? node_files(r, s) : 0;
}

static void free_settings(void *settings)
{
	struct wisp_harbor_settings *s = settings;
	for (int i = 0; tls_keys[i]; i++) {
		wisp_free(*tls_file(s, i));
		*tls_file(s, i) = NULL;
	}
}

const struct wisp_cfg_section wisp_harbor_config = {
	.name = "harbor",
	.size = sizeof(struct wisp_harbor_settings),
	.keys = top_keys,
	.read_node = read_node,
	.free = free_settings,
};

const struct wisp_harbor_settings *wisp_harbor_settings(
	const struct wisp_config *cfg)
{
	return wisp_config_section(cfg, &wisp_harbor_config);
}

/* The first node of cfg whose harbor address is not on loopback, or
 * NULL. */
static const struct wisp_peer *far_peer(const struct wisp_config *cfg)
{
	for (size_t i = 0; i < cfg->peer_count; i++)
		if (far_address(&cfg->peers[i]))
			return &cfg->peers[i];
	return NULL;
}

int wisp_harbor_tls_needed(const struct wisp_config *cfg,
	const struct wisp_harbor_settings *s, char *why, size_t why_size)
{
	const struct wisp_peer *far = far_peer(cfg);
	switch (s->tls_mode) {
	case WISP_HARBOR_TLS_PSK:
		snprintf(why, why_size, "TLS with the cluster key on every TCP link "
			"(harbor.tls = true)");
		return 1;
	case WISP_HARBOR_TLS_CERT:
		snprintf(why, why_size, "TLS with certificates of the cluster CA on "
			"every TCP link (harbor.tls = { cert, key, ca })");
		return 1;
	case WISP_HARBOR_TLS_OFF:
		if (far == NULL) {
			snprintf(why, why_size, "harbor.tls = false, and every harbor "
				"address is on loopback");
			return 0;
		}
		snprintf(why, why_size, "harbor.tls = false (plaintext links) is "
			"refused: nodes.%s's harbor address %s is not on loopback",
			far->name, far_address(far));
		return -1;
	default:
		if (far == NULL) {
			snprintf(why, why_size, "every harbor address is on loopback "
				"(harbor.tls = true would encrypt them)");
			return 0;
		}
		snprintf(why, why_size, "TLS with the cluster key on TCP links: "
			"nodes.%s's harbor address %s is not on loopback", far->name,
			far_address(far));
		return 1;
	}
}
