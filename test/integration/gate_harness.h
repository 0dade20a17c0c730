/* gate_harness.h: what tests of a gate share: a net node of a test
 * config started with its gate on a free port, and clients of the client
 * library (tools/client) connected to it, sending frames and checking
 * what comes back. A check returns 0, or -1 after saying on stderr what
 * was wrong; the test counts it (CHECK_INT(..., 0)). */
#ifndef WISP_GATE_HARNESS_H
#define WISP_GATE_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"
#include "wisp_client.h"

/* Starts `wisp conf name` (labelled name) with WISP_GATE_PORT set to a
 * free port, put in *port, and waits up to ms for its gate to listen
 * there. 0, or -1. */
int gate_node_start(struct proc *p, const char *wisp, const char *conf,
	const char *name, int *port, int ms);

/* A client speaking proto, connected to 127.0.0.1:port within ms; if it
 * could not connect (said), every call on it fails. */
struct wisp_cli *gate_connect(const struct wisp_client_proto *proto,
	int port, int ms);
/* The client's local port, which the gate's log names it by. */
int gate_cli_port(const struct wisp_cli *c);
/* "client 127.0.0.1:PORT ", as the gate names a client in its log. */
void gate_client_tag(char *buf, size_t n, int port);

/* Sends command with body (a string). */
int gate_send(struct wisp_cli *c, uint32_t command, const char *body,
	int ms);
/* The next frame, within ms, is command with size bytes of body. */
int gate_expect(struct wisp_cli *c, uint32_t command, const void *body,
	size_t size, int ms);
/* Sends text as command and gets the same back (an echo command). */
int gate_echo(struct wisp_cli *c, uint32_t command, const char *text,
	int ms);
/* Sends command with body, and copies the body of the answer into out
 * (n bytes; "" if none came). 0 when an answer of that command came. */
int gate_ask(struct wisp_cli *c, uint32_t command, const char *body,
	char *out, size_t n, int ms);
/* 1 when the server ends the connection (EOF or reset) within ms with no
 * frame before; else 0, saying what came instead. */
int gate_closed_by_server(struct wisp_cli *c, int ms);

#endif
