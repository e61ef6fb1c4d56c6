/*
 * libFuzzer harness for the control socket's request parser
 * (jailer/control_socket.c, over common/json.c): any line a client may
 * send. Besides the sanitizers it checks that what the parser accepts is
 * whole: a known command, an id it can echo as JSON, arguments in range.
 */
#include <stdint.h>
#include <string.h>

#include "control_socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vj_json_doc doc;
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	struct vj_err why;

	if (size > VJ_CTL_LINE_MAX)
		return 0;
	if (vj_ctl_parse_request((const char *)data, size, &req, &class, &e) < 0)
		return 0;
	if (req.command >= VJ_CTL_COMMANDS || req.signal < 1 || req.signal > 64 ||
	    req.timeout_ms > 24u * 3600 * 1000)
		__builtin_trap();
	if (req.command == VJ_CTL_EXEC && (!req.exec || !req.exec->w.argc))
		__builtin_trap();
	vj_ctl_request_free(&req);
	if (vj_json_parse(req.id, strlen(req.id), 8, &doc, &why) < 0)
		__builtin_trap();
	vj_json_free(&doc);
	return 0;
}
