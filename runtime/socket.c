/* socket.c: the node's epoll loop and every socket in it. Sockets live in
 * a slot table indexed by id; ids come from a counter cycling through
 * 1..INT_MAX, so a freed id is not handed out again until the counter comes
 * round, and a stale id simply fails to match its slot. Everything is
 * non-blocking and single threaded. Each event is handed over as one
 * wisp_malloc'd block: struct wisp_socket_msg, its data, and a NUL not
 * counted in size. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "socket.h"

#define INITIAL_SLOTS 16
#define MAX_EVENTS 64
/* A read lands in the block of the DATA message that carries it, unless
 * it filled little of it (then it is copied out, and the block kept for
 * the next read). A socket's reads follow its traffic between these
 * sizes: doubled after a read that filled its block, halved after one
 * that used less than a quarter. */
#define READ_MIN 2048
#define READ_MAX (64 * 1024)
/* Reads per readiness event, so one busy socket cannot starve the others;
 * level triggered epoll reports it again on the next poll. */
#define READ_BUDGET 4
#define ACCEPT_BUDGET 64
/* Small writes that have to wait are packed into chunks of this size. */
#define CHUNK_MIN 4096
/* "[ipv6]:port" with room to spare. */
#define ADDR_MAX 64
/* epoll keys: a socket id, or this bit plus an index into the watches. */
#define WATCH_KEY (1ull << 32)

enum state {
	S_LISTEN,     /* accepting */
	S_CONNECTING, /* waiting for the connect to finish */
	S_PAUSED,     /* accepted, not read until wisp_net_start */
	S_OPEN,       /* reading and writing */
	S_CLOSING,    /* closed by its owner, flushing what is queued */
};

struct chunk {
	struct chunk *next;
	size_t off, end, cap;
	char data[];
};

struct sock {
	int id;
	int fd;
	enum state state;
	uint32_t events; /* the mask epoll has now */
	wisp_handle owner;
	size_t limit;
	size_t queued;
	/* Read flow control (wisp_net_read_limit): bytes handed to the owner
	 * and not yet given back, at most read_limit (0: no limit). At the
	 * limit reading stops (read_held) until the owner is down to half. */
	size_t read_limit;
	size_t unconsumed;
	int read_held;
	int deferred; /* on net.dirty: has writes for the end of the round */
	uint32_t read_size; /* the next read's block: see READ_MIN */
	uint64_t sent;      /* bytes handed to the kernel, ever */
	struct chunk *head, *tail;
	char addr[ADDR_MAX]; /* the peer, or the listening address */
};

struct watch {
	void (*ready)(void *ud);
	void *ud;
};

/* A callback for the end of the round (wisp_poll_flush_later). */
struct later {
	void (*fn)(void *ud);
	void *ud;
};

static struct {
	int epfd;
	/* Held open so that on EMFILE one fd can be freed to accept and shed
	 * a connection (see shed). */
	int reserve_fd;
	struct sock **slots;
	int cap; /* a power of two */
	int next_id;
	size_t limit;
	wisp_socket_deliver deliver;
	struct watch *watches;
	int nwatches;
	struct later *laters;
	size_t nlaters, laters_cap;
	/* ids of the sockets with deferred writes, sent by wisp_net_flush */
	int *dirty;
	size_t ndirty, dirty_cap;
	/* The last read's block, when what it read was copied out: the next
	 * read goes there (see read_block) */
	struct wisp_socket_msg *spare;
	size_t spare_room;
} net = { .epfd = -1, .reserve_fd = -1 };

static struct sock *find(int id)
{
	if (id <= 0 || net.slots == NULL)
		return NULL;
	struct sock *s = net.slots[id & (net.cap - 1)];
	return s && s->id == id ? s : NULL;
}

/* A socket the API may still use: one being closed is gone for callers. */
static struct sock *find_live(int id)
{
	struct sock *s = find(id);
	if (s == NULL || s->state == S_CLOSING) {
		errno = EBADF;
		return NULL;
	}
	return s;
}

/* Doubling keeps ids distinct modulo the new size as they were modulo
 * the old one, so every socket keeps a slot of its own. */
static void grow(void)
{
	int cap = net.cap * 2;
	struct sock **slots = wisp_malloc(cap * sizeof *slots);
	memset(slots, 0, cap * sizeof *slots);
	for (int i = 0; i < net.cap; i++)
		if (net.slots[i])
			slots[net.slots[i]->id & (cap - 1)] = net.slots[i];
	wisp_free(net.slots);
	net.slots = slots;
	net.cap = cap;
}

static void alloc_id(struct sock *s)
{
	for (;;) {
		for (int i = 0; i < net.cap; i++) {
			int id = net.next_id;
			net.next_id = id == INT_MAX ? 1 : id + 1;
			struct sock **slot = &net.slots[id & (net.cap - 1)];
			if (*slot == NULL) {
				*slot = s;
				s->id = id;
				return;
			}
		}
		grow();
	}
}

static uint32_t wanted_events(const struct sock *s)
{
	uint32_t out = s->queued ? EPOLLOUT : 0;
	switch (s->state) {
	case S_LISTEN:
		return EPOLLIN;
	case S_CONNECTING:
		return EPOLLOUT;
	case S_OPEN:
		/* held: not EPOLLRDHUP either, which level triggered would report
		 * a half-closed peer again and again; EPOLLERR and EPOLLHUP still
		 * come (see stream_ready) */
		return s->read_held ? out : EPOLLIN | EPOLLRDHUP | out;
	default:
		return out;
	}
}

static void update_events(struct sock *s)
{
	uint32_t events = wanted_events(s);
	if (events == s->events)
		return;
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)s->id };
	/* Can only fail with ENOMEM for a registered fd; the next change
	 * tries again. */
	if (epoll_ctl(net.epfd, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		s->events = events;
}

static int close_keep_errno(int fd)
{
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* An abstract Unix name reads "unix:NAME"; an accepted Unix socket's
 * peer has no name. */
static void format_unix(const struct sockaddr_un *a, char *out)
{
	const char *name = a->sun_path[0] ? a->sun_path : a->sun_path + 1;
	snprintf(out, ADDR_MAX, "unix:%.*s", ADDR_MAX - 6, name); /* shown cut */
}

static void format_addr(const struct sockaddr_storage *sa, char *out)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->ss_family == AF_UNIX) {
		format_unix((const struct sockaddr_un *)sa, out);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		snprintf(out, ADDR_MAX, "[%s]:%d", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(out, ADDR_MAX, "%s:%d", ip, ntohs(a->sin_port));
	}
}

/* Takes fd over: on failure it is closed. Returns the new id or -1. */
static int sock_new(int fd, wisp_handle owner, enum state state,
	const struct sockaddr_storage *sa)
{
	struct sock *s = wisp_malloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->owner = owner;
	s->state = state;
	s->limit = net.limit;
	s->read_size = READ_MIN;
	s->events = wanted_events(s);
	format_addr(sa, s->addr);
	alloc_id(s);
	struct epoll_event ev = { .events = s->events, .data.u64 = (uint64_t)s->id };
	if (epoll_ctl(net.epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return s->id;
	net.slots[s->id & (net.cap - 1)] = NULL;
	wisp_free(s);
	return close_keep_errno(fd);
}

static void sock_free(struct sock *s)
{
	close(s->fd);
	while (s->head) {
		struct chunk *c = s->head;
		s->head = c->next;
		wisp_free(c);
	}
	net.slots[s->id & (net.cap - 1)] = NULL;
	wisp_free(s);
}

/* A message block with room for size bytes of data and the NUL. */
static struct wisp_socket_msg *new_msg(int event, int id, int ud, size_t room)
{
	struct wisp_socket_msg *m = wisp_malloc(sizeof *m + room + 1);
	m->event = event;
	m->id = id;
	m->ud = ud;
	return m;
}

/* Hands m over with size bytes of data in it. */
static void deliver(wisp_handle owner, struct wisp_socket_msg *m, size_t size)
{
	m->size = (uint32_t)size;
	m->data[size] = '\0';
	net.deliver(owner, m, sizeof *m + size);
}

static void emit(wisp_handle owner, int event, int id, int ud,
	const void *data, size_t size)
{
	struct wisp_socket_msg *m = new_msg(event, id, ud, size);
	if (size)
		memcpy(m->data, data, size);
	deliver(owner, m, size);
}

/* Frees s first, then tells its owner, unless its owner already closed it.
 * Freeing first means the delivery callback finds the id gone. */
static void drop(struct sock *s, int event, const char *text)
{
	wisp_handle owner = s->owner;
	int id = s->id;
	int quiet = s->state == S_CLOSING;
	sock_free(s);
	if (!quiet)
		emit(owner, event, id, 0, text, text ? strlen(text) : 0);
}

static void fail(struct sock *s, int err, const char *what)
{
	char reason[ADDR_MAX + 128];
	snprintf(reason, sizeof reason, "%s %s: %s", what, s->addr, strerror(err));
	drop(s, WISP_SOCKET_ERROR, reason);
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

/* Numeric hosts only: a name lookup could block the whole node. */
static int resolve(const char *host, int port, struct sockaddr_storage *sa,
	socklen_t *len)
{
	char serv[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai;
	if (host == NULL || port < 0 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	snprintf(serv, sizeof serv, "%d", port);
	int rc = getaddrinfo(host, serv, &hints, &ai);
	if (rc != 0) {
		if (rc != EAI_SYSTEM)
			errno = rc == EAI_MEMORY ? ENOMEM : EINVAL;
		return -1;
	}
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void set_nodelay(int fd, int family)
{
	int one = 1;
	if (family != AF_UNIX) /* TCP's; a Unix socket has no Nagle */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Out of fds, the pending connection would keep the listener readable and
 * the loop spinning. So give up the reserve fd, accept the connection and
 * close it at once (the client sees it closed and can retry), then take
 * the reserve back. Returns -1 when that did not work either. */
static int shed(int listen_fd)
{
	if (net.reserve_fd < 0)
		return -1;
	close(net.reserve_fd);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	net.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? 0 : -1;
}

static void accepted(struct sock *l, int fd, const struct sockaddr_storage *sa)
{
	set_nodelay(fd, sa->ss_family);
	int id = sock_new(fd, l->owner, S_PAUSED, sa);
	if (id < 0)
		return;
	const char *peer = find(id)->addr;
	emit(l->owner, WISP_SOCKET_ACCEPT, l->id, id, peer, strlen(peer));
}

/* Transient failures (ENOBUFS, ENOMEM) end this round; epoll retries. */
static void accept_ready(struct sock *l)
{
	int id = l->id;
	for (int i = 0; i < ACCEPT_BUDGET && (l = find(id)); i++) {
		struct sockaddr_storage sa = { 0 }; /* a Unix peer fills none */
		socklen_t len = sizeof sa;
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len,
			SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			accepted(l, fd, &sa);
		else if (errno == EMFILE || errno == ENFILE) {
			if (shed(l->fd) < 0)
				return;
		} else if (errno != EINTR && errno != ECONNABORTED)
			return;
	}
}

static void connect_ready(struct sock *s)
{
	int err = sock_error(s->fd);
	if (err) {
		fail(s, err, "connect to");
		return;
	}
	s->state = S_OPEN;
	update_events(s);
	emit(s->owner, WISP_SOCKET_CONNECT, s->id, 0, NULL, 0);
}

/* The peer has closed its side. What we still have to write for it (the
 * end of an answer to a client that sent its request and shut down its
 * writing half) is flushed before the socket goes; the owner hears of the
 * close now either way. */
static void peer_closed(struct sock *s)
{
	if (s->queued == 0) {
		drop(s, WISP_SOCKET_CLOSE, NULL);
		return;
	}
	wisp_handle owner = s->owner;
	int id = s->id;
	s->state = S_CLOSING;
	update_events(s);
	emit(owner, WISP_SOCKET_CLOSE, id, 0, NULL, 0);
}

/* How much the next read may take: its block's size, or what is left
 * under the read limit. */
static size_t read_room(const struct sock *s)
{
	if (s->read_limit == 0)
		return s->read_size;
	size_t room = s->read_limit - s->unconsumed;
	return room < s->read_size ? room : s->read_size;
}

/* Fits the next block to what this read of room bytes brought. */
static void adapt_read_size(struct sock *s, size_t n, size_t room)
{
	if (n == room && room == s->read_size && s->read_size < READ_MAX)
		s->read_size *= 2;
	else if (n < s->read_size / 4 && s->read_size > READ_MIN)
		s->read_size /= 2;
}

/* Counts n bytes handed to the owner against the read limit; stops
 * reading at it. */
static void handed_out(struct sock *s, size_t n)
{
	if (s->read_limit == 0)
		return;
	s->unconsumed += n;
	if (s->unconsumed >= s->read_limit) {
		s->read_held = 1;
		update_events(s);
	}
}

/* A block for a read of room bytes: the spare one if it is large enough. */
static struct wisp_socket_msg *read_block(int id, size_t room)
{
	struct wisp_socket_msg *m = net.spare;
	if (m == NULL || net.spare_room < room) {
		wisp_free(m);
		m = new_msg(WISP_SOCKET_DATA, id, 0, room);
		net.spare_room = room;
	}
	net.spare = NULL;
	m->id = id;
	return m;
}

/* Hands over n bytes read into m: m itself when they fill a good part of
 * it (no copy), else a copy of their size, and m stays for the next read,
 * so that a small read holds no large block while it waits. */
static void hand_over(struct sock *s, struct wisp_socket_msg *m, size_t n)
{
	if (n >= net.spare_room / 4) {
		deliver(s->owner, m, n);
		return;
	}
	net.spare = m;
	emit(s->owner, WISP_SOCKET_DATA, s->id, 0, m->data, n);
}

static void read_ready(struct sock *s)
{
	int id = s->id;
	for (int i = 0; i < READ_BUDGET && !s->read_held; i++) {
		size_t room = read_room(s);
		struct wisp_socket_msg *m = read_block(id, room);
		ssize_t n = read(s->fd, m->data, room);
		int err = errno;
		if (n <= 0)
			net.spare = m;
		if (n > 0) {
			adapt_read_size(s, (size_t)n, room);
			handed_out(s, (size_t)n);
			hand_over(s, m, (size_t)n);
			/* A short read means the buffer is likely empty; the
			 * callback may have closed the socket. */
			if ((size_t)n < room || !(s = find(id)) ||
				s->state != S_OPEN)
				return;
		} else if (n == 0) {
			peer_closed(s);
			return;
		} else if (err != EINTR) {
			if (err != EAGAIN && err != EWOULDBLOCK)
				fail(s, err, "read from");
			return;
		}
	}
}

/* Sends from p until done or the kernel's buffer is full. Returns the
 * bytes sent, or -1 after failing the socket. */
static ssize_t send_some(struct sock *s, const char *p, size_t sz)
{
	size_t done = 0;
	while (done < sz) {
		ssize_t n = send(s->fd, p + done, sz - done, MSG_NOSIGNAL);
		if (n >= 0) {
			done += (size_t)n;
			s->sent += (uint64_t)n;
		}
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else if (errno != EINTR) {
			int err = errno;
			fail(s, err, "write to");
			errno = err;
			return -1;
		}
	}
	return (ssize_t)done;
}

/* Returns 0 while s lives, -1 once it is freed: after a failure, or when
 * a closing socket has sent its last byte. */
static int flush(struct sock *s)
{
	while (s->head) {
		struct chunk *c = s->head;
		ssize_t n = send_some(s, c->data + c->off, c->end - c->off);
		if (n < 0)
			return -1;
		c->off += (size_t)n;
		s->queued -= (size_t)n;
		if (c->off < c->end)
			break;
		s->head = c->next;
		wisp_free(c);
	}
	if (s->head == NULL)
		s->tail = NULL;
	if (s->state == S_CLOSING && s->queued == 0) {
		sock_free(s);
		return -1;
	}
	update_events(s);
	return 0;
}

static void enqueue(struct sock *s, const char *p, size_t sz)
{
	struct chunk *t = s->tail;
	if (t == NULL || t->cap - t->end < sz) {
		size_t cap = sz > CHUNK_MIN ? sz : CHUNK_MIN;
		t = wisp_malloc(sizeof *t + cap);
		t->next = NULL;
		t->off = t->end = 0;
		t->cap = cap;
		if (s->tail)
			s->tail->next = t;
		else
			s->head = t;
		s->tail = t;
	}
	memcpy(t->data + t->end, p, sz);
	t->end += sz;
	s->queued += sz;
}

/* A socket that is not being read (accepted and not started, held at its
 * read limit, or closing) still hears of a reset as EPOLLERR/EPOLLHUP,
 * reported again and again until the socket goes. */
static void lost(struct sock *s)
{
	int err = sock_error(s->fd);
	if (err)
		fail(s, err, "connection to");
	else
		drop(s, WISP_SOCKET_CLOSE, NULL);
}

static void stream_ready(struct sock *s, uint32_t ev)
{
	if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && s->queued && flush(s) < 0)
		return;
	int reading = s->state == S_OPEN && !s->read_held;
	if (reading && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		read_ready(s);
	else if (!reading && (ev & (EPOLLERR | EPOLLHUP)))
		lost(s);
}

static void handle_event(uint64_t key, uint32_t ev)
{
	if (key & WATCH_KEY) {
		struct watch *w = &net.watches[key & ~WATCH_KEY];
		if (w->ready) /* NULL: unwatched earlier in this batch */
			w->ready(w->ud);
		return;
	}
	struct sock *s = find((int)key);
	if (s == NULL) /* freed earlier in this batch */
		return;
	if (s->state == S_LISTEN)
		accept_ready(s);
	else if (s->state == S_CONNECTING)
		connect_ready(s);
	else
		stream_ready(s, ev);
}

int wisp_net_init(size_t write_limit, wisp_socket_deliver deliver)
{
	net.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (net.epfd < 0)
		return -1;
	net.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	net.cap = INITIAL_SLOTS;
	net.slots = wisp_malloc(net.cap * sizeof *net.slots);
	memset(net.slots, 0, net.cap * sizeof *net.slots);
	net.next_id = 1;
	net.limit = write_limit;
	net.deliver = deliver;
	return 0;
}

/* Closes at once, queued writes or not: the node is going down. */
void wisp_net_exit(void)
{
	for (int i = 0; i < net.cap; i++)
		if (net.slots[i])
			sock_free(net.slots[i]);
	wisp_free(net.slots);
	wisp_free(net.watches);
	wisp_free(net.laters);
	wisp_free(net.dirty);
	wisp_free(net.spare);
	if (net.epfd >= 0)
		close(net.epfd);
	if (net.reserve_fd >= 0)
		close(net.reserve_fd);
	memset(&net, 0, sizeof net);
	net.epfd = net.reserve_fd = -1;
}

int wisp_net_poll(int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(net.epfd, ev, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++)
		handle_event(ev[i].data.u64, ev[i].events);
	return n;
}

/* A free slot (ready NULL) is taken again before the table grows. */
int wisp_poll_watch_events(int fd, uint32_t events, void (*ready)(void *ud),
	void *ud)
{
	int slot = 0;
	while (slot < net.nwatches && net.watches[slot].ready)
		slot++;
	struct epoll_event ev = { .events = events,
		.data.u64 = WATCH_KEY | (uint64_t)slot };
	if (epoll_ctl(net.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	if (slot == net.nwatches)
		net.watches = wisp_realloc(net.watches,
			++net.nwatches * sizeof *net.watches);
	net.watches[slot] = (struct watch){ ready, ud };
	return slot;
}

void wisp_poll_notify(wisp_handle owner, int event, int id)
{
	emit(owner, event, id, 0, NULL, 0);
}

int wisp_poll_watch(int fd, void (*ready)(void *ud), void *ud)
{
	return wisp_poll_watch_events(fd, EPOLLIN, ready, ud) < 0 ? -1 : 0;
}

int wisp_poll_rewatch(int fd, int watch, uint32_t events)
{
	struct epoll_event ev = { .events = events,
		.data.u64 = WATCH_KEY | (uint64_t)watch };
	return epoll_ctl(net.epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* fd may be closed already (then epoll has dropped it): the slot is
 * freed all the same. */
void wisp_poll_unwatch(int fd, int watch)
{
	epoll_ctl(net.epfd, EPOLL_CTL_DEL, fd, NULL);
	net.watches[watch] = (struct watch){ NULL, NULL };
}

/* As if the owner closed each one, so what it wrote is still sent. A
 * linear scan of the slot table: services exit rarely, and the table is
 * only as large as the most sockets ever open at once. */
void wisp_net_drop_owner(wisp_handle owner)
{
	for (int i = 0; i < net.cap; i++) {
		struct sock *s = net.slots[i];
		if (s && s->owner == owner)
			wisp_net_close(s->id);
	}
}

static int listen_at(wisp_handle owner, const struct sockaddr_storage *sa,
	socklen_t len, int backlog)
{
	int one = 1;
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((sa->ss_family != AF_UNIX && setsockopt(fd, SOL_SOCKET,
			SO_REUSEADDR, &one, sizeof one) < 0) ||
		bind(fd, (const struct sockaddr *)sa, len) < 0 ||
		listen(fd, backlog) < 0)
		return close_keep_errno(fd);
	return sock_new(fd, owner, S_LISTEN, sa);
}

/* Even a connect that completes at once is reported through the poll, so
 * the CONNECT event always follows the id being returned. A refusal known
 * at once (nobody listens on a Unix name) fails here. */
static int connect_to(wisp_handle owner, const struct sockaddr_storage *sa,
	socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_nodelay(fd, sa->ss_family);
	if (connect(fd, (const struct sockaddr *)sa, len) < 0
		&& errno != EINPROGRESS)
		return close_keep_errno(fd);
	return sock_new(fd, owner, S_CONNECTING, sa);
}

/* NULL or "" listens on every IPv4 address. */
int wisp_net_listen(wisp_handle owner, const char *host, int port,
	int backlog)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (resolve(host && *host ? host : "0.0.0.0", port, &sa, &len) < 0)
		return -1;
	return listen_at(owner, &sa, len, backlog);
}

int wisp_net_connect(wisp_handle owner, const char *host, int port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (resolve(host, port, &sa, &len) < 0)
		return -1;
	return connect_to(owner, &sa, len);
}

/* The abstract Unix address of name: no file, gone with its socket. */
static int unix_addr(const char *name, struct sockaddr_storage *sa,
	socklen_t *len)
{
	struct sockaddr_un *a = (struct sockaddr_un *)sa;
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(a->sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

int wisp_net_listen_unix(wisp_handle owner, const char *name, int backlog)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (unix_addr(name, &sa, &len) < 0)
		return -1;
	return listen_at(owner, &sa, len, backlog);
}

int wisp_net_connect_unix(wisp_handle owner, const char *name)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (unix_addr(name, &sa, &len) < 0)
		return -1;
	return connect_to(owner, &sa, len);
}

/* Also hands a started socket (or a listener) to a new owner. */
int wisp_net_start(wisp_handle owner, int id)
{
	struct sock *s = find_live(id);
	if (s == NULL)
		return -1;
	s->owner = owner;
	if (s->state == S_PAUSED) {
		s->state = S_OPEN;
		update_events(s);
	}
	return 0;
}

static int over_limit(struct sock *s)
{
	char reason[96];
	snprintf(reason, sizeof reason,
		"write buffer limit of %zu bytes exceeded", s->limit);
	drop(s, WISP_SOCKET_ERROR, reason);
	errno = ENOBUFS;
	return -1;
}

/* A socket that can be written to, or NULL with errno set. */
static struct sock *find_writable(int id)
{
	struct sock *s = find_live(id);
	if (s && s->state == S_LISTEN) {
		errno = ENOTCONN;
		return NULL;
	}
	return s;
}

/* While connecting, or with bytes already queued, new bytes go to the
 * back of the queue to keep their order. */
int wisp_net_write(int id, const void *data, size_t sz)
{
	struct sock *s = find_writable(id);
	if (s == NULL)
		return -1;
	ssize_t sent = 0;
	if (s->queued == 0 && s->state != S_CONNECTING) {
		sent = send_some(s, data, sz);
		if (sent < 0)
			return -1;
	}
	size_t rest = sz - (size_t)sent;
	if (rest == 0)
		return 0;
	if (s->queued + rest > s->limit)
		return over_limit(s);
	enqueue(s, (const char *)data + sent, rest);
	update_events(s);
	return 0;
}

/* Nothing is sent now, and epoll is not told: the bytes wait in the queue
 * for wisp_net_flush, which usually sends them all in one call. */
int wisp_net_write_later(int id, const void *data, size_t sz)
{
	struct sock *s = find_writable(id);
	if (s == NULL)
		return -1;
	if (s->queued + sz > s->limit)
		return over_limit(s);
	if (sz == 0)
		return 0;
	enqueue(s, data, sz);
	if (!s->deferred) {
		if (net.ndirty == net.dirty_cap) {
			net.dirty_cap = net.dirty_cap ? net.dirty_cap * 2 : 64;
			net.dirty = wisp_realloc(net.dirty,
				net.dirty_cap * sizeof *net.dirty);
		}
		net.dirty[net.ndirty++] = s->id;
		s->deferred = 1;
	}
	return 0;
}

/* A callback may queue another, or cancel one: the list is taken first,
 * and one queued meanwhile waits for the next round. */
static void run_laters(void)
{
	struct later *list = net.laters;
	size_t n = net.nlaters, cap = net.laters_cap;
	net.laters = NULL;
	net.nlaters = net.laters_cap = 0;
	for (size_t i = 0; i < n; i++)
		if (list[i].fn)
			list[i].fn(list[i].ud);
	if (net.laters == NULL) {
		net.laters = list;
		net.laters_cap = cap;
	} else {
		wisp_free(list);
	}
}

/* A socket whose queue was already waiting for EPOLLOUT is left to it;
 * one still connecting sends when it connects. */
void wisp_net_flush(void)
{
	for (size_t i = 0; i < net.ndirty; i++) {
		struct sock *s = find(net.dirty[i]);
		if (s == NULL || !s->deferred)
			continue;
		s->deferred = 0;
		if (s->state == S_CONNECTING || (s->events & EPOLLOUT))
			update_events(s);
		else
			flush(s);
	}
	net.ndirty = 0;
	run_laters();
}

void wisp_poll_flush_later(void (*fn)(void *ud), void *ud)
{
	if (net.nlaters == net.laters_cap) {
		net.laters_cap = net.laters_cap ? 2 * net.laters_cap : 8;
		net.laters = wisp_realloc(net.laters,
			net.laters_cap * sizeof(*net.laters));
	}
	net.laters[net.nlaters++] = (struct later){ fn, ud };
}

void wisp_poll_flush_cancel(void *ud)
{
	for (size_t i = 0; i < net.nlaters; i++)
		if (net.laters[i].ud == ud)
			net.laters[i].fn = NULL;
}

/* A socket still connecting is closed at once, its queue dropped: it may
 * never connect, and nobody would hear of it. */
void wisp_net_close(int id)
{
	struct sock *s = find_live(id);
	if (s == NULL)
		return;
	if (s->queued && s->state != S_CONNECTING) {
		s->state = S_CLOSING;
		update_events(s);
	} else
		sock_free(s);
}

int wisp_net_set_limit(int id, size_t bytes)
{
	struct sock *s = find_live(id);
	if (s == NULL)
		return -1;
	s->limit = bytes;
	return 0;
}

int wisp_net_read_limit(int id, size_t bytes)
{
	struct sock *s = find_live(id);
	if (s == NULL)
		return -1;
	s->read_limit = bytes;
	s->read_held = bytes && s->unconsumed >= bytes;
	update_events(s);
	return 0;
}

/* Half the limit before reading again: a client kept at its limit is then
 * read in runs rather than a few bytes at a time, each costing two
 * epoll_ctl calls. */
void wisp_net_consumed(int id, size_t bytes)
{
	struct sock *s = find_live(id);
	if (s == NULL || s->read_limit == 0)
		return;
	s->unconsumed -= bytes < s->unconsumed ? bytes : s->unconsumed;
	if (s->read_held && s->unconsumed <= s->read_limit / 2) {
		s->read_held = 0;
		update_events(s);
	}
}

int64_t wisp_net_taken(int id)
{
	struct sock *s = find_live(id);
	int queued = 0;
	if (s == NULL || ioctl(s->fd, SIOCOUTQ, &queued) < 0)
		return 0;
	return (int64_t)s->sent - queued;
}

int wisp_net_port(int id)
{
	struct sock *s = find_live(id);
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (s == NULL || getsockname(s->fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}
