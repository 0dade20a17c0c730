/* demo_cluster.c: starting and stopping the demo cluster as seven
 * processes, for the tests and benchmarks that play the demo game. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "demo_cluster.h"

const char *const demo_node_names[DEMO_NODES] = {
	"root", "db", "game1", "game2", "game3", "lobby", "net",
};

/* What each node logs once it is up: the lobby once it sees every game
 * node up, so that the logins spread over all of them. */
static const char *const ready[DEMO_NODES] = {
	"starting;", "cache in memory", "starting;", "starting;", "starting;",
	"demo: login ready", "gate listening for clients",
};

int demo_init(struct demo_cluster *d, const char *wisp_exe,
	const char *source_root)
{
	memset(d, 0, sizeof(*d));
	d->wisp_exe = wisp_exe;
	snprintf(d->conf, sizeof d->conf, "%s/conf/demo.lua", source_root);
	snprintf(d->dir, sizeof d->dir, "/tmp/wisp_demo_XXXXXX");
	/* harbors at base + 1..DEMO_NODES, the gate after them */
	int base = free_port_run(DEMO_NODES + 2);
	if (base < 0 || mkdtemp(d->dir) == NULL) {
		fprintf(stderr, "demo cluster: no free ports or no temporary "
			"directory\n");
		return -1;
	}
	d->gate_port = base + DEMO_NODES + 1;
	snprintf(d->gate, sizeof d->gate, "127.0.0.1:%d", d->gate_port);
	snprintf(d->env_base, sizeof d->env_base, "WISP_DEMO_PORT_BASE=%d", base);
	snprintf(d->env_gate, sizeof d->env_gate, "WISP_GATE_ADDR=%s", d->gate);
	snprintf(d->env_db, sizeof d->env_db, "WISP_DB_FILE=%s/demo.db", d->dir);
	/* the tests' bots, up to a thousand, all come from 127.0.0.1 */
	snprintf(d->env_per_address, sizeof d->env_per_address,
		"WISP_GATE_PER_ADDRESS=2000");
	return 0;
}

int demo_start(struct demo_cluster *d, struct proc *run, int start_ms)
{
	char *env[] = { d->env_base, d->env_gate, d->env_db, d->env_per_address,
		NULL };
	for (int i = 0; i < DEMO_NODES; i++) {
		char *args[] = { (char *)d->wisp_exe, d->conf,
			(char *)demo_node_names[i], NULL };
		run[i].label = demo_node_names[i];
		if (proc_start(&run[i], args, env) < 0)
			return -1;
	}
	for (int i = 0; i < DEMO_NODES; i++)
		if (!proc_wait_output(&run[i], ready[i], start_ms)) {
			fprintf(stderr, "no \"%s\" from %s within %d ms\n", ready[i],
				demo_node_names[i], start_ms);
			return -1;
		}
	return 0;
}

int demo_stop(struct proc *run, int stop_ms)
{
	int bad = 0;
	for (int i = DEMO_NODES; i-- > 0;) {
		if (!run[i].running)
			continue;
		bad += proc_stop_clean(&run[i], stop_ms) != 0;
		char *out = proc_output(&run[i], 0);
		if (strstr(out, " ERROR ")) {
			fprintf(stderr, "%s logged an error\n", run[i].label);
			bad++;
		}
		free(out);
	}
	return bad;
}

int demo_start_bots(const struct demo_cluster *d, struct proc *p,
	const char *bots_exe, long bots, long rooms, char **extra)
{
	char count[24], room_count[24];
	snprintf(count, sizeof count, "%ld", bots);
	snprintf(room_count, sizeof room_count, "%ld", rooms);
	char *args[32] = { (char *)bots_exe, "--bots", count, "--rooms",
		room_count };
	int n = 5;
	while (*extra && n < 30)
		args[n++] = *extra++;
	args[n++] = (char *)d->gate;
	args[n] = NULL;
	p->label = "wisp-bots";
	return proc_start(p, args, NULL);
}

void demo_remove(struct demo_cluster *d, const char *const *extra)
{
	static const char *const files[] = { "demo.db", "demo.db-wal",
		"demo.db-shm", NULL };
	char path[128];
	for (const char *const *f = files; *f; f++) {
		snprintf(path, sizeof path, "%s/%s", d->dir, *f);
		unlink(path);
	}
	for (; extra && *extra; extra++) {
		snprintf(path, sizeof path, "%s/%s", d->dir, *extra);
		unlink(path);
	}
	rmdir(d->dir);
}

int demo_delivered(const char *bots_out, const char *what)
{
	const char *at = strstr(bots_out, what);
	unsigned long got = 0, want = 0;
	if (at && sscanf(at + strlen(what), " %lu of %lu expected", &got,
			&want) == 2 && want > 0 && got == want)
		return 1;
	fprintf(stderr, "wisp-bots: no \"%s N of N expected\" (N > 0)%s%.80s\n",
		what, at ? ": " : "", at ? at : "");
	return 0;
}
