/* test_console.c: operating a running cluster (test/console/cluster.lua):
 * a root with the console, a game node with a Lua service, a net node with
 * a gate and the metrics endpoint, each a real wisp process on loopback,
 * driven with build/tools/wisp-ctl through the root's console and with
 * HTTP scrapes of the net node. Listings must name what runs, the gate
 * must count the clients the test opens, services started and killed
 * must come and go, a log level set must show in the node's log, a wrong
 * token must be refused, and the metrics must be Prometheus' text format
 * and grow with the frames the test sends. Every wait is bounded. */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

/* ports from the base: 3 harbors, the gate, root's console, net's metrics */
#define PORTS 6
enum { GATE = 3, CONSOLE = 4, METRICS = 5 };
#define TOKEN "the console's token"
#define START_MS 20000
#define CTL_MS 30000
#define WAIT_MS 10000
#define CLIENTS 3
#define ECHO 1000
#define FRAMES 5 /* echoes each client sends between two scrapes */

struct reply {
	int code;
	char *out, *err;
};

static const char *wisp_exe, *ctl_exe;
static char conf[512], port_base[64];
static int base;
static struct proc nodes[3]; /* root, game, net */
static struct proc *const root = &nodes[0], *const game = &nodes[1];
static struct proc *const net = &nodes[2];
static struct wisp_cli *clients[CLIENTS];
static const struct wisp_client_proto proto = {
	.magic = { 'W', 'I', 'S', 'P' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 65536,
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int start_node(struct proc *p, const char *name)
{
	char *args[] = { (char *)wisp_exe, conf, (char *)name, NULL };
	char *env[] = { port_base, NULL };
	p->label = name;
	return proc_start(p, args, env);
}

/* ---- wisp-ctl ---- */

static void reply_free(struct reply *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Runs wisp-ctl at port with the environment entry env (or NULL), the
 * options ("@" stands for the address), then the words of line; its exit
 * code and output in *r. */
static void ctl_at(struct reply *r, int port, char *env, const char *opts,
	const char *line)
{
	char *envs[] = { env, NULL };
	char *argv[64], words[1024], address[32];
	int n = 0;
	argv[n++] = (char *)ctl_exe;
	snprintf(words, sizeof(words), "%s %s", opts ? opts : "", line);
	snprintf(address, sizeof(address), "127.0.0.1:%d", port);
	for (char *w = strtok(words, " "); w && n < 60; w = strtok(NULL, " ")) {
		if (strcmp(w, "@") == 0) /* the address goes where @ is */
			w = address;
		argv[n++] = w;
	}
	argv[n] = NULL;
	struct proc p = { .label = "wisp-ctl" };
	r->code = proc_start(&p, argv, envs) == 0 ? proc_wait(&p, CTL_MS) : -1;
	r->out = proc_output(&p, 0);
	r->err = proc_output(&p, 1);
	proc_cleanup(&p);
}

/* The usual case: the root's console, with the token from the
 * environment (it has blanks: as wisp-ctl's argument it would be split
 * here). */
static void ctl(struct reply *r, const char *line)
{
	static char env[] = "WISP_CONSOLE_TOKEN=" TOKEN;
	ctl_at(r, base + CONSOLE, env, "@", line);
}

/* ctl that must succeed: its stdout, or NULL (the failure said). */
static char *ctl_ok(struct reply *r, const char *line)
{
	ctl(r, line);
	if (r->code == 0)
		return r->out;
	fprintf(stderr, "wisp-ctl %s: exit %d\nstdout:\n%s\nstderr:\n%s\n", line,
		r->code, r->out, r->err);
	test_failures++;
	return NULL;
}

/* The line of text whose first word is word, copied into line. */
static int find_row(const char *text, const char *word, char *line,
	size_t size)
{
	size_t n = strlen(word);
	for (const char *at = text; at && *at; at = strchr(at, '\n')) {
		at += *at == '\n';
		if (strncmp(at, word, n) == 0 && (at[n] == ' ' || at[n] == '\n')) {
			size_t len = strcspn(at, "\n");
			snprintf(line, size, "%.*s", (int)len, at);
			return 1;
		}
	}
	return 0;
}

/* ---- the steps ---- */

/* Each node, as the root lists it: up, with its roles. */
static int all_up(const char *out)
{
	static const char *const names[] = { "root", "net", "game" };
	char row[256], name[64], roles[64], up[8];
	int id;
	for (int i = 0; i < 3; i++)
		if (!find_row(out, names[i], row, sizeof(row))
			|| sscanf(row, "%63s %d %63s %7s", name, &id, roles, up) != 4
			|| strcmp(up, "yes") != 0)
			return 0;
	return 1;
}

static void check_nodes(void)
{
	struct reply r = { 0 };
	long long until = now_ms() + START_MS;
	int up = 0;
	while (!up && now_ms() < until) {
		reply_free(&r);
		ctl(&r, "nodes");
		up = r.code == 0 && all_up(r.out);
		if (!up)
			usleep(100000);
	}
	if (!up)
		fprintf(stderr, "nodes never showed all up:\n%s%s\n", r.out, r.err);
	CHECK(up);
	CHECK(strstr(r.out, "net    2  net") != NULL);
	reply_free(&r);
	const char *json = ctl_ok(&r, "nodes --json");
	if (json) {
		CHECK(json[0] == '{');
		CHECK(strstr(json, "\"name\":\"root\"") != NULL);
		CHECK(strstr(json, "\"name\":\"net\"") != NULL);
		CHECK(strstr(json, "\"name\":\"game\"") != NULL);
		CHECK(strstr(json, "\"roles\":[\"net\"]") != NULL);
		CHECK(strstr(json, "\"up\":false") == NULL);
	}
	reply_free(&r);
}

/* The game node's services, asked of the root's console. */
static void check_services(void)
{
	struct reply r = { 0 };
	char row[256];
	const char *out = ctl_ok(&r, "services game");
	if (out) {
		CHECK(strncmp(out, "ADDRESS ", 8) == 0);
		CHECK(find_row(out, ":00c00004", row, sizeof(row)));
		CHECK(strstr(row, "room") != NULL);
		CHECK(strstr(out, "console.service") != NULL);
		CHECK(strstr(out, "logger") != NULL);
		CHECK(strstr(out, "wisp.harbor") != NULL);
	}
	reply_free(&r);
	out = ctl_ok(&r, "services all");
	if (out) {
		const char *in_net = strstr(out, "== net ==");
		const char *in_game = strstr(out, "== game ==");
		CHECK(strstr(out, "== root ==") != NULL);
		CHECK(in_net && in_game);
		CHECK(in_net && in_game && strstr(in_net, " gate ") < in_game);
		CHECK(in_game && strstr(in_game, " room ") != NULL);
	}
	reply_free(&r);
	ctl(&r, "services nosuch");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "no node named 'nosuch'") != NULL);
	reply_free(&r);
}

static void open_clients(void)
{
	for (int i = 0; i < CLIENTS; i++) {
		clients[i] = wisp_cli_new(&proto);
		if (wisp_cli_connect(clients[i], "127.0.0.1", base + GATE,
				WAIT_MS) < 0) {
			fprintf(stderr, "client %d: %s\n", i, wisp_cli_error(clients[i]));
			test_failures++;
		}
	}
}

/* The value on the line of gate's text reply that starts with key. */
static long gate_count(const char *out, const char *key)
{
	char row[128], name[64];
	long value = -1;
	if (find_row(out, key, row, sizeof(row)))
		sscanf(row, "%63s %ld", name, &value);
	return value;
}

/* The gate counts the clients once it has accepted them. */
static void check_gate(void)
{
	struct reply r = { 0 };
	long conns = -1;
	open_clients();
	for (long long until = now_ms() + WAIT_MS; now_ms() < until;) {
		reply_free(&r);
		if (ctl_ok(&r, "gate net") == NULL)
			break;
		if ((conns = gate_count(r.out, "connections")) == CLIENTS)
			break;
		usleep(50000);
	}
	CHECK_INT(conns, CLIENTS);
	CHECK_INT(gate_count(r.out, "accepted"), CLIENTS);
	reply_free(&r);
	const char *json = ctl_ok(&r, "gate net --json");
	CHECK(json && strstr(json, "\"connections\":3") && strstr(json,
		"\"node\":\"net\""));
	reply_free(&r);
	ctl(&r, "gate"); /* the root has none */
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "node root has no gate") != NULL);
	reply_free(&r);
}

/* The address wisp-ctl says it started, e.g. ":00c00005". */
static int started_address(const char *out, char *address)
{
	return out && sscanf(out, "started %10s (idle)", address) == 1
		&& address[0] == ':';
}

static void check_start_kill(void)
{
	struct reply r = { 0 };
	char address[16] = "", row[256], line[64];
	if (!started_address(ctl_ok(&r, "start game idle"), address)) {
		fprintf(stderr, "start said: %s\n", r.out);
		test_failures++;
		reply_free(&r);
		return;
	}
	reply_free(&r);
	const char *out = ctl_ok(&r, "services game");
	CHECK(out && find_row(out, address, row, sizeof(row)));
	CHECK(strstr(row, "idle") != NULL);
	reply_free(&r);
	snprintf(line, sizeof(line), "kill game %s", address);
	out = ctl_ok(&r, line);
	CHECK(out && strncmp(out, "killed ", 7) == 0);
	reply_free(&r);
	out = ctl_ok(&r, "services game");
	CHECK(out && !find_row(out, address, row, sizeof(row)));
	CHECK(out && strstr(out, " room ") != NULL);
	reply_free(&r);
	ctl(&r, "kill game console");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "it is the console") != NULL);
	reply_free(&r);
	ctl(&r, "start game no_such_module");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "no_such_module") != NULL);
	reply_free(&r);
}

/* The game node's console logs each command it runs at debug: nothing
 * shows at info, then it does. */
static void check_log_level(void)
{
	struct reply r = { 0 };
	ctl_ok(&r, "services game");
	reply_free(&r);
	char *log = proc_output(game, 0);
	CHECK(strstr(log, " DEBUG ") == NULL);
	free(log);
	const char *out = ctl_ok(&r, "log game debug");
	CHECK(out && strcmp(out, "log level debug (was info)\n") == 0);
	reply_free(&r);
	ctl_ok(&r, "gc game");
	reply_free(&r);
	if (!proc_wait_output(game, "DEBUG game", WAIT_MS)) {
		fprintf(stderr, "no debug line in game's log\n");
		test_failures++;
	}
	CHECK(proc_wait_output(game, "console: gc", WAIT_MS));
	out = ctl_ok(&r, "log all");
	CHECK(out && strstr(out, "== game ==\nlog level debug") != NULL);
	CHECK(out && strstr(out, "== net ==\nlog level info") != NULL);
	reply_free(&r);
	ctl(&r, "log game loud");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "unknown log level 'loud'") != NULL);
	reply_free(&r);
}

/* A hot update through the console: every Lua service of the game node
 * that is not the runtime's (room) is reloaded; room registers its
 * handlers inside wisp.start, so the reload says it replaced none. A
 * service whose update fails (once) makes the reply an error, exit 1,
 * with the other results shown; a named script that runs nowhere is an
 * error. test_hot_update covers what a reload does. */
static void check_reload(void)
{
	struct reply r = { 0 };
	const char *out = ctl_ok(&r, "reload game");
	CHECK(out && strstr(out, "reloaded room, but no handler was replaced")
		!= NULL);
	CHECK(out && strstr(out, "console.service") == NULL);
	reply_free(&r);
	out = ctl_ok(&r, "--json reload all room");
	CHECK(out && strstr(out, "\"result\":\"reloaded room, but no handler")
		!= NULL);
	reply_free(&r);
	CHECK(proc_wait_output(game, "hot update of room replaced no handler",
		WAIT_MS));
	char address[16] = "", line[64];
	out = ctl_ok(&r, "start game once");
	CHECK(out && sscanf(out, "started %10s (once)", address) == 1);
	reply_free(&r);
	ctl(&r, "reload game");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "reload: 1 failed") != NULL);
	CHECK(strstr(r.err, "once.lua refuses a hot update") != NULL);
	CHECK(strstr(r.err, "reloaded room") != NULL); /* the rest shown */
	reply_free(&r);
	snprintf(line, sizeof(line), "kill game %s", address);
	ctl_ok(&r, line);
	reply_free(&r);
	ctl(&r, "reload game no_such_script");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "no_such_script") != NULL);
	reply_free(&r);
}

static void check_token(void)
{
	struct reply r = { 0 };
	ctl_at(&r, base + CONSOLE, NULL, "--token wrong @", "nodes");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "wrong token") != NULL);
	CHECK_STR(r.out, "");
	reply_free(&r);
	ctl_at(&r, base + CONSOLE, NULL, "@", "nodes");
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "authentication required") != NULL);
	CHECK_STR(r.out, "");
	reply_free(&r);
	/* nothing listens there */
	ctl_at(&r, base + METRICS + 1, NULL, "--token x @", "nodes");
	CHECK_INT(r.code, 2);
	CHECK(strstr(r.err, "cannot connect") != NULL);
	reply_free(&r);
}

/* ---- metrics ---- */

/* GET path from the net node's metrics: the whole response, malloc'd. */
static char *http_get(const char *path, const char *auth)
{
	char request[512];
	int fd = tcp_connect(base + METRICS, WAIT_MS);
	if (fd < 0)
		return strdup("");
	int n = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\n"
		"Host: test\r\n%s%s%s\r\n", path, auth ? "Authorization: " : "",
		auth ? auth : "", auth ? "\r\n" : "");
	tcp_write_all(fd, request, (size_t)n);
	size_t size = 0, cap = 1 << 16;
	char *text = malloc(cap);
	long long until = now_ms() + WAIT_MS;
	struct pollfd p = { fd, POLLIN, 0 };
	while (now_ms() < until && poll(&p, 1, 100) >= 0) {
		if (size + 4096 > cap)
			text = realloc(text, cap *= 2);
		ssize_t got = p.revents ? read(fd, text + size, cap - size - 1) : 1;
		if (got <= 0)
			break;
		size += p.revents ? (size_t)got : 0;
	}
	close(fd);
	text[size] = '\0';
	return text;
}

static const char *body_of(const char *response)
{
	const char *at = strstr(response, "\r\n\r\n");
	return at ? at + 4 : "";
}

/* A sample line, "name[{labels}] value": its family must be among the
 * names in types (" a b "), its value a number. */
static int sample_ok(const char *line, size_t len, const char *types)
{
	char name[130], *end;
	size_t n = strcspn(line, "{ ");
	if (n == 0 || n > 120 || n >= len)
		return 0;
	name[0] = ' ';
	memcpy(name + 1, line, n);
	memcpy(name + n + 1, " ", 2);
	const char *rest = line + n;
	if (*rest == '{' && (rest = memchr(rest, '}', len - n)) != NULL)
		rest++;
	if (rest == NULL || *rest != ' ' || strstr(types, name) == NULL)
		return 0;
	strtod(rest + 1, &end);
	return end > rest + 1 && end == line + len;
}

/* Adds " name" and, for a histogram, its samples' names to types. */
static void add_type(char *types, size_t size, const char *name,
	const char *kind)
{
	static const char *const histogram[] = { "_bucket", "_sum", "_count" };
	int parts = strcmp(kind, "histogram") == 0 ? 3 : 0;
	size_t len = strlen(types);
	len += (size_t)snprintf(types + len, size - len, "%s ", name);
	for (int i = 0; i < parts && len < size; i++)
		len += (size_t)snprintf(types + len, size - len, "%s%s ", name,
			histogram[i]);
}

/* Every line is a comment or a sample of a family typed before it. */
static int prometheus_text(const char *body)
{
	char types[16384] = " ";
	for (const char *line = body; *line;) {
		size_t len = strcspn(line, "\n");
		char name[128], kind[32];
		if (strncmp(line, "# TYPE ", 7) == 0
			&& sscanf(line + 7, "%127s %31s", name, kind) == 2
			&& strlen(types) + 4 * strlen(name) + 32 < sizeof(types)) {
			add_type(types, sizeof(types), name, kind);
		} else if (line[0] != '#' && !sample_ok(line, len, types)) {
			fprintf(stderr, "not a sample of a typed family: %.*s\n",
				(int)len, line);
			return 0;
		}
		line += len + (line[len] == '\n');
	}
	return 1;
}

/* The value of the sample written exactly as sample, or -1. */
static double sample_value(const char *body, const char *sample)
{
	char want[256];
	snprintf(want, sizeof(want), "\n%s ", sample);
	const char *at = strstr(body, want);
	return at ? atof(at + strlen(want)) : -1;
}

struct scrape {
	double frames_in, frames_out, messages;
	double cpu, rss, fds, start; /* the process_* of the net node */
};

static struct scrape scrape(void)
{
	struct scrape s = { -1, -1, -1, -1, -1, -1, -1 };
	char *response = http_get("/metrics", "Bearer " TOKEN);
	const char *body = body_of(response);
	CHECK(strncmp(response, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(response, "\r\nContent-Type: text/plain; version=0.0.4")
		!= NULL);
	CHECK(strstr(response, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(body, "# TYPE wisp_gate_frames_total counter\n") != NULL);
	CHECK(strstr(body, "# HELP wisp_messages_total ") != NULL);
	CHECK(strstr(body, "\nwisp_harbor_link_up{node=\"root\"} 1\n") != NULL);
	CHECK(strstr(body, "\nwisp_gate_connections 3\n") != NULL);
	CHECK(strstr(body, "wisp_service_messages_total{service=\"gate\"")
		!= NULL);
	CHECK(strstr(body, "wisp_db_") == NULL); /* net has no db role */
	CHECK(prometheus_text(body));
	s.frames_in = sample_value(body, "wisp_gate_frames_total{direction=\"in\"}");
	s.frames_out = sample_value(body,
		"wisp_gate_frames_total{direction=\"out\"}");
	s.messages = sample_value(body, "wisp_messages_total");
	s.cpu = sample_value(body, "process_cpu_seconds_total");
	s.rss = sample_value(body, "process_resident_memory_bytes");
	s.fds = sample_value(body, "process_open_fds");
	s.start = sample_value(body, "process_start_time_seconds");
	if (test_failures)
		fprintf(stderr, "the scrape:\n%s\n", response);
	free(response);
	return s;
}

/* FRAMES echoes from each client, each answered. */
static void send_frames(void)
{
	for (int i = 0; i < CLIENTS; i++)
		for (int k = 0; k < FRAMES; k++) {
			struct wisp_client_frame f;
			int ok = wisp_cli_send(clients[i], ECHO, "hello", 5, WAIT_MS) == 0
				&& wisp_cli_recv(clients[i], &f, WAIT_MS) == 1
				&& f.command == ECHO && f.size == 5;
			if (!ok) {
				fprintf(stderr, "client %d: no echo: %s\n", i,
					wisp_cli_error(clients[i]));
				test_failures++;
				return;
			}
		}
}

static void check_metrics(void)
{
	struct scrape before = scrape();
	CHECK(before.frames_in >= 0 && before.messages > 0);
	send_frames();
	struct scrape after = scrape();
	CHECK(after.frames_in >= before.frames_in + CLIENTS * FRAMES);
	CHECK(after.frames_out >= before.frames_out + CLIENTS * FRAMES);
	CHECK(after.messages >= before.messages + CLIENTS * FRAMES);
	/* the process: CPU only grows, a node holds megabytes and more fds
	 * than its clients, and it started within the last hour */
	CHECK(before.cpu > 0 && after.cpu >= before.cpu);
	CHECK(after.rss > 1e6 && after.rss < 1e10);
	CHECK(after.fds >= CLIENTS + 3);
	double now = (double)time(NULL);
	CHECK(after.start > now - 3600 && after.start <= now + 1);
	char *response = http_get("/other", "Bearer " TOKEN);
	CHECK(strncmp(response, "HTTP/1.1 404 ", 13) == 0);
	free(response);
	response = http_get("/metrics", NULL);
	CHECK(strncmp(response, "HTTP/1.1 401 ", 13) == 0);
	CHECK(strstr(response, "wisp_") == NULL);
	free(response);
}

/* ---- wisp-ctl top, in a terminal (tmux) ---- */

static char tmux_socket[64];

/* tmux (WISP_TMUX, as meson found it) on the test's own server, the
 * words of args after "tmux -L S": its stdout, malloc'd, and its exit
 * code in *code. */
static char *tmux_out(const char *const *args, int *code)
{
	char *argv[24] = { getenv("WISP_TMUX"), "-L", tmux_socket };
	int n = 3;
	for (; args[n - 3] && n < 23; n++)
		argv[n] = (char *)args[n - 3];
	argv[n] = NULL;
	struct proc p = { .label = "tmux" };
	*code = proc_start(&p, argv, NULL) == 0 ? proc_wait(&p, CTL_MS) : -1;
	char *out = proc_output(&p, 0);
	proc_cleanup(&p);
	return out;
}

static int tmux(const char *const *args)
{
	int code;
	free(tmux_out(args, &code));
	return code;
}

static char *pane(void)
{
	static const char *const args[] = { "capture-pane", "-p", "-t", "top",
		NULL };
	int code;
	return tmux_out(args, &code);
}

/* The msg/s of room in a view of top, or -1 when it shows no room. */
static long room_rate(const char *view)
{
	char row[256];
	long rate = -1;
	const char *at = strstr(view, "node game ");
	if (at && find_row(at, ":00c00004", row, sizeof(row)))
		sscanf(row, "%*s room room %ld", &rate);
	return rate;
}

/* top all in a 160x50 terminal: every node's view, refreshed each second
 * (its clock moves), room's messages/s above 0 while clients talk to it,
 * and q ends it. */
static void check_top(void)
{
	char address[32], token[64], *view = NULL, first[64] = "";
	if (getenv("WISP_TMUX") == NULL) {
		fprintf(stderr, "top: not checked, no tmux (tools/setup.sh --tests "
			"installs it)\n");
		return;
	}
	snprintf(tmux_socket, sizeof(tmux_socket), "wisp-top-%d", (int)getpid());
	snprintf(address, sizeof(address), "127.0.0.1:%d", base + CONSOLE);
	snprintf(token, sizeof(token), "WISP_CONSOLE_TOKEN=%s", TOKEN);
	const char *const start[] = { "new-session", "-d", "-s", "top", "-x",
		"160", "-y", "50", "-e", token, ctl_exe, address, "top", NULL };
	CHECK_INT(tmux(start), 0);
	int refreshed = 0, busy = 0;
	for (int i = 0; i < 100 && !(refreshed && busy); i++) {
		send_frames();
		free(view);
		view = pane();
		const char *clock = strstr(view, "q quits  ");
		if (clock && strstr(view, "node root ") && strstr(view, "node net ")
				&& strstr(view, "node game ")) {
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%.8s", clock + 9);
			else
				refreshed |= strncmp(first, clock + 9, 8) != 0;
			busy |= room_rate(view) > 0;
		}
		usleep(100000);
	}
	CHECK(refreshed);
	CHECK(busy);
	CHECK(strstr(view, "ADDRESS") && strstr(view, "MSG/S")
		&& strstr(view, "cpu ") && strstr(view, "rss "));
	if (!(refreshed && busy))
		fprintf(stderr, "the last view of top:\n%s\n", view);
	free(view);
	const char *const quit[] = { "send-keys", "-t", "top", "q", NULL };
	CHECK_INT(tmux(quit), 0);
	const char *const alive[] = { "has-session", "-t", "top", NULL };
	int gone = 0;
	for (int i = 0; i < 50 && !gone; i++, usleep(100000))
		gone = tmux(alive) != 0;
	CHECK(gone); /* q ended wisp-ctl, and with it the session */
	const char *const kill_all[] = { "kill-server", NULL };
	tmux(kill_all);
}

/* Bytes from the network are whatever anyone sends: random bytes, lines
 * past the cap, a request head that never ends, to both the console and
 * the metrics port. Each such connection ends without harm to the node:
 * it keeps serving both, and no handler fails on the bad input. */
static void send_garbage(int port, unsigned seed)
{
	char junk[16384];
	for (int c = 0; c < 40; c++) {
		int fd = tcp_connect(port, WAIT_MS);
		if (fd < 0) {
			test_failures++;
			return;
		}
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (char)(seed >> 16);
			if (c % 4 == 1) /* printable, with a newline now and then */
				junk[i] = (seed >> 24) % 50 ? 'A' + (char)((seed >> 16) % 26)
					: '\n';
			else if (c % 4 == 2) /* one line far past any cap */
				junk[i] = 'x';
		}
		tcp_write_all(fd, junk, c % 4 == 3 ? 100 : sizeof(junk));
		close(fd);
	}
}

/* The console serves at most 32 sessions at once and says it is busy
 * beyond: the garbage sessions may still be ending when the first
 * command comes, but they end, and then the console answers. */
static void check_garbage(void)
{
	send_garbage(base + CONSOLE, 7);
	send_garbage(base + METRICS, 11);
	struct reply r = { 0 };
	long long until = now_ms() + WAIT_MS;
	for (;;) {
		ctl(&r, "nodes");
		if (r.code == 0 || now_ms() > until || !strstr(r.err, "busy"))
			break;
		reply_free(&r);
		usleep(50000);
	}
	CHECK_INT(r.code, 0);
	CHECK(all_up(r.out));
	reply_free(&r);
	char *response = http_get("/metrics", "Bearer " TOKEN);
	CHECK(strncmp(response, "HTTP/1.1 200 ", 13) == 0);
	free(response);
	for (int i = 0; i < 3; i++) {
		CHECK(nodes[i].running);
		char *log = proc_output(&nodes[i], 0);
		if (strstr(log, " ERROR ")) {
			fprintf(stderr, "%s logged an error on bad input:\n%s\n",
				nodes[i].label, log);
			test_failures++;
		}
		free(log);
	}
}

/* Stopped through the console, the net node ends by itself, exit 0. */
static void check_stop(void)
{
	struct reply r = { 0 };
	const char *out = ctl_ok(&r, "stop net");
	CHECK(out && strcmp(out, "stopping net\n") == 0);
	reply_free(&r);
	CHECK_INT(proc_wait(net, WAIT_MS), 0);
	/* the root may take a moment to see it go */
	for (long long until = now_ms() + WAIT_MS; now_ms() < until;) {
		reply_free(&r);
		ctl(&r, "services net");
		if (r.code != 0)
			break;
		usleep(100000);
	}
	CHECK_INT(r.code, 1);
	CHECK(strstr(r.err, "node net is down") != NULL);
	reply_free(&r);
}

static void run_steps(void)
{
	static const struct test_step steps[] = {
		{ "nodes", check_nodes }, { "services", check_services },
		{ "gate", check_gate }, { "start and kill", check_start_kill },
		{ "log level", check_log_level }, { "reload", check_reload },
		{ "token", check_token },
		{ "metrics", check_metrics }, { "top", check_top },
		{ "garbage", check_garbage },
		{ "stop", check_stop },
	};
	RUN_STEPS(steps);
}

/* Whatever is still running stops on SIGTERM: exit 0, nothing on stderr. */
static void stop_cluster(void)
{
	for (int i = 3; i-- > 0;) {
		if (nodes[i].running)
			CHECK_INT(proc_stop_clean(&nodes[i], WAIT_MS), 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_console WISP WISP_CTL SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	ctl_exe = argv[2];
	snprintf(conf, sizeof(conf), "%s/test/console/cluster.lua", argv[3]);
	unsetenv("WISP_CONSOLE_TOKEN"); /* each run says which token it sends */
	base = free_port_run(PORTS + 1); /* one more: where nothing listens */
	CHECK(base > 0);
	snprintf(port_base, sizeof(port_base), "WISP_PORT_BASE=%d", base);
	proc_guard(nodes, 3, 110); /* under meson's timeout of 120 s */
	if (base > 0 && start_node(root, "root") == 0
		&& start_node(game, "game") == 0 && start_node(net, "net") == 0)
		run_steps();
	for (int i = 0; i < CLIENTS; i++)
		if (clients[i])
			wisp_cli_free(clients[i]);
	stop_cluster();
	proc_kill_all();
	if (test_failures)
		for (int i = 0; i < 3; i++)
			proc_dump(&nodes[i]);
	for (int i = 0; i < 3; i++)
		proc_cleanup(&nodes[i]);
	return TEST_END();
}
