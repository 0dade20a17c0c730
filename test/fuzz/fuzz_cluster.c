/* fuzz_cluster.c: the directory's message parser takes bytes from other
 * nodes: it must refuse what is malformed, and whatever it accepts must
 * write back to a message that parses to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wisp_cluster_cmd cmd;
	if (wisp_cluster_parse(data, size, &cmd) < 0)
		return 0;
	char out[WISP_CLUSTER_MAX];
	size_t n = wisp_cluster_format(&cmd, out);
	struct wisp_cluster_cmd again;
	if (wisp_cluster_parse(out, n, &again) < 0 || again.op != cmd.op
		|| again.value != cmd.value || strcmp(again.name, cmd.name) != 0
		|| memcmp(again.numbers, cmd.numbers, sizeof(cmd.numbers)) != 0)
		abort();
	return 0;
}
