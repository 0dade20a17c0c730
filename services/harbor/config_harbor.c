/* config_harbor.c: the harbor's section of the config (harbor_config.h):
 * harbor = { heartbeat, timeout, max_frame, compress, buffer, same_host },
 * each key checked and defaulted here. */
#include "harbor_config.h"

#define HARBOR_INT(name, field, min, max, def) \
	WISP_CFG_INT_KEY(name, struct wisp_harbor_settings, field, min, max, def)
#define HARBOR_END { NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL }

static const struct wisp_cfg_key harbor_keys[] = {
	HARBOR_INT("heartbeat", heartbeat_ms, 10, 600000, 1000),
	HARBOR_INT("timeout", timeout_ms, 20, 3600000, 5000),
	HARBOR_INT("max_frame", max_frame, 1024, 1 << 30, 64 << 20),
	HARBOR_INT("compress", compress_threshold, 0, 1 << 30, 4096),
	HARBOR_INT("buffer", buffer_limit, 1024, (lua_Integer)1 << 40, 64 << 20),
	{ "same_host", WISP_CFG_BOOL,
		WISP_CFG_FIELD(struct wisp_harbor_settings, same_host), 0, 1, 1,
		NULL, NULL, NULL },
	HARBOR_END,
};

static const struct wisp_cfg_key top_keys[] = {
	{ "harbor", WISP_CFG_TABLE, 0, 0, 0, 0, 0, NULL, harbor_keys, NULL },
	HARBOR_END,
};

const struct wisp_cfg_section wisp_harbor_config = {
	.name = "harbor",
	.size = sizeof(struct wisp_harbor_settings),
	.keys = top_keys,
};

const struct wisp_harbor_settings *wisp_harbor_settings(
	const struct wisp_config *cfg)
{
	return wisp_config_section(cfg, &wisp_harbor_config);
}
