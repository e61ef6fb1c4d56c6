/*
 * json-check: exits 0 when stdin is one valid JSON value (common/json.c,
 * the reader of vmjail's own protocols), else prints why and exits 1.
 * The integration scripts check vmjail's machine output with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "json.h"

#define INPUT_MAX (16u << 20)

int main(void)
{
	static char buf[INPUT_MAX];
	struct vj_json_doc doc;
	struct vj_err why;
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) && (n = read(0, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (len == sizeof(buf)) {
		fprintf(stderr, "json-check: input larger than %u bytes\n", INPUT_MAX);
		return 1;
	}
	if (vj_json_parse(buf, len, len + 1, &doc, &why) < 0) {
		fprintf(stderr, "json-check: %s\n", why.msg);
		return 1;
	}
	vj_json_free(&doc);
	return 0;
}
