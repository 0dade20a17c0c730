/* histogram.c: the node's latency histograms (histogram.h). A series is
 * found by its label's hash in a keymap, then the label compared: an
 * observation costs a hash of a short string and one bucket search over
 * sixteen bounds. */
#include <stdio.h>
#include <string.h>
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

/* FNV-1a, never 0 (the keymap's empty key). */
static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ? h : 1;
}

static struct wisp_histogram_series *add(struct family *f, const char *label,
	uint64_t key)
{
	struct wisp_histogram *h = &f->h;
	if (h->count % 16 == 0)
		h->series = wisp_realloc(h->series, (h->count + 16)
			* sizeof(*h->series));
	struct wisp_histogram_series *s = &h->series[h->count++];
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	wisp_keymap_put(&f->by_label, key, (void *)(uintptr_t)h->count);
	return s;
}

/* The series of label: kept apart while the family has room (all but one
 * slot), else counted as "other" (which a hash collision also falls to). */
static struct wisp_histogram_series *find(struct family *f, const char *label)
{
	char cut[WISP_HISTOGRAM_LABEL];
	snprintf(cut, sizeof(cut), "%s", label);
	uint64_t key = hash(cut);
	uintptr_t i = (uintptr_t)wisp_keymap_get(&f->by_label, key);
	if (i && strcmp(f->h.series[i - 1].label, cut) == 0)
		return &f->h.series[i - 1];
	if (i == 0 && f->h.count < WISP_HISTOGRAM_SERIES - 1)
		return add(f, cut, key);
	key = hash("other");
	i = (uintptr_t)wisp_keymap_get(&f->by_label, key);
	if (i == 0)
		return add(f, "other", key);
	return strcmp(f->h.series[i - 1].label, "other") == 0
		? &f->h.series[i - 1] : NULL;
}

void wisp_histogram_observe(struct wisp_histogram *h, const char *label,
	uint64_t ns)
{
	struct wisp_histogram_series *s = find((struct family *)h, label);
	if (s == NULL)
		return;
	double seconds = (double)ns / 1e9;
	int b = 0;
	while (b < WISP_HISTOGRAM_BUCKETS && seconds > wisp_histogram_bounds[b])
		b++;
	s->buckets[b]++;
	s->count++;
	s->sum += seconds;
}
