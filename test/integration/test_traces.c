/* test_traces.c: traces across real processes (test/traces/): a client's
 * command goes through the net node's gate to the room on game1, which
 * calls slowdb on the db node (300 ms, over slow_call_ms). The request's
 * trace id must be in the lines all three nodes log for it, across
 * slowdb's sleep; another request must have another id; the slow call
 * must be logged once on game1 with the path gate > room > slowdb; and
 * `wisp-ctl trace ID` must show the lines of all three nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate_harness.h"
#include "proc.h"
#include "testlib.h"

#define PORTS 5 /* the harbors of net, game1 and db; the gate; the console */
#define GATE_OFFSET 3
#define CONSOLE_OFFSET 4
#define START_MS 20000
#define ASK_MS 5000
#define CTL_MS 10000
#define ID_LEN 16

static const struct wisp_client_proto proto = {
	{ 'W', 'I', 'S', 'P' }, 1, 1, 65536,
};

static const char *wisp_exe, *ctl_exe;
static char conf[512], port_base[64];
static int base;
static struct proc procs[3]; /* net, game1, db */
static struct proc *const net = &procs[0], *const game1 = &procs[1],
	*const db = &procs[2];

static int start_node(struct proc *p, const char *name, const char *ready)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)name, NULL };
	char *env[] = { port_base, NULL };
	p->label = name;
	if (proc_start(p, args, env) == 0 && proc_wait_output(p, ready, START_MS))
		return 0;
	fprintf(stderr, "no \"%s\" from %s\n", ready, name);
	test_failures++;
	return -1;
}

/* The trace id of p's first line holding text, into id ("" if none).
 * The line may come after the reply: the logger writes it in its turn. */
static void trace_of(const struct proc *p, const char *text, char *id)
{
	proc_wait_log(p, text, "", ASK_MS);
	char *out = proc_output(p, 0);
	const char *at = strstr(out, text), *line = at;
	id[0] = '\0';
	while (line && line > out && line[-1] != '\n')
		line--;
	const char *t = line ? strstr(line, "trace=") : NULL;
	if (t && t < at)
		snprintf(id, ID_LEN + 1, "%.*s", ID_LEN, t + 6);
	else
		fprintf(stderr, "%s: no traced line with \"%s\"\n", p->label, text);
	free(out);
}

/* A line of p holding text is in trace id. */
static void check_in(const struct proc *p, const char *text, const char *id)
{
	char tag[32];
	snprintf(tag, sizeof(tag), "trace=%s ", id);
	if (!proc_wait_log(p, tag, text, ASK_MS)) {
		fprintf(stderr, "%s: no line with \"%s\" in %s\n", p->label, text, tag);
		test_failures++;
	}
}

/* wisp-ctl's stdout for line at the console; NULL (said) unless its exit
 * was 0 as want_ok says. */
static char *ctl(const char *line, int want_ok)
{
	char address[32], words[256];
	snprintf(address, sizeof(address), "127.0.0.1:%d", base + CONSOLE_OFFSET);
	snprintf(words, sizeof(words), "%s", line);
	char *argv[8] = { (char *)ctl_exe, address };
	int n = 2;
	for (char *w = strtok(words, " "); w && n < 7; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	struct proc p = { .label = "wisp-ctl" };
	int code = proc_start(&p, argv, NULL) == 0 ? proc_wait(&p, CTL_MS) : -1;
	char *out = proc_output(&p, 0);
	if ((code == 0) != want_ok) {
		char *err = proc_output(&p, 1);
		fprintf(stderr, "wisp-ctl %s: exit %d\n%s%s", line, code, out, err);
		free(err);
		free(out);
		out = NULL;
		test_failures++;
	}
	proc_cleanup(&p);
	return out;
}

/* The slow call, once, with its path in order; the fast one not. */
static void check_slow(const char *id, const char *fast_id)
{
	char want[64];
	snprintf(want, sizeof(want), "trace %s: ", id);
	CHECK(proc_wait_log(game1, "slow call to slowdb@db", want, ASK_MS));
	CHECK_INT(proc_log_count(game1, "slow call to"), 1);
	char *out = proc_output(game1, 0);
	const char *line = strstr(out, "slow call to slowdb@db");
	const char *gate = line ? strstr(line, "net gate ") : NULL;
	const char *room = gate ? strstr(gate, " > game1 room ") : NULL;
	const char *slow = room ? strstr(room, " > db slowdb ") : NULL;
	const char *end = line ? strchr(line, '\n') : NULL;
	if (!slow || slow > end)
		fprintf(stderr, "slow call line without its path: %.*s\n",
			line && end ? (int)(end - line) : 0, line ? line : "");
	CHECK(slow && slow < end);
	snprintf(want, sizeof(want), "trace %s", fast_id);
	CHECK(!proc_log_has(game1, "slow call", want));
	free(out);
}

static void check_ctl_trace(const char *id)
{
	char line[64];
	snprintf(line, sizeof(line), "trace %s", id);
	free(ctl("trace", 0)); /* no ID: an error */
	char *out = ctl(line, 1);
	if (out == NULL)
		return;
	const char *want[] = { "net gate ", " INFO  game1 lua:", " INFO  db lua:",
		"DEBUG net gate:", "room asks slowdb for k1", "slowdb found k1",
		"SPAN  db slowdb:", "SPAN  game1 room:", "SPAN  net gate:" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(out, want[i])) {
			fprintf(stderr, "wisp-ctl trace: no \"%s\" in:\n%s\n", want[i], out);
			test_failures++;
		}
	/* in time order: the room asked before slowdb found */
	const char *asked = strstr(out, "room asks"), *found = strstr(out,
		"slowdb found");
	CHECK(asked && found && asked < found);
	free(out);
}

static void run(void)
{
	if (start_node(net, "net", "gate listening for clients") < 0
		|| start_node(game1, "game1", "READY room") < 0
		|| start_node(db, "db", "READY slowdb") < 0)
		return;
	struct wisp_cli *c = gate_connect(&proto, base + GATE_OFFSET, START_MS);
	char answer[64], id[ID_LEN + 1], fast_id[ID_LEN + 1], other[ID_LEN + 1];
	CHECK_INT(gate_ask(c, 1000, "k1", answer, sizeof(answer), ASK_MS), 0);
	CHECK_STR(answer, "value of k1");
	CHECK_INT(gate_ask(c, 1001, "k2", answer, sizeof(answer), ASK_MS), 0);
	CHECK_STR(answer, "k2");
	wisp_cli_free(c);
	trace_of(game1, "room asks slowdb for k1", id);
	trace_of(game1, "room answers k2 at once", fast_id);
	CHECK_INT((int)strlen(id), ID_LEN);
	CHECK_INT((int)strlen(fast_id), ID_LEN);
	CHECK(strcmp(id, fast_id) != 0);
	check_in(game1, "room got value of k1", id);
	check_in(db, "slowdb looks up k1", id);
	check_in(db, "slowdb found k1", id); /* after its sleep */
	check_in(net, "command 1000 from client", id);
	check_in(net, "command 1001 from client", fast_id);
	trace_of(db, "slowdb found k1", other);
	CHECK_STR(other, id);
	/* a line outside any trace is as it was */
	CHECK(proc_log_has(game1, "lua:", "READY room"));
	CHECK(!proc_log_has(game1, "trace=", "READY room"));
	check_slow(id, fast_id);
	check_ctl_trace(id);
	for (int i = 0; i < 3; i++)
		CHECK_INT(proc_stop_clean(&procs[i], 5000), 0);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_traces WISP WISP_CTL SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	ctl_exe = argv[2];
	snprintf(conf, sizeof(conf), "%s/test/traces/cluster.lua", argv[3]);
	base = free_port_run(PORTS);
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	proc_guard(procs, 3, 100);
	run();
	proc_finish(procs, 3, test_failures > 0);
	return TEST_END();
}
