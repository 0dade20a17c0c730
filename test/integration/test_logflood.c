/* test_logflood.c: the log's flood control, on a real node (test/logflood/).
 * One place flooding (a Lua line, a Lua handler that raises, a warning of
 * the Lua host's C code) gets a burst, then a few lines a second, and a
 * count of the rest; a place that logs rarely loses nothing meanwhile;
 * many places at once are held to the node's log_rate. Every line tried
 * is in the log, or in exactly one count. log_rate = 0 turns it off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"
#include "testlib.h"

#define PLACE_BURST 10 /* as in runtime/log.c */
#define PLACE_RATE 5
#define NODE_RATE 200  /* the log_rate of the places flood */

static const char *wisp_exe, *root;

/* What a flood's log holds. */
struct tally {
	long lines;      /* physical lines */
	long kept;       /* lines with the flood's text */
	long held;       /* lines counted by "suppressed N" lines of its place */
	long summaries;  /* those lines */
	long dropped;    /* lines counted by "dropped N" lines */
	long ticks;      /* ticker.lua's lines */
	int distinct;    /* the line after the flood is there */
	int ticker_held; /* a ticker line was held back */
};

static long number_after(const char *line, const char *word)
{
	const char *at = strstr(line, word);
	return at ? strtol(at + strlen(word), NULL, 10) : 0;
}

static void count_line(struct tally *t, const char *line, const char *text,
	const char *place)
{
	t->lines++;
	if (strstr(line, " suppressed ")) {
		int ours = strstr(line, place) != NULL;
		t->held += ours ? number_after(line, " suppressed ") : 0;
		t->summaries += ours;
		t->ticker_held |= strstr(line, "ticker.lua") != NULL;
	} else if (strstr(line, " dropped ")) {
		t->dropped += number_after(line, " dropped ");
	} else {
		t->kept += strstr(line, text) != NULL;
		t->ticks += strstr(line, " tick ") != NULL;
		t->distinct |= strstr(line, " distinct line") != NULL;
	}
}

/* Counts the node's log: lines with text, counts from places whose name
 * has place in it. */
static struct tally count(const struct proc *p, const char *text,
	const char *place)
{
	struct tally t;
	memset(&t, 0, sizeof(t));
	char *out = proc_output(p, 0);
	for (char *line = out; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		count_line(&t, line, text, place);
		line = end ? end + 1 : NULL;
	}
	free(out);
	return t;
}

/* Starts the node on this flood and waits for its end: "flood done"; -1
 * (a failed check, the node gone) if it did not come. */
static int start(struct proc *p, const char *flood, int rate)
{
	char conf[512], which[64], log_rate[64];
	snprintf(conf, sizeof(conf), "%s/test/logflood/node.lua", root);
	snprintf(which, sizeof(which), "WISP_FLOOD=%s", flood);
	snprintf(log_rate, sizeof(log_rate), "WISP_LOG_RATE=%d", rate);
	char *args[] = { (char *)wisp_exe, conf, "n", NULL };
	char *env[] = { which, log_rate, NULL };
	if (proc_start(p, args, env) < 0)
		return -1;
	p->label = flood;
	proc_guard(p, 1, 100);
	if (proc_wait_output(p, "flood done", 60000))
		return 0;
	CHECK(!"the flood ended");
	proc_dump(p);
	proc_stop(p, 5000);
	proc_cleanup(p);
	return -1;
}

/* The flood's figures from its last line. */
static void done_line(const struct proc *p, long *tried, long *ms, long *ticks)
{
	char *out = proc_output(p, 0), *at = strstr(out, "flood done");
	*tried = at ? number_after(at, "tried=") : -1;
	*ms = at ? number_after(at, "ms=") : -1;
	*ticks = at ? number_after(at, "ticks=") : -1;
	free(out);
}

/* Waits up to 10 s for every line tried to be in the log or in a count:
 * the last counts come a second after the flood stops. */
static struct tally settle(const struct proc *p, long tried, const char *text,
	const char *place)
{
	struct tally t = count(p, text, place);
	for (int i = 0; i < 100 && t.kept + t.held + t.dropped < tried; i++) {
		usleep(100000);
		t = count(p, text, place);
	}
	return t;
}

/* Stops the node; its output stays until proc_cleanup. */
static void stop(struct proc *p)
{
	CHECK_INT(proc_stop_clean(p, 10000), 0);
	/* the runtime's own lines come through after any flood */
	char *out = proc_output(p, 0);
	CHECK(strstr(out, "all services stopped") != NULL);
	free(out);
	if (test_failures)
		proc_dump(p);
}

/* One place flooding: a burst, then PLACE_RATE lines a second, plus about
 * one count a second; all the rest counted. A rarer place loses nothing.
 * With at_once, the node stops as soon as the flood is done: the counts
 * still come out, as it stops. */
static struct tally one_place(const char *flood, const char *text,
	const char *place, int at_once)
{
	struct proc p;
	struct tally t;
	memset(&t, 0, sizeof(t));
	if (start(&p, flood, 1000) < 0)
		return t;
	long tried, ms, ticks;
	done_line(&p, &tried, &ms, &ticks);
	if (at_once)
		stop(&p);
	t = settle(&p, tried, text, place);
	printf("%s: %ld lines tried in %ld ms: %ld kept, %ld in %ld counts, "
		"%ld dropped, %ld ticks of %ld\n", flood, tried, ms, t.kept, t.held,
		t.summaries, t.dropped, t.ticks, ticks);
	CHECK_INT(t.kept + t.held, tried);
	CHECK_INT(t.dropped, 0);
	CHECK(t.kept >= PLACE_BURST);
	CHECK(t.kept <= PLACE_BURST + PLACE_RATE * (ms / 1000 + 1));
	CHECK(t.summaries >= 1 && t.summaries <= 2 * (ms / 1000 + 2));
	CHECK_INT(t.ticks, ticks);
	CHECK(!t.ticker_held);
	if (!at_once)
		stop(&p);
	proc_cleanup(&p);
	return t;
}

static void repeated_line(void)
{
	struct tally t = one_place("repeated", " flood line ", "flood.lua:", 0);
	CHECK(t.distinct); /* another line of the same service still logs */
}

static void handler_errors(void)
{
	one_place("errors", "deliberate failure", "target.lua:", 0);
}

static void c_warnings(void)
{
	one_place("unhandled", "no handler for messages of type",
		"\"no handler for messages of type", 1);
}

/* Places past counting one by one: the node writes no more than its
 * log_rate (a burst of two seconds' worth, then NODE_RATE a second) and
 * says how many lines it dropped. */
static void many_places(void)
{
	struct proc p;
	if (start(&p, "places", NODE_RATE) < 0)
		return;
	long tried, ms, ticks;
	done_line(&p, &tried, &ms, &ticks);
	struct tally t = settle(&p, tried, "distinct place", "places:");
	/* the flood, the 3 s after it, and the node's own start */
	long bound = 2 * NODE_RATE + NODE_RATE * (ms + 3000 + 1000) / 1000 + 20;
	printf("places: %ld lines tried in %ld ms: %ld lines in the log "
		"(at most %ld), %ld kept, %ld in counts, %ld dropped\n", tried, ms,
		t.lines, bound, t.kept, t.held, t.dropped);
	CHECK_INT(t.kept + t.held + t.dropped, tried);
	CHECK(t.lines <= bound);
	CHECK(tried >= 5 * bound); /* it did flood past the rate */
	CHECK(t.dropped > 0);
	char *out = proc_output(&p, 0);
	CHECK(strstr(out, "log_rate (200 lines/s) reached") != NULL);
	free(out);
	stop(&p);
	proc_cleanup(&p);
}

/* log_rate = 0: no flood control, every line is written. */
static void control_off(void)
{
	struct proc p;
	if (start(&p, "repeated", 0) < 0)
		return;
	long tried, ms, ticks;
	done_line(&p, &tried, &ms, &ticks);
	struct tally t = settle(&p, tried, " flood line ", "flood.lua:");
	CHECK_INT(t.kept, tried);
	CHECK_INT(t.summaries + t.dropped, 0);
	stop(&p);
	proc_cleanup(&p);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_logflood WISP SOURCE_ROOT\n");
		return 2;
	}
	wisp_exe = argv[1];
	root = argv[2];
	RUN(repeated_line);
	RUN(handler_errors);
	RUN(c_warnings);
	RUN(many_places);
	RUN(control_off);
	return TEST_END();
}
