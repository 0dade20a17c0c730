/* socket.h: the node's epoll loop and its sockets. Each socket has an
 * owner handle; its events are handed to a delivery callback as
 * struct wisp_socket_msg payloads. This is the runtime's side, named
 * wisp_net_*; the public wisp_socket_* calls of wisp.h are thin wrappers
 * that pass the calling service as owner. */
#ifndef WISP_SOCKET_H
#define WISP_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include "wisp.h"

/* Takes ownership of msg (allocated with wisp_malloc). sz counts the
 * header and msg->size bytes of data; a NUL follows the data, uncounted,
 * so text payloads (a peer address, an error reason) are C strings. */
typedef void (*wisp_socket_deliver)(wisp_handle owner,
	struct wisp_socket_msg *msg, size_t sz);

int wisp_net_init(size_t write_limit, wisp_socket_deliver deliver);
void wisp_net_exit(void);
/* Waits up to timeout_ms (-1: forever, 0: not at all) and handles what is
 * ready. Returns the number of events handled, or -1 on a poll failure. */
int wisp_net_poll(int timeout_ms);
/* Watches another fd (a signalfd, say) in the same poll: ready(ud) runs
 * whenever fd is readable. */
int wisp_poll_watch(int fd, void (*ready)(void *ud), void *ud);
/* The same for events (EPOLLIN, EPOLLOUT): the watch's number, or -1. A
 * watch can change its events, and end before its fd is closed. */
int wisp_poll_watch_events(int fd, uint32_t events, void (*ready)(void *ud),
	void *ud);
int wisp_poll_rewatch(int fd, int watch, uint32_t events);
void wisp_poll_unwatch(int fd, int watch);
/* Tells owner of an event of a watched fd as the poll tells its sockets'
 * owners: a WISP_MSG_SOCKET message of event and id, with no data. */
void wisp_poll_notify(wisp_handle owner, int event, int id);
/* Runs fn(ud) once when wisp_net_flush next runs, at the end of the
 * scheduler's round: a client library's many small writes in a round
 * then cost one system call. cancel drops those queued for ud. */
void wisp_poll_flush_later(void (*fn)(void *ud), void *ud);
void wisp_poll_flush_cancel(void *ud);
/* Closes every socket owned by a service that is going away. */
void wisp_net_drop_owner(wisp_handle owner);

int wisp_net_listen(wisp_handle owner, const char *host, int port,
	int backlog);
int wisp_net_connect(wisp_handle owner, const char *host, int port);
/* The same over a Unix stream socket with an abstract name (Linux: no
 * file; the name goes with the socket): for peers on this host. A connect
 * nobody listens for fails at once (ECONNREFUSED). */
int wisp_net_listen_unix(wisp_handle owner, const char *name, int backlog);
int wisp_net_connect_unix(wisp_handle owner, const char *name);
int wisp_net_start(wisp_handle owner, int id);
int wisp_net_write(int id, const void *data, size_t sz);
/* As wisp_net_write, but sent when wisp_net_flush runs, at the end
 * of the scheduler's round: many small writes to one socket in a round
 * then cost one system call. The limit is checked now. */
int wisp_net_write_later(int id, const void *data, size_t sz);
/* Sends what wisp_net_write_later queued. */
void wisp_net_flush(void);
void wisp_net_close(int id);
/* Overrides the write buffer limit of one socket. */
int wisp_net_set_limit(int id, size_t bytes);
/* Flow control of reading: at most bytes handed to the owner as DATA and
 * not yet given back with wisp_net_consumed. At that many the socket is
 * not read (the kernel's buffer fills and TCP makes the peer wait) until
 * the owner is down to half. 0, the default, for no limit. A reset is
 * reported while reading is held; the peer's close comes in its turn,
 * after the bytes it sent before. */
int wisp_net_read_limit(int id, size_t bytes);
/* The owner is done with bytes of what it was handed. */
void wisp_net_consumed(int id, size_t bytes);
/* How much of what was written the peer has taken: bytes handed to the
 * kernel less those still in its send queue (not yet acknowledged over
 * TCP; not yet read over a Unix socket, where the queue is counted in
 * the kernel's memory units, so the figure may fall as more is sent). A
 * rise says the peer is there and reading; 0 for an unknown id. */
int64_t wisp_net_taken(int id);
/* The local port id is bound to (say, a listener on port 0), or -1. */
int wisp_net_port(int id);

#endif
