/* wisp_bots.c: wisp-bots, the bot clients of the demo game (services/demo/,
 * README "The demo game"), many on one thread on epoll. Each bot connects,
 * logs in as PREFIX<i> and enters room i % ROOMS; once every bot is in,
 * they move and chat at a rate for a while, then stop and wait for what is
 * still due. Every reply is checked against what was asked; every chat
 * must reach every bot of its room once, in order, and every move must be
 * pushed to its room. A progress line each second, a summary at the end,
 * and exit code 1 on any error or missing delivery; an error frame from
 * the gate is an error, the failure of the command it names. With
 * --request-ids each frame carries an id, and replies are matched by it.
 * --save writes each bot's final state; --verify checks the logins of a
 * later run against it. A login reply may name the game node of the
 * player's agent (node=NAME): the summary says how the bots spread over
 * them, --spread checks it, and with --relogin a failed move (its node
 * died) is answered by logging in again, to a node still up, which must
 * keep every move answered. --chaos plays through faults instead (see
 * "chaos mode" below). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "bots.h"

/* The demo's commands (services/demo/protocol.lua). */
enum { LOGIN = 101, ENTER = 102, MOVE = 103, CHAT = 104 };
enum { MOVED = 203, SAID = 204 };

#define ACCOUNT_SIZE (BOTS_PREFIX_MAX + 21) /* the prefix, any long, a NUL */
#define COORD_MAX 1000000
#define TEXT_MAX 512         /* of a frame from the server, as read */
#define MAX_CREDIT_S 0.1     /* see pace() */
#define SHOWN_ERRORS 10
#define READ_BUF 65536
#define EVENTS 256
#define CHAT_WINDOW 8        /* chaos: chat lines a bot may have open */
#define SCAN_US 100000       /* chaos: how often deadlines are checked */
#define BACKOFF_MIN_MS 100   /* chaos: the first retry's, then doubled */
#define BACKOFF_MAX_MS 3000
#define SHOWN_VIOLATIONS 100
#define UNSURE_MAX 4         /* chaos: moves of unknown outcome remembered */

/* A bot's way through the run; setup ends in PLAYING (in a room) or,
 * with --duration 0, IDLE (logged in). With --chaos a lost connection
 * waits in BACKOFF (no connection) to connect again. */
enum { CONNECTING, LOGGING_IN, ENTERING, PLAYING, IDLE, DEAD, BACKOFF };

struct bot {
	struct wisp_cli *cli; /* NULL once dead */
	uint8_t stage;
	uint8_t writing;      /* EPOLLOUT is asked for */
	uint8_t failed;       /* it must go, once the read or send is done */
	uint32_t waiting;     /* the command whose reply is due, or 0 */
	uint32_t waiting_id;  /* its request id (--request-ids) */
	uint32_t sent;        /* frames sent, for their request ids */
	uint64_t sent_at;     /* when it left, us */
	long x, y;            /* the position the server holds */
	long to_x, to_y;      /* the move awaiting its reply */
	long logins;
	uint8_t node;         /* its agent's game node: r->nodes[node - 1] */
	uint8_t again;        /* logging in again after a failed move */
	char room[BOTS_NAME_MAX + 1]; /* the room the server holds for it */
	uint32_t chats;       /* chats sent; each carries its number */
	uint64_t rng;
	/* --chaos: x, y, logins and room are the acknowledged state */
	uint8_t known;        /* a login was answered: the state is known */
	uint8_t unsure;       /* moves ended unanswered since one answered */
	uint8_t reenter;      /* a chat failed: enter the room again */
	uint8_t fails;        /* failures in a row, for the backoff */
	uint8_t chat_open;    /* chats not yet heard back: the newest ones */
	uint8_t ever_connected; /* so the next connection is a reconnect */
	uint64_t retry_at;    /* when BACKOFF ends */
	uint64_t chat_at[CHAT_WINDOW]; /* when chat n left: [(n - 1) % W] */
	long ux[UNSURE_MAX], uy[UNSURE_MAX]; /* their targets, the newest last */
};

/* A bot's state as --save writes it and --verify reads it. */
struct saved {
	int present;
	int unsure;  /* moves of unknown outcome (a --chaos save): */
	long ux[UNSURE_MAX], uy[UNSURE_MAX]; /* their targets */
	long x, y, logins;
	char room[BOTS_NAME_MAX + 1];
};

struct run {
	struct bots_options opt;
	struct bot *bots;
	struct saved *saved;     /* --verify's, by bot */
	long *members;           /* by room: bots in it */
	uint32_t *heard;         /* [receiver * per_room + sender / rooms]:
	                          * chats heard from that sender */
	long per_room;
	uint8_t *buf;            /* every bot reads into it */
	int ep;
	uint64_t start, now, tick;
	long setting_up, outstanding, dead;
	long logged_in, verified;
	uint64_t first_login, last_login;
	struct lk_errors errors;
	uint64_t commands, replies;
	uint64_t chats_expected, chats_heard, moves_expected, moves_heard;
	uint32_t *latency;       /* us, of every command answered */
	size_t latency_count, latency_cap, latency_mark;
	uint64_t mark_commands, mark_replies, mark_heard;
	long cursor_move, cursor_chat;
	double credit_move, credit_chat;
	const char *phase;
	char nodes[BOTS_NODES_MAX][BOTS_NAME_MAX + 1]; /* in logins' replies */
	long node_count, first_on[BOTS_NODES_MAX]; /* bots' first logins */
	long failed_moves, relogged;   /* --relogin */
	uint64_t moves_unsure;         /* pushes failed moves may have made */
	/* --chaos */
	int stopping;                  /* past --duration: no new commands */
	long done;                     /* --duration 0: bots logged in */
	long saved_count;              /* --verify: states in the file */
	struct lk_errors violations, closes;
	uint64_t closed, late, state_lost, chats_sent, chats_lost, chats_dup,
		chats_reordered, relogins, reconnects, open_chats, scan_at;
};

static void chaos_lost(struct run *r, struct bot *b, const char *why);
static void chaos_frame(struct run *r, struct bot *b,
	const struct wisp_client_frame *f, const char *text);
static void chaos_reply(struct run *r, struct bot *b, uint32_t command,
	const char *text);
static void chat_failed(struct run *r, struct bot *b, const char *why);
static void chaos_progress(struct run *r);

/* ---- latency ---- */

static void record_latency(struct run *r, uint64_t us)
{
	if (r->latency_count == r->latency_cap) {
		size_t cap = r->latency_cap ? r->latency_cap * 2 : 4096;
		uint32_t *grown = realloc(r->latency, cap * sizeof *grown);
		if (grown == NULL)
			return; /* a sample lost, not a reason to stop */
		r->latency = grown;
		r->latency_cap = cap;
	}
	r->latency[r->latency_count++] = us > UINT32_MAX ? UINT32_MAX
		: (uint32_t)us;
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts samples from..latency_count (in place: they are only ever read
 * sorted) and puts their p50 and p99 in ms. */
static void percentiles(struct run *r, size_t from, double *p50, double *p99)
{
	size_t n = r->latency_count - from;
	uint32_t *s = r->latency + from;
	*p50 = *p99 = 0;
	if (n == 0)
		return;
	qsort(s, n, sizeof *s, compare_u32);
	*p50 = s[(n - 1) / 2] / 1000.0;
	*p99 = s[(n * 99 + 99) / 100 - 1] / 1000.0;
}

/* ---- bots and their connections ---- */

static long index_of(const struct run *r, const struct bot *b)
{
	return (long)(b - r->bots);
}

static void watch(struct run *r, struct bot *b, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	ev.data.u32 = (uint32_t)index_of(r, b);
	if (epoll_ctl(r->ep, op, wisp_cli_fd(b->cli), &ev) < 0)
		lk_error(&r->errors, "epoll_ctl: %s", strerror(errno));
}

static int setting_up(const struct bot *b)
{
	return b->stage == CONNECTING || b->stage == LOGGING_IN
		|| b->stage == ENTERING;
}

/* Closes a bot for good: it is past setup, or it failed. */
static void retire(struct run *r, struct bot *b)
{
	if (setting_up(b))
		r->setting_up--;
	if (b->waiting)
		r->outstanding--;
	b->waiting = 0;
	wisp_cli_free(b->cli); /* closing the fd takes it out of epoll */
	b->cli = NULL;
	b->stage = DEAD;
	r->dead++;
}

__attribute__((format(printf, 3, 4)))
static void bot_error(struct run *r, struct bot *b, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	lk_error(&r->errors, "%s%ld: %s", r->opt.prefix, index_of(r, b), why);
}

static void drop(struct run *r, struct bot *b, const char *why)
{
	if (r->opt.chaos) {
		chaos_lost(r, b, why);
		return;
	}
	bot_error(r, b, "%s", why);
	retire(r, b);
}

/* Writes what b has queued, asking for EPOLLOUT while some is left. */
static void flush(struct run *r, struct bot *b)
{
	int w = wisp_cli_flush(b->cli);
	if (w < 0) {
		drop(r, b, wisp_cli_error(b->cli));
	} else if (b->writing != (w == 0)) {
		b->writing = w == 0;
		watch(r, b, EPOLL_CTL_MOD, EPOLLIN | (b->writing ? EPOLLOUT : 0));
	}
}

/* Writes what was queued, or closes a bot that failed: after sending, and
 * after reading (whose callbacks must not close it). */
static void settle(struct run *r, struct bot *b)
{
	if (b->failed && r->opt.chaos)
		chaos_lost(r, b, NULL);
	else if (b->failed)
		retire(r, b);
	else
		flush(r, b);
}

/* Queues a frame for settle to write; the reply of a command that has
 * one is awaited (one at a time). */
static void send_text(struct run *r, struct bot *b, uint32_t command,
	const char *text)
{
	uint32_t id = 0;
	if (r->opt.gate.request_ids)
		while (id == 0) /* 0 is a push's */
			id = ++b->sent;
	if ((id ? wisp_cli_queue_id(b->cli, command, id, text, strlen(text))
		: wisp_cli_queue(b->cli, command, text, strlen(text))) < 0) {
		bot_error(r, b, "%s", wisp_cli_error(b->cli));
		b->failed = 1;
		return;
	}
	if (r->opt.chaos || command == MOVE || command == CHAT)
		r->commands++;
	if (command != CHAT) {
		b->waiting = command;
		b->waiting_id = id;
		b->sent_at = r->now;
		r->outstanding++;
	}
}

static void send_login(struct run *r, struct bot *b)
{
	char account[ACCOUNT_SIZE];
	snprintf(account, sizeof account, "%s%ld", r->opt.prefix,
		index_of(r, b));
	b->stage = LOGGING_IN;
	if (r->first_login == 0)
		r->first_login = r->now;
	send_text(r, b, LOGIN, account);
}

static void send_enter(struct run *r, struct bot *b)
{
	char room[BOTS_NAME_MAX + 1];
	snprintf(room, sizeof room, "%ld", index_of(r, b) % r->opt.rooms);
	b->stage = ENTERING;
	send_text(r, b, ENTER, room);
}

static uint64_t next_random(struct bot *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

/* A step of -1, 0 or 1 from v, kept within the map. */
static long step(struct bot *b, long v)
{
	long next = v + (long)(next_random(b) % 3) - 1;
	return next > COORD_MAX || next < -COORD_MAX ? v : next;
}

static void send_move(struct run *r, struct bot *b)
{
	char text[64];
	b->to_x = step(b, b->x);
	b->to_y = step(b, b->y);
	snprintf(text, sizeof text, "%ld %ld", b->to_x, b->to_y);
	send_text(r, b, MOVE, text);
}

/* Each line carries its number, so that receivers check the order. */
static void send_chat(struct run *r, struct bot *b)
{
	char text[64];
	snprintf(text, sizeof text, "hello %" PRIu32, ++b->chats);
	r->chats_expected += (uint64_t)r->members[index_of(r, b) % r->opt.rooms];
	if (r->opt.chaos) { /* open until it is heard back */
		b->chat_at[(b->chats - 1) % CHAT_WINDOW] = r->now;
		b->chat_open++;
		r->open_chats++;
		r->chats_sent++;
	}
	send_text(r, b, CHAT, text);
}

/* ---- what the server says ---- */

/* The value of " KEY=" in text, into out (cap bytes); -1 if absent or too
 * long. */
static int field(const char *text, const char *key, char *out, size_t cap)
{
	char want[32];
	snprintf(want, sizeof want, " %s=", key);
	const char *at = strstr(text, want);
	if (at == NULL)
		return -1;
	at += strlen(want);
	size_t n = strcspn(at, " ");
	if (n >= cap)
		return -1;
	memcpy(out, at, n);
	out[n] = '\0';
	return 0;
}

static int number_field(const char *text, const char *key, long *out)
{
	char v[24], *end;
	if (field(text, key, v, sizeof v) < 0 || v[0] == '\0')
		return -1;
	errno = 0;
	*out = strtol(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Whether x, y is one of the n targets in ux, uy. */
static int unsure_at(const long *ux, const long *uy, int n, long x, long y)
{
	for (int i = 0; i < n; i++)
		if (x == ux[i] && y == uy[i])
			return 1;
	return 0;
}

/* Whether x, y is where s left the bot: its position, or the target of
 * a move whose outcome it did not learn (a --chaos save). */
static int saved_at(const struct saved *s, long x, long y)
{
	return (x == s->x && y == s->y)
		|| unsure_at(s->ux, s->uy, s->unsure, x, y);
}

/* --verify: the login must give back what the earlier run saved. */
static void verify_login(struct run *r, struct bot *b)
{
	const struct saved *s = &r->saved[index_of(r, b)];
	if (!s->present)
		bot_error(r, b, "no saved state for it in %s", r->opt.verify);
	else if (!saved_at(s, b->x, b->y) || b->logins != s->logins + 1
		|| strcmp(b->room, s->room) != 0)
		bot_error(r, b, "login gave x=%ld y=%ld logins=%ld room=%s; saved "
			"x=%ld y=%ld logins=%ld room=%s (one login more wanted)", b->x,
			b->y, b->logins, b->room, s->x, s->y, s->logins, s->room);
	else
		r->verified++;
}

/* The game node a login reply names, as 1 + its index in r->nodes; 0 if
 * it names none, or one past BOTS_NODES_MAX. */
static uint8_t node_of(struct run *r, const char *text)
{
	char name[BOTS_NAME_MAX + 1];
	if (field(text, "node", name, sizeof name) < 0)
		return 0;
	for (long i = 0; i < r->node_count; i++)
		if (strcmp(r->nodes[i], name) == 0)
			return (uint8_t)(i + 1);
	if (r->node_count == BOTS_NODES_MAX)
		return 0;
	memcpy(r->nodes[r->node_count], name, sizeof name);
	return (uint8_t)++r->node_count;
}

/* --relogin: the login after a failed move gives back the last move
 * answered, or the failed one (saved, maybe, before its node died), and
 * one login more; then the bot enters its room again. */
static void logged_in_again(struct run *r, struct bot *b, long x, long y,
	long logins)
{
	if ((b->x != x || b->y != y) && (b->x != b->to_x || b->y != b->to_y))
		bot_error(r, b, "logged in again at %ld %ld: its last move answered "
			"was to %ld %ld, the failed one to %ld %ld", b->x, b->y, x, y,
			b->to_x, b->to_y);
	if (b->logins != logins + 1)
		bot_error(r, b, "logged in again with logins=%ld, not %ld",
			b->logins, logins + 1);
	r->relogged++;
	send_enter(r, b);
}

static void logged_in(struct run *r, struct bot *b, const char *text)
{
	char account[ACCOUNT_SIZE], want[ACCOUNT_SIZE];
	long x = b->x, y = b->y, logins = b->logins; /* before this login */
	snprintf(want, sizeof want, "%s%ld", r->opt.prefix, index_of(r, b));
	if (field(text, "account", account, sizeof account) < 0
		|| strcmp(account, want) != 0
		|| field(text, "room", b->room, sizeof b->room) < 0
		|| number_field(text, "x", &b->x) < 0
		|| number_field(text, "y", &b->y) < 0
		|| number_field(text, "logins", &b->logins) < 0) {
		bot_error(r, b, "a bad login reply: %s", text);
		b->failed = 1;
		return;
	}
	b->node = node_of(r, text);
	if (b->again) {
		logged_in_again(r, b, x, y, logins);
		return;
	}
	if (b->node)
		r->first_on[b->node - 1]++;
	r->logged_in++;
	r->last_login = r->now;
	if (r->saved)
		verify_login(r, b);
	if (r->opt.duration > 0) {
		send_enter(r, b);
	} else {
		b->stage = IDLE;
		r->setting_up--;
	}
}

static void entered(struct run *r, struct bot *b, const char *text)
{
	char room[BOTS_NAME_MAX + 1], want[BOTS_NAME_MAX + 1];
	snprintf(want, sizeof want, "%ld", index_of(r, b) % r->opt.rooms);
	if (field(text, "room", room, sizeof room) < 0 || strcmp(room, want)) {
		bot_error(r, b, "entering room %s, the reply was: %s", want, text);
		b->failed = 1;
		return;
	}
	memcpy(b->room, room, sizeof room);
	b->stage = PLAYING;
	r->setting_up--;
	if (!b->again) /* the room kept it while it logged in again */
		r->members[index_of(r, b) % r->opt.rooms]++;
	b->again = 0;
}

/* Whether the reply says b's move was made; an error if it does not. */
static int move_made(struct run *r, struct bot *b, const char *text)
{
	long x, y;
	if (number_field(text, "x", &x) == 0 && number_field(text, "y", &y) == 0
		&& x == b->to_x && y == b->to_y)
		return 1;
	bot_error(r, b, "moving to %ld %ld, the reply was: %s", b->to_x, b->to_y,
		text);
	return 0;
}

static void moved(struct run *r, struct bot *b, const char *text)
{
	if (!move_made(r, b, text))
		return;
	b->x = b->to_x;
	b->y = b->to_y;
	r->moves_expected += (uint64_t)r->members[index_of(r, b) % r->opt.rooms];
}

/* The reply b awaited has come: its command. */
static uint32_t take_reply(struct run *r, struct bot *b)
{
	uint32_t command = b->waiting;
	b->waiting = 0;
	r->outstanding--;
	r->replies++;
	record_latency(r, r->now - b->sent_at);
	return command;
}

/* --relogin: a failed move is not an error; the bot logs in again. Its
 * room keeps it meanwhile, so it goes on hearing the room; the room may
 * or may not have been told of the failed move. */
static void log_in_again(struct run *r, struct bot *b)
{
	r->failed_moves++;
	r->moves_unsure += (uint64_t)r->members[index_of(r, b) % r->opt.rooms];
	b->again = 1;
	r->setting_up++;
	send_login(r, b);
}

/* A bot not in, or not in a room, cannot go on; a failed move can. */
static void failed(struct run *r, struct bot *b, uint32_t command,
	const char *why)
{
	if (command == MOVE && r->opt.relogin && b->stage == PLAYING) {
		log_in_again(r, b);
		return;
	}
	bot_error(r, b, "command %" PRIu32 " failed: %s", command, why);
	b->failed = command != MOVE;
}

static void on_reply(struct run *r, struct bot *b, const char *text)
{
	uint32_t command = take_reply(r, b);
	if (strncmp(text, "ok ", 3) != 0) {
		failed(r, b, command, text);
		return;
	}
	if (command == LOGIN)
		logged_in(r, b, text);
	else if (command == ENTER)
		entered(r, b, text);
	else
		moved(r, b, text);
}

/* The bot named at the start of a push ("PREFIX<i>" then stop), if it
 * is of this run and in the receiver's room; -1 otherwise. */
static long sender_of(struct run *r, const struct bot *to, const char *text,
	const char *stop)
{
	size_t n = strlen(r->opt.prefix);
	char *end;
	if ((to->stage != PLAYING && !to->again)
		|| strncmp(text, r->opt.prefix, n) != 0
		|| !isdigit((unsigned char)text[n]))
		return -1;
	long i = strtol(text + n, &end, 10);
	if (strncmp(end, stop, strlen(stop)) != 0 || i >= r->opt.bots
		|| i % r->opt.rooms != index_of(r, to) % r->opt.rooms)
		return -1;
	return i;
}

/* "NAME: hello SEQ": the next line of that sender, heard once, in order. */
static void on_said(struct run *r, struct bot *b, const char *text)
{
	long from = sender_of(r, b, text, ": hello ");
	const char *seq_at = strstr(text, ": hello ");
	if (from < 0 || seq_at == NULL) {
		bot_error(r, b, "a chat line not for it: %s", text);
		return;
	}
	unsigned long seq = strtoul(seq_at + 8, NULL, 10);
	uint32_t *heard = &r->heard[index_of(r, b) * r->per_room
		+ from / r->opt.rooms];
	if (seq != (unsigned long)*heard + 1) {
		bot_error(r, b, "heard line %lu of %s%ld after line %" PRIu32,
			seq, r->opt.prefix, from, *heard);
		if (seq > *heard)
			*heard = (uint32_t)seq;
		return;
	}
	*heard = (uint32_t)seq;
	r->chats_heard++;
}

/* "NAME X Y" */
static void on_moved(struct run *r, struct bot *b, const char *text)
{
	if (sender_of(r, b, text, " ") < 0) {
		bot_error(r, b, "a move not for it: %s", text);
		return;
	}
	r->moves_heard++;
}

struct frame_to {
	struct run *r;
	struct bot *b;
};

/* Whether f answers the command b awaits: by its request id, or by its
 * command (the reply's, or the one an error frame names). */
static int awaited(const struct run *r, const struct bot *b,
	const struct wisp_client_frame *f, uint32_t command)
{
	if (b->waiting == 0)
		return 0;
	return r->opt.gate.request_ids ? f->request == b->waiting_id
		: command == b->waiting;
}

/* An error frame: the awaited command failed, or a chat did. */
static void on_error(struct run *r, struct bot *b,
	const struct wisp_client_frame *f)
{
	char why[TEXT_MAX];
	uint32_t command = 0;
	if (lk_error_frame(f, &command, why, sizeof why) < 0)
		bot_error(r, b, "%s", why);
	else if (awaited(r, b, f, command) && r->opt.chaos)
		chaos_reply(r, b, take_reply(r, b), why);
	else if (awaited(r, b, f, command))
		failed(r, b, take_reply(r, b), why);
	else if (r->opt.chaos && command == CHAT)
		chat_failed(r, b, why);
	else
		bot_error(r, b, "command %" PRIu32 " failed: %s", command, why);
}

/* Pushes come with request id 0 under --request-ids. */
static void on_frame(void *ud, const struct wisp_client_frame *f)
{
	struct run *r = ((struct frame_to *)ud)->r;
	struct bot *b = ((struct frame_to *)ud)->b;
	char text[TEXT_MAX];
	size_t n = f->size < sizeof text - 1 ? f->size : sizeof text - 1;
	memcpy(text, f->body, n);
	text[n] = '\0';
	int push = !r->opt.gate.request_ids || f->request == 0;
	if (r->opt.chaos)
		chaos_frame(r, b, f, text);
	else if (lk_is_error(&r->opt.gate, f))
		on_error(r, b, f);
	else if (push && f->command == SAID)
		on_said(r, b, text);
	else if (push && f->command == MOVED)
		on_moved(r, b, text);
	else if (awaited(r, b, f, f->command) && f->command == b->waiting)
		on_reply(r, b, text);
	else
		bot_error(r, b, "unexpected command %" PRIu32 " (request id %"
			PRIu32 "): %s", f->command, f->request, text);
}

static void connected(struct run *r, struct bot *b)
{
	int c = wisp_cli_check(b->cli);
	if (c < 0) {
		drop(r, b, wisp_cli_error(b->cli));
	} else if (c == 0) {
		watch(r, b, EPOLL_CTL_MOD, EPOLLIN);
		if (r->stopping) /* --chaos: the run ends; no new command */
			return;
		send_login(r, b);
		settle(r, b);
	} else { /* a TLS handshake or WebSocket upgrade goes on */
		watch(r, b, EPOLL_CTL_MOD, lk_epoll_wants(b->cli));
	}
}

static void on_event(struct run *r, struct bot *b, uint32_t events)
{
	r->now = lk_now_us();
	if (b->cli == NULL)
		return; /* dropped earlier in this batch */
	if (b->stage == CONNECTING) {
		connected(r, b);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		struct frame_to to = { r, b };
		if (wisp_cli_read(b->cli, r->buf, READ_BUF, on_frame, &to) < 0) {
			drop(r, b, wisp_cli_error(b->cli));
			return;
		}
	}
	settle(r, b);
}

/* ---- the run ---- */

static void progress(struct run *r)
{
	double p50, p99;
	if (r->opt.chaos) {
		chaos_progress(r);
		return;
	}
	percentiles(r, r->latency_mark, &p50, &p99);
	printf("%6.1f s  %-8s logged in %ld  commands %" PRIu64 "/s  replies %"
		PRIu64 "/s  chat heard %" PRIu64 "/s  p50 %.2f ms  p99 %.2f ms  "
		"errors %" PRIu64 "\n", (double)(r->now - r->start) / 1e6, r->phase,
		r->logged_in, r->commands - r->mark_commands,
		r->replies - r->mark_replies, r->chats_heard - r->mark_heard, p50,
		p99, r->errors.count);
	fflush(stdout);
	r->latency_mark = r->latency_count;
	r->mark_commands = r->commands;
	r->mark_replies = r->replies;
	r->mark_heard = r->chats_heard;
}

static void poll_once(struct run *r, uint64_t until)
{
	struct epoll_event ev[EVENTS];
	uint64_t wake = until < r->tick ? until : r->tick;
	int n = epoll_wait(r->ep, ev, EVENTS, lk_ms_until(r->now, wake));
	for (int i = 0; i < n; i++)
		on_event(r, &r->bots[ev[i].data.u32], ev[i].events);
	r->now = lk_now_us();
	if (r->now >= r->tick) {
		progress(r);
		r->tick += 1000000;
	}
}

/* Drops, as failed, the bots still setting up or awaiting a reply. */
static void give_up(struct run *r, const char *why)
{
	for (long i = 0; i < r->opt.bots; i++)
		if (setting_up(&r->bots[i]) || r->bots[i].waiting != 0)
			drop(r, &r->bots[i], why);
}

/* Every bot connects, logs in and (to play) enters its room, each at its
 * own pace; it ends when all are in, or at --timeout. */
static void set_up(struct run *r)
{
	r->phase = "setup";
	for (long i = 0; i < r->opt.bots; i++) {
		struct bot *b = &r->bots[i];
		b->cli = lk_client(&r->opt.gate);
		b->stage = CONNECTING;
		b->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		r->setting_up++;
		if (b->cli == NULL || wisp_cli_connect(b->cli, r->opt.gate.host,
			r->opt.gate.port, 0) < 0)
			drop(r, b, b->cli ? wisp_cli_error(b->cli) : "out of memory");
		else
			watch(r, b, EPOLL_CTL_ADD, EPOLLOUT);
	}
	uint64_t deadline = r->now + (uint64_t)(r->opt.timeout * 1e6);
	while (r->setting_up > 0 && r->now < deadline && !lk_interrupted)
		poll_once(r, deadline);
	char why[80];
	snprintf(why, sizeof why, "not in after %.1f s", r->opt.timeout);
	give_up(r, why);
}

/* The next bot in turn that plays and, for a move, awaits no reply (with
 * --chaos: nor has to enter again), or for a chat has room for one more
 * open line. */
static struct bot *next_player(struct run *r, long *cursor, int idle)
{
	for (long tries = 0; tries < r->opt.bots; tries++) {
		*cursor = (*cursor + 1) % r->opt.bots;
		struct bot *b = &r->bots[*cursor];
		if (b->stage != PLAYING)
			continue;
		if (idle ? b->waiting == 0 && !b->reenter
			: b->chat_open < CHAT_WINDOW)
			return b;
	}
	return NULL;
}

/* Spends the credit that rate (per bot per second) earned since the last
 * call, one command per bot in turn. Credit not spent (every bot awaits
 * a reply) is kept for at most MAX_CREDIT_S, so that a stall is not
 * followed by a burst. */
static void pace(struct run *r, double *credit, double rate, double seconds,
	int move)
{
	double all = rate * (double)(r->opt.bots - r->dead);
	long *cursor = move ? &r->cursor_move : &r->cursor_chat;
	struct bot *b;
	*credit += all * seconds;
	if (*credit > all * MAX_CREDIT_S + 1)
		*credit = all * MAX_CREDIT_S + 1;
	while (*credit >= 1 && (b = next_player(r, cursor, move)) != NULL) {
		if (move)
			send_move(r, b);
		else
			send_chat(r, b);
		settle(r, b);
		*credit -= 1;
	}
}

/* In s, when credit at rate reaches 1; never while it is there already
 * (every bot awaits a reply: a reply will come first). */
static double due_in(const struct run *r, double credit, double rate)
{
	double all = rate * (double)(r->opt.bots - r->dead);
	return all > 0 && credit < 1 ? (1 - credit) / all : 1e9;
}

/* When the next command is due, at the latest end. */
static uint64_t next_due(const struct run *r, uint64_t end)
{
	double move = due_in(r, r->credit_move, r->opt.moves);
	double chat = due_in(r, r->credit_chat, r->opt.chats);
	double due = move < chat ? move : chat;
	uint64_t at = due < 1e6 ? r->now + (uint64_t)(due * 1e6) : end;
	return at < end ? at : end;
}

/* Moves and chats for --duration; returns how long it played, in s. */
static double play(struct run *r)
{
	uint64_t began = r->now, last = r->now;
	uint64_t end = began + (uint64_t)(r->opt.duration * 1e6);
	r->phase = "play";
	while (r->now < end && r->dead < r->opt.bots && !lk_interrupted) {
		double seconds = (double)(r->now - last) / 1e6;
		last = r->now;
		pace(r, &r->credit_move, r->opt.moves, seconds, 1);
		pace(r, &r->credit_chat, r->opt.chats, seconds, 0);
		poll_once(r, next_due(r, end));
	}
	return (double)(r->now - began) / 1e6;
}

static int all_arrived(const struct run *r)
{
	return r->outstanding == 0 && r->chats_heard >= r->chats_expected
		&& r->moves_heard >= r->moves_expected;
}

/* Waits, up to --timeout, for the replies and deliveries still due. */
static void drain(struct run *r)
{
	uint64_t deadline = r->now + (uint64_t)(r->opt.timeout * 1e6);
	r->phase = "drain";
	while (!all_arrived(r) && r->dead < r->opt.bots && r->now < deadline
		&& !lk_interrupted)
		poll_once(r, deadline);
	char why[80];
	snprintf(why, sizeof why, "no reply %.1f s after play stopped",
		r->opt.timeout);
	give_up(r, why);
}

/* After the drain: every delivery due came, and no more (but the pushes
 * of failed moves, which may have been made). */
static void check_deliveries(struct run *r)
{
	if (r->chats_heard != r->chats_expected
		|| r->moves_heard < r->moves_expected
		|| r->moves_heard > r->moves_expected + r->moves_unsure)
		lk_error(&r->errors, "once play stopped and the drain ended: chat "
			"lines heard %" PRIu64 " of %" PRIu64 ", move pushes %" PRIu64
			" of %" PRIu64, r->chats_heard, r->chats_expected,
			r->moves_heard, r->moves_expected);
}

/* ---- saved states ---- */

static long bot_of_account(const struct run *r, const char *account)
{
	size_t n = strlen(r->opt.prefix);
	char *end;
	if (strncmp(account, r->opt.prefix, n) != 0
		|| !isdigit((unsigned char)account[n]))
		return -1;
	long i = strtol(account + n, &end, 10);
	return *end == '\0' && i < r->opt.bots ? i : -1;
}

/* The targets of moves of unknown outcome a --chaos save puts after a
 * state, "X Y" each, from rest into s; -1 if rest holds anything else. */
static int read_unsure(const char *rest, struct saved *s)
{
	long x, y;
	int used;
	while (sscanf(rest, " %ld %ld%n", &x, &y, &used) == 2) {
		if (s->unsure == UNSURE_MAX)
			return -1;
		s->ux[s->unsure] = x;
		s->uy[s->unsure++] = y;
		rest += used;
	}
	return rest[strspn(rest, " \n")] == '\0' ? 0 : -1;
}

/* One line of a --save file into r->saved; -1 if it is not one. */
static int read_saved(struct run *r, const char *line)
{
	char account[BOTS_NAME_MAX + 1], room[BOTS_NAME_MAX + 1];
	struct saved s = { .present = 1 };
	int used = 0;
	if (sscanf(line, "%32s %ld %ld %ld %32s%n", account, &s.x, &s.y,
		&s.logins, room, &used) != 5 || read_unsure(line + used, &s) < 0)
		return -1;
	long i = bot_of_account(r, account);
	if (i < 0)
		return -1;
	snprintf(s.room, sizeof s.room, "%s", strcmp(room, "-") ? room : "");
	r->saved[i] = s;
	r->saved_count++;
	return 0;
}

static int load_saved(struct run *r)
{
	FILE *f = fopen(r->opt.verify, "r");
	if (f == NULL)
		return lk_complain("cannot read %s: %s", r->opt.verify,
			strerror(errno));
	char line[256];
	for (long n = 1; fgets(line, sizeof line, f); n++) {
		if (read_saved(r, line) == 0)
			continue;
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		return lk_complain("%s:%ld: not a state of %s0..%s%ld: %s",
			r->opt.verify, n, r->opt.prefix, r->opt.prefix, r->opt.bots - 1,
			line);
	}
	fclose(f);
	return 0;
}

/* Each bot that ends the run alive, as --verify reads it. */
static void save(struct run *r)
{
	FILE *f = fopen(r->opt.save, "w");
	if (f == NULL) {
		lk_error(&r->errors, "cannot write %s: %s", r->opt.save,
			strerror(errno));
		return;
	}
	for (long i = 0; i < r->opt.bots; i++) {
		const struct bot *b = &r->bots[i];
		if (r->opt.chaos ? !b->known
			: b->stage != PLAYING && b->stage != IDLE)
			continue;
		fprintf(f, "%s%ld %ld %ld %ld %s", r->opt.prefix, i, b->x, b->y,
			b->logins, b->room[0] ? b->room : "-");
		for (int u = 0; r->opt.chaos && u < b->unsure; u++)
			fprintf(f, " %ld %ld", b->ux[u], b->uy[u]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		lk_error(&r->errors, "writing %s: %s", r->opt.save,
			strerror(errno));
}

/* ---- the summary ---- */

/* Each of --spread's N nodes holds N's share of the first logins, +/-
 * 10%. */
static void check_spread(struct run *r)
{
	double fair = (double)r->opt.bots / (double)r->opt.spread;
	if (r->node_count != r->opt.spread)
		lk_error(&r->errors, "the first logins went to %ld game nodes, not "
			"%ld", r->node_count, r->opt.spread);
	for (long i = 0; i < r->node_count; i++) {
		double off = (double)r->first_on[i] - fair;
		if (off > fair * 0.1 || off < -fair * 0.1)
			lk_error(&r->errors, "%s had %ld first logins, not %.0f +/- "
				"10%%", r->nodes[i], r->first_on[i], fair);
	}
}

/* Where the first logins went, and where the bots still in are. */
static void print_spread(const struct run *r)
{
	long now[BOTS_NODES_MAX] = { 0 };
	for (long i = 0; i < r->opt.bots; i++)
		if (r->bots[i].node && r->bots[i].stage != DEAD)
			now[r->bots[i].node - 1]++;
	printf("summary: first logins on");
	for (long i = 0; i < r->node_count; i++)
		printf("%s %s %ld", i ? "," : "", r->nodes[i], r->first_on[i]);
	printf("; bots now on");
	for (long i = 0; i < r->node_count; i++)
		printf("%s %s %ld", i ? "," : "", r->nodes[i], now[i]);
	printf("\n");
}

static void summary(struct run *r, double played)
{
	double p50, p99;
	percentiles(r, 0, &p50, &p99);
	double login_s = (double)(r->last_login - r->first_login) / 1e6;
	printf("summary: %ld bots, %ld logged in (%.0f logins/s), %" PRIu64
		" commands (%.0f/s), p50 %.2f ms, p99 %.2f ms, errors %" PRIu64 "\n",
		r->opt.bots, r->logged_in,
		login_s > 0 ? (double)r->logged_in / login_s : 0, r->commands,
		played > 0 ? (double)r->commands / played : 0, p50, p99,
		r->errors.count);
	if (r->opt.duration > 0)
		printf("summary: chat deliveries %" PRIu64 " of %" PRIu64
			" expected, move pushes %" PRIu64 " of %" PRIu64 " expected\n",
			r->chats_heard, r->chats_expected, r->moves_heard,
			r->moves_expected);
	if (r->node_count)
		print_spread(r);
	if (r->opt.relogin)
		printf("summary: %ld moves failed, %ld logins again, %" PRIu64
			" pushes of failed moves heard\n", r->failed_moves, r->relogged,
			r->moves_heard > r->moves_expected
			? r->moves_heard - r->moves_expected : 0);
	if (r->saved)
		printf("summary: %ld of %ld logins gave back the saved state\n",
			r->verified, r->opt.bots);
	fflush(stdout);
}

/* ---- chaos mode ----
 * With --chaos the bots play through faults and count them instead of
 * stopping. Every command (login, enter, move, chat) ends within
 * --deadline: by its reply (a chat: by its line heard back), an error,
 * or the connection's close; one still open then is a violation, and
 * its connection is dropped. A bot that loses its connection, or whose
 * login or enter fails, connects again after a jittered backoff, logs in
 * and enters its room again; a failed move means logging in again on the
 * same connection (its game node died), a failed chat entering again
 * (the room forgot it). The state a bot knows is what was acknowledged:
 * a later login must give it back, or the target of a move whose outcome
 * it did not learn, with more logins. Each receiver's chat lines from a
 * sender must come in increasing numbers while both stay in the room;
 * gaps are counted, not violations. */

struct login {
	long x, y, logins;
	char room[BOTS_NAME_MAX + 1];
};

static void own_room(const struct run *r, const struct bot *b, char *room)
{
	snprintf(room, BOTS_NAME_MAX + 1, "%ld", index_of(r, b) % r->opt.rooms);
}

static const char *command_name(uint32_t command)
{
	return command == LOGIN ? "login" : command == ENTER ? "enter"
		: command == MOVE ? "move" : "chat";
}

__attribute__((format(printf, 3, 4)))
static void violation(struct run *r, const struct bot *b, const char *fmt,
	...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	lk_error(&r->violations, "%s%ld: violation: %s", r->opt.prefix,
		index_of(r, b), why);
}

/* Doubled each failure in a row, up to BACKOFF_MAX_MS, and jittered down
 * to half, so that bots failed together do not come back together. */
static void back_off(struct run *r, struct bot *b)
{
	uint64_t ms = (uint64_t)BACKOFF_MIN_MS << (b->fails < 5 ? b->fails : 5);
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (b->fails < UINT8_MAX)
		b->fails++;
	b->retry_at = r->now + (ms / 2 + next_random(b) % (ms / 2 + 1)) * 1000;
	b->stage = BACKOFF;
}

/* The move b sent ended unanswered: a later login may give back its
 * target, until a move is answered (the write may land late: an agent
 * left behind, a link delayed). The oldest is forgotten past UNSURE_MAX. */
static void move_unsure(struct bot *b)
{
	if (b->unsure == UNSURE_MAX) {
		memmove(b->ux, b->ux + 1, (UNSURE_MAX - 1) * sizeof *b->ux);
		memmove(b->uy, b->uy + 1, (UNSURE_MAX - 1) * sizeof *b->uy);
		b->unsure--;
	}
	b->ux[b->unsure] = b->to_x;
	b->uy[b->unsure++] = b->to_y;
}

/* b's awaited command ends unanswered (counted by the caller). */
static void end_waiting(struct run *r, struct bot *b)
{
	r->outstanding--;
	if (b->waiting == MOVE)
		move_unsure(b);
	b->waiting = 0;
}

/* b's open commands end with its connection. */
static void end_open(struct run *r, struct bot *b)
{
	if (b->waiting) {
		r->closed++;
		end_waiting(r, b);
	}
	r->closed += b->chat_open;
	r->open_chats -= b->chat_open;
	b->chat_open = 0;
}

/* b's connection is gone (why, if not said already): it tries again
 * after a backoff, but a bot done with --duration 0. */
static void chaos_lost(struct run *r, struct bot *b, const char *why)
{
	if (why)
		lk_error(&r->closes, "%s%ld: connection lost: %s", r->opt.prefix,
			index_of(r, b), why);
	end_open(r, b);
	if (b->cli)
		wisp_cli_free(b->cli);
	b->cli = NULL;
	b->writing = b->failed = b->reenter = 0;
	if (b->stage != IDLE)
		back_off(r, b);
}

static void chaos_connect(struct run *r, struct bot *b)
{
	r->reconnects += b->ever_connected;
	b->ever_connected = 1;
	b->cli = lk_client(&r->opt.gate);
	b->stage = CONNECTING;
	b->sent_at = r->now; /* a connection is bounded by --deadline too */
	if (b->cli == NULL || wisp_cli_connect(b->cli, r->opt.gate.host,
		r->opt.gate.port, 0) < 0)
		chaos_lost(r, b, b->cli ? wisp_cli_error(b->cli) : "out of memory");
	else
		watch(r, b, EPOLL_CTL_ADD, EPOLLOUT);
}

/* How many of b's open chats are past the deadline: the oldest ones. */
static uint8_t late_chats(const struct run *r, const struct bot *b,
	uint64_t limit)
{
	uint8_t n = 0;
	while (n < b->chat_open) {
		uint32_t seq = b->chats - b->chat_open + 1 + n;
		if (r->now - b->chat_at[(seq - 1) % CHAT_WINDOW] <= limit)
			break;
		n++;
	}
	return n;
}

/* The commands of b open past the deadline are violations; its
 * connection is dropped, and the bot connects again. */
static void check_deadlines(struct run *r, struct bot *b)
{
	uint64_t limit = (uint64_t)(r->opt.deadline * 1e6);
	if (b->stage == CONNECTING && r->now - b->sent_at > limit) {
		chaos_lost(r, b, "not connected within --deadline");
		return;
	}
	int late = b->waiting && r->now - b->sent_at > limit;
	if (late) {
		violation(r, b, "%s still open after %.1f s", command_name(
			b->waiting), (double)(r->now - b->sent_at) / 1e6);
		r->late++;
		end_waiting(r, b);
	}
	/* a chat is answered by nothing (proto/CLIENT.md: its handler returns
	 * nothing), so one not heard back is a line lost on its way to the
	 * room or back, counted as lost, not a command left open */
	uint8_t chats = late_chats(r, b, limit);
	if (chats) {
		r->chats_lost += chats;
		r->open_chats -= chats;
		b->chat_open -= chats;
	}
	if (late)
		chaos_lost(r, b, NULL);
}

/* Bots due to connect again do; open commands are held to the deadline. */
static void chaos_scan(struct run *r)
{
	for (long i = 0; i < r->opt.bots; i++) {
		struct bot *b = &r->bots[i];
		if (b->stage == BACKOFF && !r->stopping && r->now >= b->retry_at)
			chaos_connect(r, b);
		else if (b->cli != NULL)
			check_deadlines(r, b);
	}
}

/* A new membership of b in its room: the numbers it heard, and those
 * heard from it, start over. */
static void forget_heard(struct run *r, const struct bot *b)
{
	long i = index_of(r, b), rooms = r->opt.rooms;
	memset(&r->heard[i * r->per_room], 0, (size_t)r->per_room
		* sizeof *r->heard);
	for (long j = i % rooms; j < r->opt.bots; j += rooms)
		r->heard[j * r->per_room + i / rooms] = 0;
}

static void chaos_enter(struct run *r, struct bot *b)
{
	forget_heard(r, b);
	send_enter(r, b);
}

static int read_login(const struct run *r, const struct bot *b,
	const char *text, struct login *l)
{
	char account[ACCOUNT_SIZE], want[ACCOUNT_SIZE];
	snprintf(want, sizeof want, "%s%ld", r->opt.prefix, index_of(r, b));
	return field(text, "account", account, sizeof account) < 0
		|| strcmp(account, want) != 0
		|| field(text, "room", l->room, sizeof l->room) < 0
		|| number_field(text, "x", &l->x) < 0
		|| number_field(text, "y", &l->y) < 0
		|| number_field(text, "logins", &l->logins) < 0 ? -1 : 0;
}

/* A login after one answered: the acknowledged state, or the target of
 * a move left unsure, a room entered or being entered, more logins. */
static void check_login(struct run *r, struct bot *b, const struct login *l)
{
	char own[BOTS_NAME_MAX + 1];
	own_room(r, b, own);
	int at = (l->x == b->x && l->y == b->y)
		|| unsure_at(b->ux, b->uy, b->unsure, l->x, l->y);
	if (at && l->logins > b->logins && (strcmp(l->room, b->room) == 0
		|| strcmp(l->room, own) == 0))
		return;
	r->state_lost++;
	violation(r, b, "acknowledged write lost: the login gave x=%ld y=%ld "
		"logins=%ld room=%s, after x=%ld y=%ld logins=%ld room=%s (%d "
		"moves unsure)", l->x, l->y, l->logins, l->room, b->x, b->y,
		b->logins, b->room, b->unsure);
}

/* --verify: the first login gives back what the earlier run saved. */
static void chaos_verify(struct run *r, struct bot *b, const struct login *l)
{
	const struct saved *s = &r->saved[index_of(r, b)];
	char own[BOTS_NAME_MAX + 1];
	own_room(r, b, own);
	if (!s->present)
		return;
	if (saved_at(s, l->x, l->y) && l->logins > s->logins
		&& (strcmp(l->room, s->room) == 0 || strcmp(l->room, own) == 0)) {
		r->verified++;
		return;
	}
	r->state_lost++;
	violation(r, b, "saved state lost: the login gave x=%ld y=%ld logins=%ld "
		"room=%s; saved x=%ld y=%ld logins=%ld room=%s", l->x, l->y,
		l->logins, l->room, s->x, s->y, s->logins, s->room);
}

static void chaos_logged_in(struct run *r, struct bot *b, const char *text)
{
	struct login l;
	if (read_login(r, b, text, &l) < 0) {
		bot_error(r, b, "a bad login reply: %s", text);
		b->failed = 1;
		return;
	}
	b->node = node_of(r, text);
	if (b->known) {
		check_login(r, b, &l);
		r->relogins++;
	} else {
		if (b->node)
			r->first_on[b->node - 1]++;
		r->logged_in++;
		r->last_login = r->now;
		if (r->saved)
			chaos_verify(r, b, &l);
	}
	b->x = l.x;
	b->y = l.y;
	b->logins = l.logins;
	memcpy(b->room, l.room, sizeof l.room);
	b->known = 1;
	b->fails = 0;
	if (r->opt.duration > 0 && !r->stopping) {
		chaos_enter(r, b);
	} else if (b->stage != IDLE) {
		b->stage = IDLE;
		r->done++;
	}
}

static void chaos_entered(struct run *r, struct bot *b, const char *text)
{
	char room[BOTS_NAME_MAX + 1], own[BOTS_NAME_MAX + 1];
	own_room(r, b, own);
	if (field(text, "room", room, sizeof room) < 0 || strcmp(room, own)) {
		bot_error(r, b, "entering room %s, the reply was: %s", own, text);
		b->failed = 1;
		return;
	}
	memcpy(b->room, own, sizeof own);
	b->stage = PLAYING;
	b->reenter = 0;
}

/* A reply that does not say the move was made leaves it unsure: the
 * connection goes, and the next login tells. */
static void chaos_moved(struct run *r, struct bot *b, const char *text)
{
	if (!move_made(r, b, text)) {
		move_unsure(b);
		b->failed = 1;
		return;
	}
	b->x = b->to_x;
	b->y = b->to_y;
	b->unsure = 0;
	if (b->reenter && !r->stopping)
		chaos_enter(r, b);
}

/* A failed move: its game node died, maybe, so log in again on this
 * connection; a failed login or enter: connect again. */
static void chaos_failed(struct run *r, struct bot *b, uint32_t command,
	const char *why)
{
	bot_error(r, b, "%s failed: %s", command_name(command), why);
	if (command != MOVE || b->stage != PLAYING) {
		b->failed = 1;
		return;
	}
	move_unsure(b);
	if (!r->stopping)
		send_login(r, b);
}

static void chaos_reply(struct run *r, struct bot *b, uint32_t command,
	const char *text)
{
	if (strncmp(text, "ok ", 3) != 0)
		chaos_failed(r, b, command, text);
	else if (command == LOGIN)
		chaos_logged_in(r, b, text);
	else if (command == ENTER)
		chaos_entered(r, b, text);
	else
		chaos_moved(r, b, text);
}

/* A chat failed (the oldest open one, as far as can be told): the room
 * may have forgotten b (its node restarted), so b enters it again. */
static void chat_failed(struct run *r, struct bot *b, const char *why)
{
	bot_error(r, b, "chat failed: %s", why);
	if (b->chat_open) {
		b->chat_open--;
		r->open_chats--;
	}
	if (b->stage != PLAYING || r->stopping)
		return;
	if (b->waiting)
		b->reenter = 1;
	else
		chaos_enter(r, b);
}

/* b heard its own line seq: that one and the older ones still open end
 * (those never heard were lost, as the receivers' gaps count). */
static void heard_back(struct run *r, struct bot *b, uint32_t seq)
{
	uint32_t oldest = b->chats - b->chat_open + 1;
	if (seq < oldest || seq > b->chats)
		return;
	record_latency(r, r->now - b->chat_at[(seq - 1) % CHAT_WINDOW]);
	r->replies++;
	uint8_t ended = (uint8_t)(seq - oldest + 1);
	b->chat_open -= ended;
	r->open_chats -= ended;
}

/* The bot of this run whose account is text up to end, or -1. */
static long bot_named(const struct run *r, const char *text,
	const char *end)
{
	char account[ACCOUNT_SIZE];
	size_t n = (size_t)(end - text);
	if (n >= sizeof account)
		return -1;
	memcpy(account, text, n);
	account[n] = '\0';
	return bot_of_account(r, account);
}

/* "NAME: hello SEQ": a greater number than the last heard from NAME. */
static void chaos_said(struct run *r, struct bot *b, const char *text)
{
	long me = index_of(r, b), rooms = r->opt.rooms;
	const char *seq_at = strstr(text, ": hello ");
	long from = seq_at ? bot_named(r, text, seq_at) : -1;
	if (from < 0 || from % rooms != me % rooms) {
		bot_error(r, b, "a chat line not for it: %s", text);
		return;
	}
	uint32_t seq = (uint32_t)strtoul(seq_at + 8, NULL, 10);
	uint32_t *last = &r->heard[me * r->per_room + from / rooms];
	r->chats_heard++;
	if (from == me)
		heard_back(r, b, seq);
	if (*last != 0 && seq <= *last) {
		*(seq == *last ? &r->chats_dup : &r->chats_reordered) += 1;
		violation(r, b, "heard line %" PRIu32 " of %s%ld after line %"
			PRIu32 " (%s)", seq, r->opt.prefix, from, *last,
			seq == *last ? "twice" : "out of order");
		return;
	}
	if (*last != 0)
		r->chats_lost += seq - *last - 1;
	*last = seq;
}

/* A chat has no reply but an error: a frame of its command is one. */
static void chaos_frame(struct run *r, struct bot *b,
	const struct wisp_client_frame *f, const char *text)
{
	int push = !r->opt.gate.request_ids || f->request == 0;
	if (lk_is_error(&r->opt.gate, f))
		on_error(r, b, f);
	else if (push && f->command == SAID)
		chaos_said(r, b, text);
	else if (push && f->command == MOVED)
		r->moves_heard++;
	else if (f->command == CHAT)
		chat_failed(r, b, text);
	else if (awaited(r, b, f, f->command) && f->command == b->waiting)
		chaos_reply(r, b, take_reply(r, b), text);
	else
		bot_error(r, b, "unexpected command %" PRIu32 " (request id %"
			PRIu32 "): %s", f->command, f->request, text);
}

static void chaos_progress(struct run *r)
{
	long playing = 0, away = 0;
	double p50, p99;
	for (long i = 0; i < r->opt.bots; i++) {
		playing += r->bots[i].stage == PLAYING;
		away += r->bots[i].stage == BACKOFF;
	}
	percentiles(r, r->latency_mark, &p50, &p99);
	printf("%6.1f s  %-6s playing %ld  away %ld  commands %" PRIu64
		"/s  replies %" PRIu64 "/s  chat heard %" PRIu64 "/s  p50 %.2f ms  "
		"p99 %.2f ms  errors %" PRIu64 "  late %" PRIu64 "  reconnects %"
		PRIu64 "\n", (double)(r->now - r->start) / 1e6, r->phase, playing,
		away, r->commands - r->mark_commands, r->replies - r->mark_replies,
		r->chats_heard - r->mark_heard, p50, p99, r->errors.count, r->late,
		r->reconnects);
	fflush(stdout);
	r->latency_mark = r->latency_count;
	r->mark_commands = r->commands;
	r->mark_replies = r->replies;
	r->mark_heard = r->chats_heard;
}

static void chaos_poll(struct run *r, uint64_t until)
{
	poll_once(r, until < r->scan_at ? until : r->scan_at);
	if (r->now >= r->scan_at) {
		chaos_scan(r);
		r->scan_at = r->now + SCAN_US;
	}
}

/* Plays until --duration from the start (with --duration 0: until every
 * bot has logged in, --timeout at most); then sends nothing new and waits
 * for the open commands to end, each by its deadline at the latest. */
static void chaos_play(struct run *r)
{
	double s = r->opt.duration > 0 ? r->opt.duration : r->opt.timeout;
	uint64_t end = r->start + (uint64_t)(s * 1e6), last = r->now;
	r->phase = "chaos";
	r->scan_at = r->now;
	while (r->now < end && !lk_interrupted
		&& (r->opt.duration > 0 || r->done < r->opt.bots)) {
		double seconds = (double)(r->now - last) / 1e6;
		last = r->now;
		if (r->opt.duration > 0) {
			pace(r, &r->credit_move, r->opt.moves, seconds, 1);
			pace(r, &r->credit_chat, r->opt.chats, seconds, 0);
		}
		chaos_poll(r, r->opt.duration > 0 ? next_due(r, end) : end);
	}
	r->stopping = 1;
	r->phase = "drain";
	while (r->outstanding > 0 || r->open_chats > 0)
		chaos_poll(r, r->now + SCAN_US);
}

/* The summary, its last line for programs: 0, or -1 on a violation or a
 * --verify state not given back. */
static int chaos_summary(struct run *r)
{
	double p50, p99;
	percentiles(r, 0, &p50, &p99);
	printf("summary: %ld bots, %ld logged in, %" PRIu64 " commands, p50 "
		"%.2f ms, p99 %.2f ms, errors %" PRIu64 ", violations %" PRIu64
		"\n", r->opt.bots, r->logged_in, r->commands, p50, p99,
		r->errors.count, r->violations.count);
	if (r->node_count)
		print_spread(r);
	if (r->saved)
		printf("summary: %ld of %ld saved states given back\n", r->verified,
			r->saved_count);
	printf("BOTS-SUMMARY bots=%ld commands=%" PRIu64 " replies=%" PRIu64
		" errors=%" PRIu64 " closed=%" PRIu64 " late=%" PRIu64 " state_lost=%"
		PRIu64 " chats_sent=%" PRIu64 " chats_heard=%" PRIu64 " chats_lost=%"
		PRIu64 " chats_dup=%" PRIu64 " chats_reordered=%" PRIu64
		" relogins=%" PRIu64 " reconnects=%" PRIu64 "\n", r->opt.bots,
		r->commands, r->replies, r->errors.count, r->closed, r->late,
		r->state_lost, r->chats_sent, r->chats_heard, r->chats_lost,
		r->chats_dup, r->chats_reordered, r->relogins, r->reconnects);
	fflush(stdout);
	uint64_t bad = r->late + r->state_lost + r->chats_dup
		+ r->chats_reordered;
	return bad > 0 || (r->saved && r->verified < r->saved_count) ? -1 : 0;
}

static int chaos_run(struct run *r)
{
	double ramp_us = r->opt.ramp * 1e6 / (double)r->opt.bots;
	for (long i = 0; i < r->opt.bots; i++) { /* each due in its turn */
		r->bots[i].stage = BACKOFF;
		r->bots[i].retry_at = r->start + (uint64_t)(ramp_us * (double)i);
		r->bots[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	}
	printf("wisp-bots: %ld bots in chaos mode at %s:%d, deadline %.1f s\n",
		r->opt.bots, r->opt.gate.host, r->opt.gate.port, r->opt.deadline);
	fflush(stdout);
	chaos_play(r);
	if (r->opt.save)
		save(r);
	return chaos_summary(r);
}

static int setup(struct run *r)
{
	long n = r->opt.bots;
	r->per_room = (n + r->opt.rooms - 1) / r->opt.rooms;
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0)
		return lk_complain("epoll_create1: %s", strerror(errno));
	r->bots = calloc((size_t)n, sizeof *r->bots);
	r->members = calloc((size_t)r->opt.rooms, sizeof *r->members);
	r->heard = calloc((size_t)n * (size_t)r->per_room, sizeof *r->heard);
	r->buf = malloc(READ_BUF);
	if (r->opt.verify)
		r->saved = calloc((size_t)n, sizeof *r->saved);
	if (!r->bots || !r->members || !r->heard || !r->buf
		|| (r->opt.verify && !r->saved))
		return lk_complain("out of memory for %ld bots", n);
	return r->opt.verify ? load_saved(r) : 0;
}

static void teardown(struct run *r)
{
	for (long i = 0; r->bots && i < r->opt.bots; i++)
		if (r->bots[i].cli != NULL)
			wisp_cli_free(r->bots[i].cli);
	free(r->bots);
	free(r->members);
	free(r->heard);
	free(r->buf);
	free(r->saved);
	free(r->latency);
	if (r->ep >= 0)
		close(r->ep);
}

static int bots_run(struct run *r)
{
	r->now = r->start = lk_now_us();
	r->tick = r->start + 1000000;
	if (r->opt.chaos)
		return chaos_run(r);
	set_up(r);
	printf("wisp-bots: %ld of %ld bots in%s at %s:%d after %.2f s\n",
		r->opt.bots - r->dead, r->opt.bots,
		r->opt.duration > 0 ? " their rooms" : "", r->opt.gate.host, r->opt.gate.port,
		(double)(r->now - r->start) / 1e6);
	fflush(stdout);
	double played = r->opt.duration > 0 && !lk_interrupted ? play(r) : 0;
	drain(r);
	check_deliveries(r);
	if (r->opt.spread)
		check_spread(r);
	if (r->opt.save)
		save(r);
	summary(r, played);
	return r->errors.count == 0 && r->dead == 0 && !lk_interrupted ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct run r = { .ep = -1, .errors.shown = SHOWN_ERRORS,
		.violations.shown = SHOWN_VIOLATIONS, .closes.shown = SHOWN_ERRORS };
	int parsed = bots_options(&r.opt, argc, argv);
	if (parsed != 0)
		return parsed < 0 ? 2 : 0;
	if (lk_raise_fd_limit("--bots", r.opt.bots, "run") < 0)
		return 1;
	lk_catch_interrupts();
	int rc = setup(&r) < 0 ? -1 : bots_run(&r);
	teardown(&r);
	lk_gate_free(&r.opt.gate);
	return rc < 0 ? 1 : 0;
}
