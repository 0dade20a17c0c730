/* config_secret.c: the rules a cluster secret must meet and the making of
 * secrets that meet them. The harbor's key exchange lets a peer without
 * the secret test one guess per connection, online; a secret that is
 * short, repetitive or printed in this repository falls to a handful of
 * such guesses, so the config refuses it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "config_secret.h"

/* Every fixed secret wisp's repository ever shipped, in configs, tests,
 * the README and the demo (git log -p | grep -i secret): anyone can read
 * them, so they are the first guesses of an attacker. A secret that is
 * one of them, or holds one of 8 characters or more, is refused. */
static const char *const example_secrets[] = {
	"change-me",
	"change-this-demo-secret",
	"cluster secret",
	"a cluster secret long enough for the rules",
	"other secret",
	"not the secret",
	"fuzz secret",
	"loopback cluster secret",
	"loopback master test secret",
	"loopback scale secret",
	"loopback db test secret",
	"loopback root failover secret",
	"client contract test secret",
	"placement test secret",
	"bind test secret",
	"gate cluster test secret",
	"console test secret",
	"readme console secret",
	"readme counter secret",
	"agent bench secret",
	"placement bench secret",
	"db bench secret",
	"s3",
	"x",
	NULL,
};

/* Variety: at least this many different pairs of adjacent characters. A
 * block repeated ("aaaa...", "abab...", "0123456789" again and again) has
 * no more pairs than the block has characters, however long the secret;
 * random characters have nearly one new pair per character: in 2*10^8
 * random strings of 32 decimal digits none had fewer than 13, and 32 hex
 * digits never fewer than 19 in 2*10^7 (base64 or longer secrets have
 * more). So every real random secret passes, and any repetition of 11
 * characters or fewer fails. */
#define MIN_PAIRS 12

/* The different pairs of adjacent bytes of s, counted up to MIN_PAIRS. */
static int pairs(const char *s)
{
	uint8_t seen[65536 / 8] = { 0 };
	int count = 0;
	for (size_t i = 0; s[i] && s[i + 1] && count < MIN_PAIRS; i++) {
		unsigned pair = (unsigned)(unsigned char)s[i] << 8
			| (unsigned char)s[i + 1];
		if (!(seen[pair / 8] & (1u << (pair % 8)))) {
			seen[pair / 8] |= (uint8_t)(1u << (pair % 8));
			count++;
		}
	}
	return count;
}

/* The example secret that secret is (*exact set) or else holds, or NULL. */
static const char *example_in(const char *secret, int *exact)
{
	*exact = 1;
	for (int i = 0; example_secrets[i]; i++)
		if (strcasecmp(secret, example_secrets[i]) == 0)
			return example_secrets[i];
	*exact = 0;
	for (int i = 0; example_secrets[i]; i++)
		if (strlen(example_secrets[i]) >= 8
			&& strcasestr(secret, example_secrets[i]))
			return example_secrets[i];
	return NULL;
}

const char *wisp_secret_weakness(const char *secret, char *why, size_t whysz)
{
	int exact, n;
	const char *example = example_in(secret, &exact);
	size_t len = strlen(secret);
	if (example)
		snprintf(why, whysz, "%s the example secret \"%s\" published in "
			"wisp's repository, which anyone can read",
			exact ? "is" : "holds", example);
	else if (len < WISP_SECRET_MIN_LEN)
		snprintf(why, whysz, "is %zu characters long; it needs at least %d",
			len, WISP_SECRET_MIN_LEN);
	else if ((n = pairs(secret)) < MIN_PAIRS)
		snprintf(why, whysz, "has too little variety to be random: only %d "
			"different pair%s of adjacent characters, where it needs at "
			"least %d (a repeated character or pattern is guessed at once)",
			n, n == 1 ? "" : "s", MIN_PAIRS);
	else
		return NULL;
	return why;
}

/* base64url without padding (RFC 4648, section 5) of n bytes. */
static void base64url(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16
			| (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0)
			| (i + 2 < n ? in[i + 2] : 0);
		size_t chars = n - i >= 3 ? 4 : n - i + 1;
		for (size_t k = 0; k < chars; k++)
			*out++ = digits[(v >> (18 - 6 * k)) & 63];
	}
	*out = '\0';
}

int wisp_secret_new(char *out)
{
	unsigned char bytes[32];
	char why[256];
	do {
		ssize_t got;
		do /* 32 bytes come whole once the pool is ready */
			got = getrandom(bytes, sizeof(bytes), 0);
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)sizeof(bytes)) {
			if (got >= 0)
				errno = EIO;
			return -1;
		}
		base64url(bytes, sizeof(bytes), out);
	} while (wisp_secret_weakness(out, why, sizeof(why))); /* all but never */
	return 0;
}
