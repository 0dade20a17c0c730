/* histogram.c: the node's latency histograms (histogram.h). A series is
 * found by its label's hash in a keymap, then the label compared: an
 * observation costs a hash of a short string and one bucket search over
 * sixteen bounds, and no clock read. */
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "histogram.h"
#include "keymap.h"
#include "wisp.h"

const double wisp_histogram_bounds[WISP_HISTOGRAM_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10,
};

/* A family and the index of its series by label hash. */
struct family {
	struct wisp_histogram h;
	struct wisp_keymap by_label; /* hash -> index + 1, as a pointer */
};

static struct wisp_histogram *families;

struct wisp_histogram *wisp_histogram(const char *name, const char *help,
	const char *label_name)
{
	for (struct wisp_histogram *h = families; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	struct family *f = wisp_malloc(sizeof(*f));
	memset(f, 0, sizeof(*f));
	f->h = (struct wisp_histogram){ .name = name, .help = help,
		.label_name = label_name, .next = families };
	families = &f->h;
	return &f->h;
}

const struct wisp_histogram *wisp_histograms(void)
{
	return families;
}

static struct wisp_histogram_series *add(struct family *f, const char *label,
	size_t len, uint64_t key)
{
	struct wisp_histogram *h = &f->h;
	if (h->count % 16 == 0)
		h->series = wisp_realloc(h->series, (h->count + 16)
			* sizeof(*h->series));
	struct wisp_histogram_series *s = &h->series[h->count++];
	memset(s, 0, sizeof(*s));
	memcpy(s->label, label, len); /* the rest is zeroed */
	wisp_keymap_put(&f->by_label, key, (void *)(uintptr_t)h->count);
	return s;
}

/* FNV-1a of s[0..len), never 0 (the keymap's empty key). */
static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

static int same(const struct wisp_histogram_series *s, const char *label,
	size_t len)
{
	return memcmp(s->label, label, len) == 0 && s->label[len] == '\0';
}

/* The series of label (its first WISP_HISTOGRAM_LABEL - 1 bytes): kept
 * apart while the family has room (all but one slot), else counted as
 * "other" (which a hash collision also falls to). */
static struct wisp_histogram_series *find(struct family *f, const char *label)
{
	size_t len = strnlen(label, WISP_HISTOGRAM_LABEL - 1);
	uint64_t key = hash(label, len);
	uintptr_t i = (uintptr_t)wisp_keymap_get(&f->by_label, key);
	if (i && same(&f->h.series[i - 1], label, len))
		return &f->h.series[i - 1];
	if (i == 0 && f->h.count < WISP_HISTOGRAM_SERIES - 1)
		return add(f, label, len, key);
	key = hash("other", 5);
	i = (uintptr_t)wisp_keymap_get(&f->by_label, key);
	if (i == 0)
		return add(f, "other", 5, key);
	return same(&f->h.series[i - 1], "other", 5) ? &f->h.series[i - 1]
		: NULL;
}

/* Seconds per tick, measured again every so many observations: ticks
 * run at a steady rate, and converting each one would read the clock. */
static double seconds_of(uint64_t ticks)
{
	static double per_tick;
	static uint32_t uses;
	if (uses++ % 4096 == 0)
		per_tick = (double)wisp_ticks_ns(1u << 30) / 1e9 / (double)(1u << 30);
	return (double)ticks * per_tick;
}

void wisp_histogram_observe(struct wisp_histogram *h, const char *label,
	uint64_t ticks)
{
	struct wisp_histogram_series *s = find((struct family *)h, label);
	if (s == NULL)
		return;
	double seconds = seconds_of(ticks);
	int b = 0;
	while (b < WISP_HISTOGRAM_BUCKETS && seconds > wisp_histogram_bounds[b])
		b++;
	s->buckets[b]++;
	s->count++;
	s->sum += seconds;
}
