/* process.c: what the node's process uses, as Prometheus names it
 * (process_cpu_seconds_total, process_resident_memory_bytes, ...): for
 * the metrics endpoint and `wisp-ctl top`. Read from the kernel at each
 * call; nothing is kept but the start time, which does not change. And
 * the open-file limit, which services that hold many sockets raise. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "process.h"

static double cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec
		+ (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t resident_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	uint64_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0; /* not the one opendir holds */
}

/* Seconds since the epoch when the process started: the boot time
 * (/proc/stat's btime) plus its start in ticks after boot (field 22 of
 * /proc/self/stat, which follows the name in parentheses). */
static double start_time(void)
{
	static double at = -1;
	if (at >= 0)
		return at;
	char buf[1024], line[256];
	unsigned long long btime = 0, ticks = 0;
	FILE *f = fopen("/proc/stat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/self/stat", "r");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')');
	/* after ") ": state is field 3, starttime field 22 */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			"%*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &ticks) != 1)
		return at = 0;
	return at = (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

void wisp_process_stats(struct wisp_process_stats *s)
{
	struct rlimit rl;
	s->cpu_seconds = cpu_seconds();
	s->resident_bytes = resident_bytes();
	s->open_fds = open_fds();
	s->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0
		&& rl.rlim_cur != RLIM_INFINITY ? (uint64_t)rl.rlim_cur : 0;
	s->start_time = start_time();
}

static uint64_t limit_value(rlim_t v)
{
	return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

int wisp_fd_limit_raise(uint64_t need, uint64_t *was, uint64_t *now)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		*was = *now = 0;
		return -1;
	}
	*was = *now = limit_value(rl.rlim_cur);
	if (*was >= need)
		return 0;
	rl.rlim_cur = limit_value(rl.rlim_max) >= need ? (rlim_t)need
		: rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		*now = limit_value(rl.rlim_cur);
	return *now >= need ? 0 : -1;
}
