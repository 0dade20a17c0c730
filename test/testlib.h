/* testlib.h: the few assertion macros every C test uses. A failed check
 * prints where and what, and the test exits non-zero at the end. */
#ifndef WISP_TESTLIB_H
#define WISP_TESTLIB_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1 when built with AddressSanitizer: its quarantine holds freed memory
 * back, so memory figures mean little, and everything runs slower. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int test_failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failures++; \
	} \
} while (0)

#define CHECK_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) { \
		fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); \
		test_failures++; \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || strcmp(g_, w_) != 0) { \
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); \
		test_failures++; \
	} \
} while (0)

/* Runs one test function and says its name if it failed. */
#define RUN(fn) do { \
	int before_ = test_failures; \
	fn(); \
	if (test_failures != before_) fprintf(stderr, "FAIL %s\n", #fn); \
} while (0)

/* Runs steps that build on each other, in order, up to the first that
 * fails (naming it): what follows would only fail for the same reason. */
struct test_step {
	const char *name;
	void (*fn)(void);
};

#define RUN_STEPS(steps) do { \
	for (size_t i_ = 0; i_ < sizeof(steps) / sizeof((steps)[0]); i_++) { \
		(steps)[i_].fn(); \
		if (test_failures) { \
			fprintf(stderr, "FAIL %s\n", (steps)[i_].name); \
			break; \
		} \
	} \
} while (0)

#define TEST_END() (test_failures ? 1 : 0)

/* Test data that is the same every run: xorshift64 from a fixed seed. */
static inline uint64_t test_rng(void)
{
	static uint64_t state = 0x2545f4914f6cdd1dull;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

#endif
