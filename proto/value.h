/* value.h: the serializer for Lua values carried by WISP_MSG_LUA messages.
 * The byte format is specified in VALUE.md. */
#ifndef WISP_VALUE_H
#define WISP_VALUE_H

#include <stddef.h>
#include <lua.h>

/* At most this many tables on any path from a packed value inward, so
 * neither side recurses without bound. */
#define WISP_VALUE_MAX_DEPTH 100

/* Packs the Lua values at stack indexes from..to (inclusive; from > to
 * packs none) into one buffer from wisp_proto_malloc; *sz gets its size.
 * Tables are read raw: metatables are neither consulted nor sent. Raises a
 * Lua error, freeing what it allocated, on a table cycle, a function,
 * userdata or thread (the message names the argument as its stack index
 * and the key path, e.g. "cannot serialize a function (in argument 2, at
 * cb)"), or on tables nested deeper than WISP_VALUE_MAX_DEPTH. */
void *wisp_value_pack(lua_State *L, int from, int to, size_t *sz);

/* Pushes the values packed in data[0..sz) and returns how many. Raises a
 * Lua error naming the fault and its byte offset when data is not exactly
 * one well-formed encoding; it never reads outside data and allocates no
 * more than a small multiple of sz. */
int wisp_value_unpack(lua_State *L, const void *data, size_t sz);

#endif
