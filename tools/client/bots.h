/* bots.h: what the files of wisp-bots share: its options, read from the
 * command line by bots_options.c (complaints are loadkit's). */
#ifndef WISP_BOTS_H
#define WISP_BOTS_H

#include "loadkit.h"

#define BOTS_NAME_MAX 32   /* an account or a room, as the demo allows */
#define BOTS_PREFIX_MAX 24 /* leaves room for a bot's number */
#define BOTS_NODES_MAX 16  /* game nodes the spread is counted over */

struct bots_options {
	struct lk_gate gate; /* first: see struct lk_option */
	long bots, rooms;
	double duration, moves, chats, timeout;
	char prefix[BOTS_PREFIX_MAX + 1];
	const char *save, *verify;
	long spread;  /* --spread: the game nodes the logins must spread over */
	int relogin;  /* --relogin yes: a failed move means log in again */
	int chaos;       /* --chaos yes: play through faults, count them */
	double deadline; /* --deadline: s a command may stay open (chaos) */
	double ramp;     /* --ramp: s the first connections spread over */
};

/* Reads argv into o: 0, 1 when --help was asked (and printed), -1 when an
 * argument is wrong (said on stderr). */
int bots_options(struct bots_options *o, int argc, char **argv);

#endif
