/* watch.c: making and mapping the page a node shares with its master
 * (watch.h): a memfd the master creates per node and the node, its
 * child, maps from the inherited descriptor. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "watch.h"

static struct wisp_watch own;
static struct wisp_watch *page = &own;

struct wisp_watch *wisp_watch_page(void)
{
	return page;
}

static struct wisp_watch *map(int fd)
{
	void *p = mmap(NULL, sizeof(struct wisp_watch), PROT_READ | PROT_WRITE,
		MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

int wisp_watch_attach(int fd)
{
	struct stat st;
	struct wisp_watch *p = NULL;
	/* shorter than the page, a write past its end would be a SIGBUS */
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(*p))
		p = map(fd);
	close(fd); /* the mapping stays; the node's children need no fd */
	if (p == NULL)
		return -1;
	page = p;
	return 0;
}

struct wisp_watch *wisp_watch_create(const char *name, int *fd)
{
	char tag[96];
	snprintf(tag, sizeof(tag), "wisp-watch-%s", name);
	*fd = memfd_create(tag, MFD_CLOEXEC);
	if (*fd < 0)
		return NULL;
	struct wisp_watch *p = NULL;
	if (ftruncate(*fd, sizeof(*p)) == 0)
		p = map(*fd);
	if (p == NULL) {
		int e = errno;
		close(*fd);
		*fd = -1;
		errno = e;
	}
	return p;
}
