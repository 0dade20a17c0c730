/* bench_client.c: client frame decoding as the gate does it: a stream of
 * frames with 64-byte bodies arriving in 4 KiB reads, so most frames are
 * handed out in place and one in each read straddles into the next. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "wisp.h"
#include "client.h"

#define FRAMES 100000
#define BODY 64
#define READ 4096
#define ROUNDS 100

static const struct wisp_client_proto proto = {
	.magic = {'W', 'I', 'S', 'P'},
	.proto_version = 1,
	.server_version = 7,
	.max_body = 65536,
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *build(size_t *len)
{
	size_t frame = WISP_CLIENT_HEADER + BODY;
	uint8_t *stream = wisp_malloc(FRAMES * frame);
	for (uint32_t i = 0; i < FRAMES; i++) {
		uint8_t *at = stream + i * frame;
		wisp_client_header(&proto, i, BODY, at);
		memset(at + WISP_CLIENT_HEADER, (uint8_t)i, BODY);
	}
	*len = FRAMES * frame;
	return stream;
}

/* Decodes the stream once; returns the frames seen, adding to *sum so
 * that the work cannot be optimized away. */
static long decode(const uint8_t *stream, size_t len, uint64_t *sum)
{
	struct wisp_client_decoder d;
	struct wisp_client_frame f;
	long frames = 0;
	wisp_client_decoder_init(&d, &proto);
	for (size_t off = 0; off < len; off += READ) {
		const uint8_t *p = stream + off;
		size_t left = len - off < READ ? len - off : READ;
		while (wisp_client_next(&d, &p, &left, &f) == 1) {
			*sum += f.command + f.body[f.size - 1];
			frames++;
		}
	}
	wisp_client_decoder_free(&d);
	return frames;
}

int main(void)
{
	size_t len;
	uint8_t *stream = build(&len);
	uint64_t sum = 0;
	long frames = 0;
	double start = now();
	for (int r = 0; r < ROUNDS; r++)
		frames += decode(stream, len, &sum);
	double took = now() - start;
	wisp_free(stream);
	if (frames != (long)FRAMES * ROUNDS) {
		fprintf(stderr, "bench_client: decoded %ld frames, want %ld (%llu)\n",
			frames, (long)FRAMES * ROUNDS, (unsigned long long)sum);
		return 1;
	}
	printf("BENCH client_decode %.0f frames/s\n", frames / took);
	return 0;
}
