/* watch.h: the page a node shares with the master that started it, so
 * that the master can tell a node stuck in a handler from one that is
 * busy or idle. The node writes it with plain stores (no system call, no
 * clock read on its path); the master only reads it. */
#ifndef WISP_WATCH_H
#define WISP_WATCH_H

#include <stdatomic.h>
#include <stdint.h>

enum wisp_watch_state {
	WISP_WATCH_STARTING, /* not judged: a start may load a lot */
	WISP_WATCH_RUNNING,  /* in its loop: it must make progress */
	WISP_WATCH_IDLE,     /* waiting for events: as good as progress */
	WISP_WATCH_DONE,     /* its loop is over; it is exiting */
};

#define WISP_WATCH_LABEL 48

struct wisp_watch {
	_Atomic uint64_t progress; /* messages handled and loops run */
	_Atomic uint32_t state;    /* enum wisp_watch_state */
	_Atomic uint32_t handle;   /* the service having its turn; 0: none */
	_Atomic int32_t type;      /* the type of the message it handles */
	char label[WISP_WATCH_LABEL]; /* that service's module, cut to fit */
};

/* Where the node writes: the master's page once attached, else a page of
 * its own that nobody reads. */
struct wisp_watch *wisp_watch_page(void);
/* The node: maps the page the master handed it as fd (--watch FD), then
 * closes fd. 0, or -1 with errno. */
int wisp_watch_attach(int fd);
/* The master: a new zeroed page in a memfd (close-on-exec) for the node
 * called name; its fd in *fd. NULL with errno when it cannot be made. */
struct wisp_watch *wisp_watch_create(const char *name, int *fd);

#endif
