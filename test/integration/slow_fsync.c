/* slow_fsync.c: an LD_PRELOAD library for tests and benchmarks: while the
 * file named by WISP_SLOW_FSYNC exists, every fsync and fdatasync of the
 * process first sleeps the milliseconds written in it, as a slow or busy
 * disk would. The file can come and go during the run, so a test slows
 * the disk only once its setup is done. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long delay_ms(void)
{
	const char *path = getenv("WISP_SLOW_FSYNC");
	FILE *f = path ? fopen(path, "r") : NULL;
	long ms = 0;
	if (f) {
		if (fscanf(f, "%ld", &ms) != 1)
			ms = 0;
		fclose(f);
	}
	return ms;
}

static void slow_down(void)
{
	int saved = errno;
	long ms = delay_ms();
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&left, &left) < 0 && errno == EINTR)
		;
	errno = saved;
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	slow_down();
	return real(fd);
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	slow_down();
	return real(fd);
}
