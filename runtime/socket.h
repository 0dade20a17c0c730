/* socket.h: the node's epoll loop and its sockets. Each socket has an
 * owner handle; its events are handed to a delivery callback as
 * struct wisp_socket_msg payloads. The public wisp_socket_* calls in
 * wisp.h are thin wrappers that pass the calling service as owner. */
#ifndef WISP_SOCKET_H
#define WISP_SOCKET_H

#include <stddef.h>
#include "wisp.h"

/* Takes ownership of msg (allocated with wisp_malloc). sz counts the
 * header and msg->size bytes of data; a NUL follows the data, uncounted,
 * so text payloads (a peer address, an error reason) are C strings. */
typedef void (*wisp_socket_deliver)(wisp_handle owner,
	struct wisp_socket_msg *msg, size_t sz);

int wisp_sockets_init(size_t write_limit, wisp_socket_deliver deliver);
void wisp_sockets_exit(void);
/* Waits up to timeout_ms (-1: forever, 0: not at all) and handles what is
 * ready. Returns the number of events handled, or -1 on a poll failure. */
int wisp_sockets_poll(int timeout_ms);
/* Watches another fd (a signalfd, say) in the same poll: ready(ud) runs
 * whenever fd is readable. */
int wisp_poll_watch(int fd, void (*ready)(void *ud), void *ud);
/* Closes every socket owned by a service that is going away. */
void wisp_sockets_drop_owner(wisp_handle owner);

int wisp_sock_listen(wisp_handle owner, const char *host, int port,
	int backlog);
int wisp_sock_connect(wisp_handle owner, const char *host, int port);
int wisp_sock_start(wisp_handle owner, int id);
int wisp_sock_write(int id, const void *data, size_t sz);
/* As wisp_sock_write, but sent when wisp_sockets_flush runs, at the end
 * of the scheduler's round: many small writes to one socket in a round
 * then cost one system call. The limit is checked now. */
int wisp_sock_write_later(int id, const void *data, size_t sz);
/* Sends what wisp_sock_write_later queued. */
void wisp_sockets_flush(void);
void wisp_sock_close(int id);
/* Overrides the write buffer limit of one socket. */
int wisp_sock_set_limit(int id, size_t bytes);
/* Flow control of reading: at most bytes handed to the owner as DATA and
 * not yet given back with wisp_sock_consumed. At that many the socket is
 * not read (the kernel's buffer fills and TCP makes the peer wait) until
 * the owner is down to half. 0, the default, for no limit. A reset is
 * reported while reading is held; the peer's close comes in its turn,
 * after the bytes it sent before. */
int wisp_sock_read_limit(int id, size_t bytes);
/* The owner is done with bytes of what it was handed. */
void wisp_sock_consumed(int id, size_t bytes);
/* The local port id is bound to (say, a listener on port 0), or -1. */
int wisp_sock_port(int id);

#endif
