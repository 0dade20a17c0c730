/* wire.c: the one rule for service names, which the runtime's name table,
 * the harbor's frames and the directory's messages all apply. */
#include <string.h>
#include "wire.h"

static int name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		|| (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

size_t wisp_name_span(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && name_char((unsigned char)s[i]))
		i++;
	return i;
}

int wisp_name_valid(const char *name)
{
	size_t n = strnlen(name, WISP_NAME_MAX + 1);
	return n > 0 && n <= WISP_NAME_MAX && wisp_name_span(name, n) == n;
}
