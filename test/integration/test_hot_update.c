/* test_hot_update.c: hot update under load, on one net node
 * (test/hot_update/hot_update.lua). The game script and its module are
 * copied from test/hot_update/vN/ into a temp directory on the node's
 * lua path; 200 clients on epoll play command 1 (game: a kept count, one
 * request outstanding each) for the whole test, while another client asks
 * control (command 9) to reload game after each new version is written:
 * version 2 must take over with the count going on, a version that does
 * not compile (the script, then the module) or whose main chunk raises
 * must fail with its error and change nothing. No client may see an error
 * or a close, and the node must stop cleanly on SIGTERM. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"
#include "wisp_client.h"

enum { PLAY = 1, CONTROL = 9 }; /* client commands, as hot_update.lua routes */

#define PLAYERS 200
#define ROUNDS 50       /* fresh replies each player gets in every phase */
#define WAIT_MS 10000   /* the bound on any one wait for the node */
#define START_MS 30000  /* for the node to start, under the sanitizers too */
#define TEXT_MAX 1024
#define VERSIONS 8      /* a reply's version is below this */
#define FAILURES_MAX 100 /* past these, waiting for more is pointless */

static const struct wisp_client_proto proto = {
	.magic = { 'H', 'O', 'T', 'U' },
	.proto_version = 1,
	.server_version = 1,
	.max_body = 256,
};

static struct proc node;
static char source_root[512];
static char hot_dir[64];
static int port;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- the versions of the game's code ---- */

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int ok = in && out;
	while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "  cannot copy %s to %s: %s\n", from, to,
			strerror(errno));
	return ok ? 0 : -1;
}

/* Puts test/hot_update/VERSION/'s game.lua and game_util.lua in place. */
static void install(const char *version)
{
	static const char *const files[] = { "game.lua", "game_util.lua" };
	char from[1024], to[256];
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(from, sizeof from, "%s/test/hot_update/%s/%s", source_root,
			version, files[i]);
		snprintf(to, sizeof to, "%s/%s", hot_dir, files[i]);
		CHECK_INT(copy_file(from, to), 0);
	}
}

/* ---- the players: every reply checked as it comes ----
 * The game serves one request at a time, so its counts are a global
 * order: every count is given once, with no gap; a reply's count is above
 * every count the test had seen when it sent the request; and a version's
 * counts all come before the next version's. */

struct player {
	struct wisp_cli *cli;
	int waiting;         /* a request is out */
	int phase;           /* the phase it was sent in */
	int version_floor;   /* the version in force when it was sent */
	long long count_floor; /* the highest count seen when it was sent */
	int last_version;    /* of its last reply: never goes back */
	int fresh;           /* replies to requests of this phase */
	int dead;            /* it failed: out of the game */
};

static struct player players[PLAYERS];
static struct wisp_cli *controller; /* asks control for reloads */
static int ep = -1;
static int phase;          /* bumped when a phase starts */
static int version;        /* in force: every reply from now on has it */
static int pending;        /* a reload to this may be under way, or 0 */
static int draining;       /* no more requests: the end */
static long long max_count;
static uint8_t *seen;      /* seen[count]: 1 once a reply had it */
static long long seen_cap, replies;
static long long first_of[VERSIONS], last_of[VERSIONS]; /* their counts */
static int failures;       /* client errors, closes, bad replies */
static char control_answer[TEXT_MAX];
static int control_answered;

/* A client-side failure: counted, and the first few printed. i is the
 * player, or PLAYERS for the control connection. */
static void fail(int i, const char *fmt, ...)
{
	if (failures++ >= 10)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (i == PLAYERS)
		fprintf(stderr, "  control connection: ");
	else
		fprintf(stderr, "  player %d: ", i);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void watch(int fd, uint32_t events, int op, uint32_t id)
{
	struct epoll_event ev = { .events = events, .data.u32 = id };
	CHECK(epoll_ctl(ep, op, fd, &ev) == 0);
}

/* Takes a failed player out of the game (the failure is counted). */
static void drop(int i)
{
	struct player *p = &players[i];
	if (!p->dead)
		epoll_ctl(ep, EPOLL_CTL_DEL, wisp_cli_fd(p->cli), NULL);
	p->dead = 1;
	p->waiting = 0;
}

/* The next request of player i, written at once (or once its socket is
 * writable). */
static void play(int i)
{
	struct player *p = &players[i];
	p->waiting = 1;
	p->phase = phase;
	p->version_floor = version;
	p->count_floor = max_count;
	if (wisp_cli_queue(p->cli, PLAY, "play", 4) < 0) {
		fail(i, "queue: %s", wisp_cli_error(p->cli));
		drop(i);
		return;
	}
	int r = wisp_cli_flush(p->cli);
	if (r < 0) {
		fail(i, "write: %s", wisp_cli_error(p->cli));
		drop(i);
	} else if (r == 0)
		watch(wisp_cli_fd(p->cli), EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD,
			(uint32_t)i);
}

static void note_count(long long count, int v, int i)
{
	if (count >= seen_cap) {
		long long cap = seen_cap ? seen_cap : 65536;
		while (cap <= count)
			cap *= 2;
		seen = realloc(seen, (size_t)cap);
		memset(seen + seen_cap, 0, (size_t)(cap - seen_cap));
		seen_cap = cap;
	}
	if (seen[count]++)
		fail(i, "count %lld given twice", count);
	if (count > max_count)
		max_count = count;
	if (first_of[v] == 0 || count < first_of[v])
		first_of[v] = count;
	if (count > last_of[v])
		last_of[v] = count;
	replies++;
}

static void on_reply(void *ud, const struct wisp_client_frame *f)
{
	int i = (int)(intptr_t)ud;
	struct player *p = &players[i];
	char body[TEXT_MAX];
	int v = 0, used = 0;
	long long count = 0;
	snprintf(body, sizeof body, "%.*s", (int)f->size, (const char *)f->body);
	if (f->command != PLAY || !p->waiting
		|| sscanf(body, "v%d %lld%n", &v, &count, &used) != 2
		|| used != (int)strlen(body) || v < 1 || v >= VERSIONS
		|| count < 1) {
		fail(i, "unexpected reply \"%s\"", body);
		p->waiting = 0;
		return;
	}
	p->waiting = 0;
	/* sent when version_floor was in force; a reload to pending may have
	 * been done since */
	if (v < p->version_floor || v > (pending ? pending : version)
		|| v < p->last_version)
		fail(i, "reply \"%s\": not the version in force", body);
	if (count <= p->count_floor)
		fail(i, "reply \"%s\": a count not above those seen before", body);
	p->last_version = v;
	note_count(count, v, i);
	if (p->phase == phase)
		p->fresh++;
}

static void on_control(void *ud, const struct wisp_client_frame *f)
{
	(void)ud;
	if (f->command != CONTROL || control_answered) {
		fail(PLAYERS, "an unexpected frame");
		return;
	}
	snprintf(control_answer, sizeof control_answer, "%.*s", (int)f->size,
		(const char *)f->body);
	control_answered = 1;
}

static void on_event(uint32_t id, uint32_t events)
{
	static uint8_t buf[65536];
	if (id == PLAYERS) {
		if (wisp_cli_read(controller, buf, sizeof buf, on_control, NULL) < 0) {
			fail(PLAYERS, "%s", wisp_cli_error(controller));
			epoll_ctl(ep, EPOLL_CTL_DEL, wisp_cli_fd(controller), NULL);
		}
		return;
	}
	struct player *p = &players[id];
	if (p->dead) /* dropped earlier in this batch of events */
		return;
	int fd = wisp_cli_fd(p->cli);
	if (events & EPOLLOUT) {
		int r = wisp_cli_flush(p->cli);
		if (r < 0) {
			fail((int)id, "write: %s", wisp_cli_error(p->cli));
			drop((int)id);
			return;
		}
		if (r == 1)
			watch(fd, EPOLLIN, EPOLL_CTL_MOD, id);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (wisp_cli_read(p->cli, buf, sizeof buf, on_reply,
				(void *)(intptr_t)id) < 0) {
			fail((int)id, "read: %s", wisp_cli_error(p->cli));
			drop((int)id);
			return;
		}
		if (!p->waiting && !draining)
			play((int)id);
	}
}

/* Serves the players until done() or the deadline; 1 if done() came. */
static int pump(int (*done)(void), long long deadline)
{
	struct epoll_event ev[256];
	while (!done()) {
		if (now_ms() > deadline || failures > FAILURES_MAX)
			return 0;
		int n = epoll_wait(ep, ev, 256, 100);
		for (int j = 0; j < n; j++)
			on_event(ev[j].data.u32, ev[j].events);
	}
	return 1;
}

static int all_fresh(void)
{
	for (int i = 0; i < PLAYERS; i++)
		if (players[i].fresh < ROUNDS && !players[i].dead)
			return 0;
	return 1;
}

static int none_waiting(void)
{
	for (int i = 0; i < PLAYERS; i++)
		if (players[i].waiting)
			return 0;
	return 1;
}

static int answered(void)
{
	return control_answered;
}

/* A new phase: every player must then get ROUNDS replies to requests sent
 * in it. */
static void play_rounds(const char *what)
{
	phase++;
	for (int i = 0; i < PLAYERS; i++)
		players[i].fresh = 0;
	int done = pump(all_fresh, now_ms() + WAIT_MS);
	CHECK(done);
	if (!done)
		fprintf(stderr, "  %s: not every player got %d replies (within %d "
			"ms, before %d failures)\n", what, ROUNDS, WAIT_MS, FAILURES_MAX);
}

/* Asks control, over its own connection and while the players play, to
 * reload game; its answer in control_answer. */
static void ask_reload(void)
{
	control_answered = 0;
	control_answer[0] = '\0';
	CHECK_INT(wisp_cli_send(controller, CONTROL, "reload", 6, WAIT_MS), 0);
	int done = pump(answered, now_ms() + WAIT_MS);
	CHECK(done);
	if (!done)
		fprintf(stderr, "  no answer to the reload within %d ms\n", WAIT_MS);
}

/* ---- the cases ---- */

static void start_playing(void)
{
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	for (int i = 0; i < PLAYERS; i++) {
		players[i].cli = wisp_cli_new(&proto);
		if (wisp_cli_connect(players[i].cli, "127.0.0.1", port,
				WAIT_MS) < 0) {
			fail(i, "connect: %s", wisp_cli_error(players[i].cli));
			players[i].dead = 1;
			continue;
		}
		watch(wisp_cli_fd(players[i].cli), EPOLLIN, EPOLL_CTL_ADD,
			(uint32_t)i);
	}
	controller = wisp_cli_new(&proto);
	if (wisp_cli_connect(controller, "127.0.0.1", port, WAIT_MS) < 0)
		fail(PLAYERS, "connect: %s", wisp_cli_error(controller));
	else
		watch(wisp_cli_fd(controller), EPOLLIN, EPOLL_CTL_ADD, PLAYERS);
	CHECK_INT(failures, 0);
	version = 1;
	for (int i = 0; i < PLAYERS; i++)
		if (!players[i].dead)
			play(i);
	play_rounds("version 1");
	CHECK(last_of[1] > 0);
}

/* Version 2 is written and reloaded while the players play: from the
 * answer on, every reply is version 2, and the count goes on. */
static void reload_under_load(void)
{
	install("v2");
	pending = 2;
	ask_reload();
	CHECK_STR(control_answer, "ok: reloaded game");
	version = 2;
	pending = 0;
	play_rounds("version 2");
	CHECK(first_of[2] > 0);
	CHECK(last_of[1] < first_of[2]); /* the count was kept, not reset */
}

/* A failed reload: its answer names the error; replies stay version 2,
 * and the count goes on. */
static void failed_reload(const char *dir, const char *error)
{
	long long before = max_count;
	install(dir);
	ask_reload();
	int named = strncmp(control_answer, "err: ", 5) == 0
		&& strstr(control_answer, "reload of game failed: ") != NULL
		&& strstr(control_answer, error) != NULL;
	CHECK(named);
	if (!named)
		fprintf(stderr, "  answer \"%s\", want \"err: ...reload of game "
			"failed: ...%s...\"\n", control_answer, error);
	play_rounds(dir);
	CHECK(max_count > before);
	CHECK_INT(last_of[3] + last_of[4], 0); /* no reply of either, ever */
}

static void syntax_error_in_script(void)
{
	failed_reload("v3", "game.lua:6: unexpected symbol near '='");
}

static void syntax_error_in_module(void)
{
	failed_reload("v3_module", "game_util.lua:10: '}' expected");
}

static void main_chunk_raises(void)
{
	failed_reload("v4", "game.lua:23: version 4 fails on purpose");
}

/* The players stop; each request out gets its reply, and the counts are
 * then exactly 1..replies, each once. */
static void stop_playing(void)
{
	draining = 1;
	CHECK(pump(none_waiting, now_ms() + WAIT_MS));
	CHECK_INT(max_count, replies);
	long long missing = 0;
	for (long long c = 1; c <= max_count && c < seen_cap; c++)
		missing += seen[c] == 0;
	CHECK_INT(missing, 0);
	CHECK_INT(failures, 0);
	CHECK_INT(last_of[2], max_count); /* version 2 to the end */
	printf("%lld replies, %lld of version 1\n", replies, last_of[1]);
	for (int i = 0; i < PLAYERS; i++)
		wisp_cli_free(players[i].cli);
	wisp_cli_free(controller);
	close(ep);
	free(seen);
}

/* ---- the node ---- */

/* 1 once the gate listens and both services have started. */
static int start_node(const char *wisp)
{
	char conf[1024], env_port[64], env_dir[128], listening[64];
	snprintf(hot_dir, sizeof hot_dir, "/tmp/wisp_hot_XXXXXX");
	CHECK(mkdtemp(hot_dir) != NULL);
	install("v1");
	port = free_port();
	snprintf(conf, sizeof conf, "%s/test/hot_update/hot_update.lua",
		source_root);
	snprintf(env_port, sizeof env_port, "WISP_GATE_PORT=%d", port);
	snprintf(env_dir, sizeof env_dir, "WISP_HOT_DIR=%s", hot_dir);
	char *args[] = { (char *)wisp, conf, "main", NULL };
	char *env[] = { env_port, env_dir, NULL };
	node.label = "main";
	CHECK_INT(proc_start(&node, args, env), 0);
	snprintf(listening, sizeof listening, "listening for clients on "
		"127.0.0.1:%d", port);
	int up = proc_wait_output(&node, listening, START_MS)
		&& proc_wait_output(&node, "game: started", START_MS)
		&& proc_wait_output(&node, "control: started", START_MS);
	CHECK(up);
	return up;
}

/* SIGTERM: exit 0, nothing on stderr; after the cases (played), the log
 * holds one update done and three failed. */
static void stop_node(int played)
{
	CHECK_INT(proc_stop(&node, WAIT_MS), 0);
	char *err = proc_output(&node, 1), *out = proc_output(&node, 0);
	CHECK_STR(err, "");
	int done = 0, failed = 0;
	static const char done_text[] = "hot update of game done";
	static const char failed_text[] = "hot update of game failed";
	for (const char *at = out; (at = strstr(at, "hot update of game "));
		at++) {
		done += strncmp(at, done_text, sizeof done_text - 1) == 0;
		failed += strncmp(at, failed_text, sizeof failed_text - 1) == 0;
	}
	if (played) {
		CHECK_INT(done, 1);
		CHECK_INT(failed, 3);
	}
	free(err);
	free(out);
	if (test_failures)
		proc_dump(&node);
	proc_cleanup(&node);
	char path[256];
	snprintf(path, sizeof path, "%s/game.lua", hot_dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/game_util.lua", hot_dir);
	unlink(path);
	rmdir(hot_dir);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_hot_update WISP SOURCE_ROOT\n");
		return 2;
	}
	snprintf(source_root, sizeof source_root, "%s", argv[2]);
	proc_guard(&node, 1, 110);
	int up = start_node(argv[1]);
	if (up) {
		RUN(start_playing);
		RUN(reload_under_load);
		RUN(syntax_error_in_script);
		RUN(syntax_error_in_module);
		RUN(main_chunk_raises);
		RUN(stop_playing);
	}
	stop_node(up);
	return TEST_END();
}
