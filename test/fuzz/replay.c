/* replay.c: runs a libFuzzer target without libFuzzer, so every build
 * exercises it: first each file named on the command line (the corpus),
 * then a fixed number of pseudo-random inputs and mutations of the corpus.
 * The fuzz build (-Dfuzz=true) links the same targets with -fsanitize=fuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024)
#define RANDOM_RUNS 20000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t read_file(const char *path, uint8_t *buf)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		exit(2);
	}
	size_t n = fread(buf, 1, MAX_INPUT, f);
	fclose(f);
	return n;
}

/* Flips, inserts and truncates a few bytes of a corpus entry. */
static size_t mutate(uint8_t *buf, size_t n)
{
	int edits = 1 + (int)(rng() % 4);
	for (int i = 0; i < edits; i++) {
		switch (rng() % 3) {
		case 0:
			if (n)
				buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:
			if (n < MAX_INPUT)
				buf[n++] = (uint8_t)rng();
			break;
		default:
			if (n)
				n = rng() % n;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t corpus[16][MAX_INPUT];
	static size_t corpus_len[16];
	static uint8_t buf[MAX_INPUT];
	int seeds = 0;
	for (int i = 1; i < argc; i++) {
		size_t n = read_file(argv[i], buf);
		LLVMFuzzerTestOneInput(buf, n);
		if (seeds < 16) {
			memcpy(corpus[seeds], buf, n);
			corpus_len[seeds++] = n;
		}
	}
	for (int run = 0; run < RANDOM_RUNS; run++) {
		size_t n;
		if (seeds && run % 2) {
			int s = (int)(rng() % (uint64_t)seeds);
			memcpy(buf, corpus[s], corpus_len[s]);
			n = mutate(buf, corpus_len[s]);
		} else {
			n = rng() % 256;
			for (size_t j = 0; j < n; j++)
				buf[j] = (uint8_t)rng();
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("replay: %d corpus inputs, %d generated inputs, no crash\n",
		argc - 1, RANDOM_RUNS);
	return 0;
}
