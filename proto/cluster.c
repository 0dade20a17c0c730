/* cluster.c: parsing and writing the directory's text messages. Each is
 * a verb, then at most a name, a number (decimal node id or 8 hex digit
 * handle) and a load (two decimal counts), single spaces between;
 * anything else is refused. */
#include <stdio.h>
#include <string.h>
#include "cluster.h"

static const struct {
	const char *verb;
	int name;   /* takes a name */
	int value;  /* 0 none, 'd' a node id, 'x' a handle */
	int load;   /* ends with the load's WISP_LOAD_NUMBERS counts */
} grammar[] = {
	[WISP_CLUSTER_JOIN] = { "join", 0, 0, 0 },
	[WISP_CLUSTER_WELCOME] = { "welcome", 0, 0, 0 },
	[WISP_CLUSTER_UP] = { "up", 0, 'd', 0 },
	[WISP_CLUSTER_DOWN] = { "down", 0, 'd', 0 },
	[WISP_CLUSTER_REGISTER] = { "register", 1, 0, 0 },
	[WISP_CLUSTER_NAME] = { "name", 1, 'x', 0 },
	[WISP_CLUSTER_UNNAME] = { "unname", 1, 0, 0 },
	[WISP_CLUSTER_GONE] = { "gone", 0, 'x', 0 },
	[WISP_CLUSTER_REPORT] = { "report", 0, 0, 1 },
	[WISP_CLUSTER_WATCH] = { "watch", 0, 0, 0 },
	[WISP_CLUSTER_LOAD] = { "load", 0, 'd', 1 },
	[WISP_CLUSTER_RESOLVE] = { "resolve", 1, 0, 0 },
	[WISP_CLUSTER_RESOLVED] = { "resolved", 1, 'x', 0 },
	[WISP_CLUSTER_STALE] = { "stale", 0, 'x', 0 },
};
#define OPS (sizeof(grammar) / sizeof(*grammar))

/* The next space-separated word of [*p, end): its length, 0 if none. */
static size_t word(const char **p, const char *end, const char **start)
{
	*start = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	size_t n = (size_t)(*p - *start);
	if (*p < end)
		(*p)++; /* the space */
	return n;
}

/* kind: 'd' a node id (1..WISP_MAX_NODE), 'x' a handle, 'u' a count. */
static int number(const char *s, size_t n, int kind, uint32_t *out)
{
	uint64_t v = 0;
	size_t most = kind == 'x' ? 8u : kind == 'd' ? 4u : 10u;
	if (n == 0 || n > most)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: kind == 'x' && c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * (kind == 'x' ? 16 : 10) + (uint64_t)d;
	}
	*out = (uint32_t)v;
	if (kind == 'd')
		return v == 0 || v > WISP_MAX_NODE ? -1 : 0;
	return v > UINT32_MAX ? -1 : 0;
}

static int find_op(const char *s, size_t n)
{
	for (size_t op = 0; op < OPS; op++)
		if (strlen(grammar[op].verb) == n && memcmp(grammar[op].verb, s, n) == 0)
			return (int)op;
	return -1;
}

static int valid_name(const char *s, size_t n)
{
	return n > 0 && n <= WISP_NAME_MAX && wisp_name_span(s, n) == n;
}

int wisp_cluster_parse(const void *data, size_t sz,
	struct wisp_cluster_cmd *cmd)
{
	const char *p = data, *end = p + sz, *w;
	if (sz == 0 || sz > WISP_CLUSTER_MAX || p[sz - 1] == ' ')
		return -1;
	memset(cmd, 0, sizeof(*cmd));
	size_t n = word(&p, end, &w);
	if ((cmd->op = find_op(w, n)) < 0)
		return -1;
	if (grammar[cmd->op].name) {
		n = word(&p, end, &w);
		if (!valid_name(w, n))
			return -1;
		memcpy(cmd->name, w, n);
	}
	if (grammar[cmd->op].value) {
		n = word(&p, end, &w);
		if (number(w, n, grammar[cmd->op].value, &cmd->value) < 0)
			return -1;
	}
	for (int i = 0; grammar[cmd->op].load && i < WISP_LOAD_NUMBERS; i++) {
		n = word(&p, end, &w);
		if (number(w, n, 'u', &cmd->numbers[i]) < 0)
			return -1;
	}
	return p == end ? 0 : -1;
}

size_t wisp_cluster_format(const struct wisp_cluster_cmd *cmd, char *out)
{
	int op = cmd->op;
	size_t at = (size_t)snprintf(out, WISP_CLUSTER_MAX, "%s", grammar[op].verb);
	if (grammar[op].name)
		at += (size_t)snprintf(out + at, WISP_CLUSTER_MAX - at, " %s",
			cmd->name);
	if (grammar[op].value)
		at += (size_t)snprintf(out + at, WISP_CLUSTER_MAX - at,
			grammar[op].value == 'x' ? " %08x" : " %u", cmd->value);
	for (int i = 0; grammar[op].load && i < WISP_LOAD_NUMBERS; i++)
		at += (size_t)snprintf(out + at, WISP_CLUSTER_MAX - at, " %u",
			cmd->numbers[i]);
	return at;
}
