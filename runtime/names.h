/* names.h: local service names, name -> handle. */
#ifndef WISP_NAMES_H
#define WISP_NAMES_H

#include "wire.h" /* WISP_NAME_MAX and wisp_name_valid, proto/'s rule */
#include "wisp.h"

/* 0, or -1 when the name is invalid or held already. */
int wisp_names_add(const char *name, wisp_handle h);
/* Removes name if h holds it; 0 if it did, -1 otherwise. */
int wisp_names_remove(const char *name, wisp_handle h);
wisp_handle wisp_names_find(const char *name);
void wisp_names_exit(void);

#endif
