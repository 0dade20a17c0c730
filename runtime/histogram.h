/* histogram.h: latency histograms of the node, in Prometheus' shape
 * (cumulative buckets, a sum and a count per labelled series), kept by
 * the runtime for whoever measures (the Lua host its calls, the gate its
 * clients' commands) and read by the metrics endpoint. A family holds at
 * most WISP_HISTOGRAM_SERIES label values; later ones are counted under
 * "other", so no caller can make the node's memory or a scrape grow
 * without bound. */
#ifndef WISP_HISTOGRAM_H
#define WISP_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define WISP_HISTOGRAM_BUCKETS 16  /* finite upper bounds; +Inf besides */
#define WISP_HISTOGRAM_SERIES 256  /* label values a family keeps apart */
#define WISP_HISTOGRAM_LABEL 64    /* bytes of a label value kept */

/* The buckets' upper bounds in seconds, 100 µs to 10 s. */
extern const double wisp_histogram_bounds[WISP_HISTOGRAM_BUCKETS];

struct wisp_histogram_series {
	char label[WISP_HISTOGRAM_LABEL];
	uint64_t buckets[WISP_HISTOGRAM_BUCKETS + 1]; /* each its own, not yet
	                                               * cumulative; last +Inf */
	uint64_t count;
	double sum; /* seconds */
};

struct wisp_histogram {
	const char *name, *help, *label_name;
	struct wisp_histogram_series *series;
	size_t count;
	struct wisp_histogram *next;
};

/* The family of that name, made (and listed) at the first call; the
 * strings must live as long as the process (literals). */
struct wisp_histogram *wisp_histogram(const char *name, const char *help,
	const char *label_name);
/* One observation of a time in wisp_ticks() under label (cut to fit):
 * ticks, as the caller reads them for the price of an instruction, where
 * a clock read costs a system call's worth on some machines. */
void wisp_histogram_observe(struct wisp_histogram *h, const char *label,
	uint64_t ticks);
/* Every family made so far, newest first. */
const struct wisp_histogram *wisp_histograms(void);

#endif
