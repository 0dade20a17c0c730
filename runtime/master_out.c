/* master_out.c: what a node last wrote to its NODE.out (its stdout and
 * stderr), for the master's line about its exit. A node that fails at
 * start says why there (a config error, a missing script), not in its
 * log, so the master's "exited with code 1" alone sent the operator
 * looking for a file. Only what this run wrote is read, only its tail,
 * and it is made printable: a node's output is not trusted to be short
 * or clean. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "master.h"

/* At most this much of the end is read, and that many lines told. */
#define TAIL_BYTES 1024
#define TAIL_LINES 3

long long wisp_master_out_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Control characters and bytes past ASCII become '?': the line goes into
 * the master's own log, one line per line. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* The start of the last TAIL_LINES lines of text[0..len), trailing newlines
 * dropped (text is cut to end at its last line). */
static char *last_lines(char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	text[len] = '\0';
	char *start = text + len;
	for (int lines = 0; start > text; start--)
		if (start[-1] == '\n' && ++lines == TAIL_LINES)
			break;
	return start;
}

/* Reads the tail of what was written since from (nothing: 0); *cut when
 * more came before it. */
static size_t read_tail(const char *path, long long from, char *buf,
	size_t size, int *cut)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	long long end = wisp_master_out_size(path);
	*cut = end - from > (long long)size - 1;
	if (*cut)
		from = end - ((long long)size - 1);
	size_t got = 0;
	if (end > from && fseek(f, (long)from, SEEK_SET) == 0)
		got = fread(buf, 1, (size_t)(end - from), f);
	fclose(f);
	return got;
}

void wisp_master_out_tell(const struct wisp_master_node *n)
{
	char buf[TAIL_BYTES + 1];
	int cut = 0;
	size_t got = read_tail(n->out, n->out_from, buf, sizeof(buf), &cut);
	if (got == 0)
		return;
	char *line = last_lines(buf, got);
	if (cut && line == buf && strchr(buf, '\n')) /* the first is partial */
		line = strchr(buf, '\n') + 1;
	while (*line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		printable(line);
		if (*line)
			wisp_master_log(WISP_LOG_WARN, "node %s said: %s", n->name,
				line);
		line = next ? next : line + strlen(line);
	}
}
