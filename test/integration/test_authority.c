/* test_authority.c: authority is checked, not assumed (test/authority/):
 * a root, game1, game2 and peer, each a real wisp process on loopback
 * with a fresh secret. peer is a node of the cluster but not a root: its
 * directory commands to game1 and the root (usurper.c) and its console
 * requests to game1's console, without the token or not from a console
 * (peer_cases.lua), must be refused, logged (within the log's flood
 * control) and change nothing, while the operators' own path (wisp-ctl
 * through the root's console) still works. Then the listeners: 40 idle
 * connections to game1's console and to its metrics keep neither
 * wisp-ctl nor a scrape out, each is closed with a reason, an idle one
 * at the deadline (console_auth_timeout), and an authenticated session
 * is not. Every wait is bounded. */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define PORTS 7 /* 4 harbors, the root's console, game1's console, metrics */
enum { ROOT_CONSOLE = 4, GAME1_CONSOLE = 5, GAME1_METRICS = 6 };
#define NODES 4
#define TOKEN "the authority test's console token"
#define AUTH_MS 2000     /* console_auth_timeout in the config */
#define IDLE 40          /* idle connections at once */
#define WAITING 8        /* the pool of those not yet authenticated */
#define WAIT_MS 20000
#define CTL_MS 30000
#define FLOOD_LINES 100  /* refusals a flood may log: bursts and a few/s */

static const char *wisp_exe, *ctl_exe;
static char conf[512], port_base[64], modules[600], secret[96], gate_env[160];
static char gate[128];
static int base;
static struct proc nodes[NODES]; /* root, game1, game2, peer */
static struct proc *const root = &nodes[0], *const game1 = &nodes[1];
static struct proc *const peer = &nodes[3];
static const char *const names[NODES] = { "root", "game1", "game2", "peer" };

/* A secret of 64 hex digits from /dev/urandom, as a run's own. */
static int make_secret(void)
{
	unsigned char raw[32];
	int fd = open("/dev/urandom", O_RDONLY);
	int ok = fd >= 0 && read(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw);
	if (fd >= 0)
		close(fd);
	int n = snprintf(secret, sizeof(secret), "WISP_SECRET=");
	for (size_t i = 0; i < sizeof(raw); i++)
		n += snprintf(secret + n, sizeof(secret) - (size_t)n, "%02x", raw[i]);
	return ok ? 0 : -1;
}

static int start_node(int i)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)names[i], NULL };
	char *env[] = { port_base, modules, secret, gate_env, NULL };
	nodes[i].label = names[i];
	return proc_start(&nodes[i], args, env);
}

/* ---- wisp-ctl ---- */

struct reply {
	int code;
	char *out, *err;
};

static void reply_free(struct reply *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* wisp-ctl at port, with the token, running the words of line. */
static void ctl(struct reply *r, int port, const char *line)
{
	static char env_token[] = "WISP_CONSOLE_TOKEN=" TOKEN;
	char *envs[] = { env_token, NULL };
	char *argv[16], words[256], address[32];
	int n = 0;
	snprintf(address, sizeof(address), "127.0.0.1:%d", port);
	snprintf(words, sizeof(words), "%s", line);
	argv[n++] = (char *)ctl_exe;
	argv[n++] = address;
	for (char *w = strtok(words, " "); w && n < 15; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	struct proc p = { .label = "wisp-ctl" };
	r->code = proc_start(&p, argv, envs) == 0 ? proc_wait(&p, CTL_MS) : -1;
	r->out = proc_output(&p, 0);
	r->err = proc_output(&p, 1);
	proc_cleanup(&p);
}

/* ctl that must succeed and print want: 1, or 0 (said). */
static int ctl_says(int port, const char *line, const char *want)
{
	struct reply r = { 0 };
	ctl(&r, port, line);
	int ok = r.code == 0 && strstr(r.out, want) != NULL;
	if (!ok) {
		fprintf(stderr, "wisp-ctl %s: exit %d, want \"%s\"\nstdout:\n%s\n"
			"stderr:\n%s\n", line, r.code, want, r.out, r.err);
		test_failures++;
	}
	reply_free(&r);
	return ok;
}

/* The row of node in a `nodes` listing: whether it says up. */
static int listed_up(const char *out, const char *node)
{
	char name[64], roles[64], up[8];
	int id;
	for (const char *at = out; at && *at; at = strchr(at + 1, '\n')) {
		at += *at == '\n';
		if (sscanf(at, "%63s %d %63s %7s", name, &id, roles, up) == 4
			&& strcmp(name, node) == 0)
			return strcmp(up, "yes") == 0;
	}
	return 0;
}

/* game1's own view of game2, asked of game1's console. */
static int game1_sees_game2_up(void)
{
	struct reply r = { 0 };
	ctl(&r, base + GAME1_CONSOLE, "nodes");
	int up = r.code == 0 && listed_up(r.out, "game2");
	if (!up)
		fprintf(stderr, "game1's nodes: exit %d\n%s%s\n", r.code, r.out, r.err);
	reply_free(&r);
	return up;
}

/* ---- the log ---- */

static void wait_logged(const struct proc *p, const char *a, const char *b)
{
	if (!proc_wait_log(p, a, b, WAIT_MS)) {
		fprintf(stderr, "%s: no line with \"%s\" and \"%s\"\n", p->label, a,
			b);
		test_failures++;
	}
}

/* Lines holding text stay few however many caused them (a flood of n),
 * and the log says how many it held back from place (the call site). */
static void flood_held(const struct proc *p, const char *text, int n,
	const char *place)
{
	wait_logged(p, " similar lines from ", place);
	int lines = proc_log_lines(p, text, "");
	if (lines < 1 || lines > FLOOD_LINES) {
		fprintf(stderr, "%s: %d lines with \"%s\" for %d sent\n", p->label,
			lines, text, n);
		test_failures++;
	}
}

/* ---- the steps ---- */

static void check_up(void)
{
	wait_logged(root, "console: operators on", "");
	wait_logged(game1, "console: metrics on", "");
	CHECK(ctl_says(base + ROOT_CONSOLE, "nodes", "game2"));
	CHECK(proc_wait_output(peer, "PEER FORGED", WAIT_MS * 2));
}

/* usurper.c's commands: each refused where it came, naming the sender
 * and the command; game1 still sees game2 up. */
static void check_directory(void)
{
	wait_logged(game1, "refused directory command 'down 3' from :01",
		"(node peer): not from the root this node joined");
	wait_logged(game1, "refused directory command 'unname holder'", "peer");
	wait_logged(game1, "refused directory command 'name holder 01",
		"(node peer)");
	wait_logged(game1, "refused directory command 'welcome'",
		"not from a root of the config");
	wait_logged(game1, "refused directory command 'register stolen'",
		"a claim goes to the root from the claimer's node");
	wait_logged(root, "refused directory command 'gone 00c", "(node peer): "
		"a node tells only of its own services");
	wait_logged(peer, "usurper: the claim got an error", "refused");
	flood_held(game1, "refused directory command 'down 3'", 1000,
		"\"refused directory command");
	CHECK(game1_sees_game2_up());
	CHECK(proc_gate_open(gate, "forged_checked") == 0);
}

/* peer_cases.lua's console requests: refused and logged; game1's log
 * level is what it was, and the operators' way still works. */
static void check_console(void)
{
	CHECK(proc_wait_output(peer, "PEER CONSOLE DONE", WAIT_MS));
	wait_logged(game1, "console: refused a request from :01", "(node peer): "
		"without the console token");
	wait_logged(game1, "console: refused a request from :01", "(node peer): "
		"not from the console of its node");
	flood_held(game1, "console: refused a request from", 500, "auth.lua:");
	CHECK(!proc_log_has(game1, " ERROR ", "")); /* refused, not failed */
	/* still running, at the level it had; the operators' way works */
	CHECK(ctl_says(base + GAME1_CONSOLE, "log game1", "log level info"));
	CHECK(ctl_says(base + ROOT_CONSOLE, "log game1", "log level info"));
	CHECK(ctl_says(base + ROOT_CONSOLE, "services game1", "probe"));
	CHECK(proc_gate_open(gate, "console_checked") == 0);
	CHECK_INT(proc_wait(peer, WAIT_MS), 0);
	CHECK(proc_output_at(peer, "lua tests: 3 passed, 0 failed") >= 0);
	char *err = proc_output(peer, 1);
	CHECK_STR(err, ""); /* no sanitizer report */
	free(err);
}

/* Everything fd gets until the peer closes it, within ms: its length, or
 * -1 if it stayed open. */
static int read_to_end(int fd, char *buf, size_t size, int ms)
{
	long long deadline = proc_now_ms() + ms;
	size_t got = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(deadline - proc_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = read(fd, buf + got, size - got - 1);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (int)got;
}

/* Opens IDLE connections to port that say nothing. */
static int open_idle(int port, int *fds)
{
	for (int i = 0; i < IDLE; i++)
		if ((fds[i] = tcp_connect(port, WAIT_MS)) < 0)
			return -1;
	return 0;
}

/* Each idle connection is closed with one of the two reasons; those past
 * the pool at once, for the newer ones. */
static void check_idle_closed(int *fds, const char *evicted,
	const char *expired)
{
	int pushed = 0, timed_out = 0;
	for (int i = 0; i < IDLE; i++) {
		char text[512];
		int n = read_to_end(fds[i], text, sizeof(text), AUTH_MS + WAIT_MS);
		close(fds[i]);
		pushed += n > 0 && strstr(text, evicted) != NULL;
		timed_out += n > 0 && strstr(text, expired) != NULL;
		if (n < 0)
			fprintf(stderr, "idle connection %d was not closed\n", i);
	}
	CHECK(pushed >= IDLE - WAITING);
	CHECK_INT(pushed + timed_out, IDLE);
}

static void check_console_lockout(void)
{
	int fds[IDLE];
	CHECK(open_idle(base + GAME1_CONSOLE, fds) == 0);
	CHECK(ctl_says(base + GAME1_CONSOLE, "nodes", "game2"));
	CHECK(ctl_says(base + ROOT_CONSOLE, "log game1", "log level info"));
	check_idle_closed(fds, "ERR busy: too many unauthenticated console "
		"connections\n.\n", "ERR not authenticated in time\n.\n");
	wait_logged(game1, "console: operators: 8 connections not yet "
		"authenticated (the limit)", "closed the oldest");
	wait_logged(game1, "console: operators: 127.0.0.1:",
		"not authenticated within 2000 ms (console_auth_timeout)");
}

/* One idle connection, alone: closed at the deadline, not before. */
static void check_deadline(void)
{
	char text[256];
	int fd = tcp_connect(base + GAME1_CONSOLE, WAIT_MS);
	long long start = proc_now_ms();
	int n = read_to_end(fd, text, sizeof(text), AUTH_MS + WAIT_MS);
	long long took = proc_now_ms() - start;
	close(fd);
	CHECK(n > 0 && strcmp(text, "ERR not authenticated in time\n.\n") == 0);
	if (took < AUTH_MS - 200 || took > AUTH_MS + WAIT_MS)
		fprintf(stderr, "closed after %lld ms, deadline %d\n", took, AUTH_MS);
	CHECK(took >= AUTH_MS - 200 && took <= AUTH_MS + WAIT_MS);
}

/* The reply to one console line on fd, up to the lone ".". */
static int console_line(int fd, const char *line, char *reply, size_t size)
{
	size_t got = 0;
	tcp_write_all(fd, line, strlen(line));
	while (got + 1 < size) {
		if (tcp_read_exact(fd, reply + got, 1, WAIT_MS) < 0)
			return -1;
		reply[++got] = '\0';
		if (got >= 2 && strcmp(reply + got - 2, ".\n") == 0
			&& (got == 2 || reply[got - 3] == '\n'))
			return 0;
	}
	return -1;
}

/* An operator who authenticated keeps the session past the deadline. */
static void check_authenticated_stays(void)
{
	char reply[8192];
	int fd = tcp_connect(base + GAME1_CONSOLE, WAIT_MS);
	CHECK(console_line(fd, "auth " TOKEN "\n", reply, sizeof(reply)) == 0);
	CHECK(strcmp(reply, "authenticated\n.\n") == 0);
	proc_sleep_ms(AUTH_MS + 1000);
	CHECK(console_line(fd, "log game1\n", reply, sizeof(reply)) == 0);
	CHECK(strstr(reply, "log level info") != NULL);
	close(fd);
}

/* A scrape, with the token: the response's status line, malloc'd. */
static char *scrape_status(void)
{
	char request[256], text[1 << 16];
	int fd = tcp_connect(base + GAME1_METRICS, WAIT_MS);
	int n = snprintf(request, sizeof(request), "GET /metrics HTTP/1.1\r\n"
		"Host: test\r\nAuthorization: Bearer " TOKEN "\r\n\r\n");
	tcp_write_all(fd, request, (size_t)n);
	n = read_to_end(fd, text, sizeof(text), WAIT_MS);
	close(fd);
	if (n < 0)
		return strdup("(no response)");
	text[strcspn(text, "\r\n")] = '\0';
	return strdup(text);
}

static void check_metrics_lockout(void)
{
	int fds[IDLE];
	CHECK(open_idle(base + GAME1_METRICS, fds) == 0);
	char *status = scrape_status();
	CHECK_STR(status, "HTTP/1.1 200 OK");
	free(status);
	check_idle_closed(fds, "HTTP/1.1 503 Service Unavailable\r\n",
		"HTTP/1.1 408 Request Timeout\r\n");
	wait_logged(game1, "console: metrics: 8 connections not yet "
		"authenticated (the limit)", "closed the oldest");
}

static void run_steps(void)
{
	static const struct test_step steps[] = {
		{ "up", check_up }, { "directory", check_directory },
		{ "console requests", check_console },
		{ "console lockout", check_console_lockout },
		{ "deadline", check_deadline },
		{ "authenticated stays", check_authenticated_stays },
		{ "metrics lockout", check_metrics_lockout },
	};
	RUN_STEPS(steps);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: test_authority WISP WISP_CTL SOURCE_ROOT "
			"USURPER_SO\n");
		return 2;
	}
	wisp_exe = argv[1];
	ctl_exe = argv[2];
	snprintf(conf, sizeof(conf), "%s/test/authority/cluster.lua", argv[3]);
	snprintf(modules, sizeof(modules), "WISP_TEST_MODULES=%s",
		dirname(argv[4]));
	unsetenv("WISP_CONSOLE_TOKEN");
	base = free_port_run(PORTS);
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	CHECK(base > 0 && make_secret() == 0);
	CHECK(proc_gate_make(gate, sizeof(gate), "authority") == 0);
	snprintf(gate_env, sizeof(gate_env), "WISP_GATE=%s", gate);
	proc_guard(nodes, NODES, 170); /* under meson's timeout of 180 s */
	int started = !test_failures;
	for (int i = 0; started && i < NODES; i++)
		started = start_node(i) == 0;
	CHECK(started);
	if (started)
		run_steps();
	for (int i = 0; i < NODES; i++)
		if (nodes[i].running && &nodes[i] != peer)
			CHECK_INT(proc_stop_clean(&nodes[i], WAIT_MS), 0);
	proc_kill_all();
	proc_finish(nodes, NODES, test_failures != 0);
	proc_gate_remove(gate, "forged_checked");
	proc_gate_remove(gate, "console_checked");
	return TEST_END();
}
