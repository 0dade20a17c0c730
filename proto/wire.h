/* wire.h: what the wire formats say about addresses, shared with the
 * runtime without depending on it: the layout of a handle and what a
 * service name may hold. runtime/wisp.h, which service authors include
 * alone, repeats the handle's definitions word for word; C11 allows the
 * same typedef and macro twice, and wherever both headers meet the
 * compiler refuses (typedef) or warns about (macros) two that differ. */
#ifndef WISP_WIRE_H
#define WISP_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* A handle: the node id in the high WISP_NODE_BITS, the service's slot on
 * that node in the low bits. */
typedef uint32_t wisp_handle;
#define WISP_NODE_BITS 10
#define WISP_MAX_NODE ((1u << WISP_NODE_BITS) - 1)

/* A service name: 1 to WISP_NAME_MAX characters of [A-Za-z0-9_.-]. */
#define WISP_NAME_MAX 63

/* The index of the first byte of s[0..n) that a name may not hold, or n. */
size_t wisp_name_span(const char *s, size_t n);
/* 1 when name (NUL-terminated) is a valid service name, else 0. */
int wisp_name_valid(const char *name);

#endif
