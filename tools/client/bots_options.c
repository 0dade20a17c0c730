/* bots_options.c: wisp-bots' command line: its options, their checks and
 * defaults, and --help; loadkit reads the address, the frame options and
 * the argument loop. */
#include <stdio.h>
#include <string.h>
#include "bots.h"

static const char usage[] =
	"usage: wisp-bots [options] HOST:PORT\n"
	"Bots play the demo game on a gate: each logs in, enters a room, "
	"then moves\nand chats; every reply and every chat delivery is "
	"checked.\n"
	"  --bots N         bots (100)\n"
	"  --prefix P       bot i's account is P<i> (bot)\n"
	"  --rooms R        bot i enters room i % R, named by that number "
	"(10)\n"
	"  --duration S     seconds of play once every bot is in its room; "
	"0: log in\n"
	"                   and stop (10)\n"
	"  --moves R        moves per bot per second (1)\n"
	"  --chats R        chat lines per bot per second (1)\n"
	"  --timeout S      seconds setup and the final drain may take "
	"(10)\n"
	"  --save FILE      write each bot's final state: ACCOUNT X Y "
	"LOGINS ROOM\n"
	"  --verify FILE    each login must give back the state a --save "
	"wrote\n"
	"                   (its login count one more)\n"
	"  --relogin yes    a failed move (its game node died, say): log in "
	"again and\n"
	"                   re-enter; the login must keep every move "
	"answered (no)\n"
	"  --spread N       the first logins must spread over N game nodes, "
	"each\n"
	"                   holding 1/N of the bots, +/- 10%\n"
	"  --chaos yes      play through faults (nodes killed or stopped, "
	"links cut):\n"
	"                   a closed connection or a failed login is "
	"retried after a\n"
	"                   backoff; only the violations count (a command "
	"open past\n"
	"                   --deadline, an acknowledged state lost, a chat "
	"line heard\n"
	"                   twice or out of order); --duration counts from "
	"the start;\n"
	"                   a last line BOTS-SUMMARY KEY=N... (no)\n"
	"  --deadline S     with --chaos: seconds a command (login, enter, "
	"move, chat)\n"
	"                   may stay open (10)\n"
	"  --ramp S         with --chaos: the bots' first connections spread "
	"over S\n"
	"                   seconds, not all at once (0)\n"
	"  --max-body N     the largest body either way (65536)\n"
	LK_SHARED_USAGE
	"Exit code 1 on any error or missing delivery (with --chaos: on a "
	"violation,\n"
	"or a --verify state not given back), 2 on bad arguments.\n";

static const char *parse_bots(void *opts, const char *v)
{
	struct bots_options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 1, 1000000, &n) < 0)
		return "want a whole number from 1 to 1000000";
	o->bots = (long)n;
	return NULL;
}

static const char *parse_prefix(void *opts, const char *v)
{
	struct bots_options *o = opts;
	size_t n = strlen(v);
	if (n < 1 || n > BOTS_PREFIX_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return "want 1 to 24 letters, digits, '_', '-' or '.'";
	memcpy(o->prefix, v, n + 1);
	return NULL;
}

static const char *parse_rooms(void *opts, const char *v)
{
	struct bots_options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 1, 1000000, &n) < 0)
		return "want a whole number from 1 to 1000000";
	o->rooms = (long)n;
	return NULL;
}

static const char *parse_duration(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0, 86400, &o->duration) < 0
		? "want seconds from 0 to 86400" : NULL;
}

static const char *parse_moves(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0, 1000, &o->moves) < 0
		? "want moves per bot per second, from 0 to 1000" : NULL;
}

static const char *parse_chats(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0, 1000, &o->chats) < 0
		? "want chat lines per bot per second, from 0 to 1000" : NULL;
}

static const char *parse_timeout(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0.001, 3600, &o->timeout) < 0
		? "want seconds, above 0 and at most 3600" : NULL;
}

static const char *parse_save(void *opts, const char *v)
{
	struct bots_options *o = opts;
	o->save = v;
	return NULL;
}

static const char *parse_verify(void *opts, const char *v)
{
	struct bots_options *o = opts;
	o->verify = v;
	return NULL;
}

static const char *parse_relogin(void *opts, const char *v)
{
	struct bots_options *o = opts;
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return "want yes or no";
	o->relogin = strcmp(v, "yes") == 0;
	return NULL;
}

static const char *parse_chaos(void *opts, const char *v)
{
	struct bots_options *o = opts;
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return "want yes or no";
	o->chaos = strcmp(v, "yes") == 0;
	return NULL;
}

static const char *parse_deadline(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0.1, 3600, &o->deadline) < 0
		? "want seconds from 0.1 to 3600" : NULL;
}

static const char *parse_ramp(void *opts, const char *v)
{
	struct bots_options *o = opts;
	return lk_real(v, 0, 3600, &o->ramp) < 0
		? "want seconds from 0 to 3600" : NULL;
}

static const char *parse_spread(void *opts, const char *v)
{
	struct bots_options *o = opts;
	unsigned long long n;
	if (lk_whole(v, 1, BOTS_NODES_MAX, &n) < 0)
		return "want a whole number from 1 to 16";
	o->spread = (long)n;
	return NULL;
}

/* At least what the bots send: a login of the longest account. */
static const char *parse_max_body(void *opts, const char *v)
{
	struct bots_options *o = opts;
	unsigned long long n;
	if (lk_whole(v, BOTS_NAME_MAX, UINT32_MAX - 4, &n) < 0)
		return "want a whole number from 32 to 4294967291";
	o->gate.proto.max_body = (uint32_t)n;
	return NULL;
}

/* --magic, --proto and --server are loadkit's. */
static const struct lk_option options[] = {
	{ "--bots", parse_bots }, { "--prefix", parse_prefix },
	{ "--rooms", parse_rooms }, { "--duration", parse_duration },
	{ "--moves", parse_moves }, { "--chats", parse_chats },
	{ "--timeout", parse_timeout }, { "--save", parse_save },
	{ "--verify", parse_verify }, { "--max-body", parse_max_body },
	{ "--relogin", parse_relogin }, { "--spread", parse_spread },
	{ "--chaos", parse_chaos }, { "--deadline", parse_deadline },
	{ "--ramp", parse_ramp },
};

static const struct lk_tool tool = {
	.name = "wisp-bots", .usage = usage, .options = options,
	.option_count = sizeof options / sizeof *options, .example_port = 7100,
};

int bots_options(struct bots_options *o, int argc, char **argv)
{
	*o = (struct bots_options){
		.bots = 100, .rooms = 10, .duration = 10, .moves = 1, .chats = 1,
		.timeout = 10, .prefix = "bot", .deadline = 10,
	};
	return lk_options(&tool, &o->gate, argc, argv);
}
