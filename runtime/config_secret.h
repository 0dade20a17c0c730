/* config_secret.h: what makes a cluster secret acceptable (config.c
 * refuses any other), and fresh random secrets (wisp --new-secret). */
#ifndef WISP_CONFIG_SECRET_H
#define WISP_CONFIG_SECRET_H

#include <stddef.h>

#define WISP_SECRET_MIN_LEN 32 /* characters (bytes) */
#define WISP_SECRET_NEW_LEN 43 /* 32 random bytes in base64url, unpadded */

/* NULL when secret may be a cluster secret; otherwise why not, written
 * into why as words that follow "the secret" ("is 9 characters long..."),
 * never quoting the secret itself. */
const char *wisp_secret_weakness(const char *secret, char *why, size_t whysz);
/* A fresh random secret that the rules accept, into out (at least
 * WISP_SECRET_NEW_LEN + 1 bytes): 0, or -1 with errno set when the system
 * gives no randomness. */
int wisp_secret_new(char *out);

#endif
