/* handle.h: the node's table from handle to live service. */
#ifndef WISP_HANDLE_H
#define WISP_HANDLE_H

#include <stddef.h>
#include "wisp.h"

struct wisp_context;

void wisp_handles_init(uint32_t node_id);
void wisp_handles_exit(void);
uint32_t wisp_node_id(void);
/* A fresh handle for ctx, or 0 when every local slot is taken. */
wisp_handle wisp_handle_add(struct wisp_context *ctx);
/* The live local service with this handle, or NULL. */
struct wisp_context *wisp_handle_grab(wisp_handle h);
void wisp_handle_remove(wisp_handle h);
size_t wisp_handle_count(void);
/* Every live handle, oldest first, in a wisp_malloc'd array. */
wisp_handle *wisp_handle_list(size_t *count);

#endif
