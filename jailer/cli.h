/*
 * The verbs that manage running sandboxes (`vmjail ps`, `inspect`,
 * `pause`, `resume`, `stop`, `kill`, `stats`, `events`, `logs`, `wait`,
 * `rm`): clients of each sandbox's control socket (CONTROL.md) and
 * readers of its run directory. Each returns the exit status of the
 * command, printing one line on stderr when it fails.
 */
#ifndef VJ_JAILER_CLI_H
#define VJ_JAILER_CLI_H

#include "error.h"
#include "json.h"

/* argv[0] is the verb; run_dir is the host file's. */
int vj_cli_main(const char *run_dir, int argc, char **argv);

/*
 * One request to one sandbox's control socket: its reply's "return" in
 * *ret, inside doc (the caller frees it with vj_json_free); an error
 * reply or a failure to reach the sandbox becomes e.
 */
int vj_cli_request(const char *run_dir, const char *id, const char *command, const char *args,
		   struct vj_json_doc *doc, const struct vj_json **ret, struct vj_err *e);

/* Whether argv[0] names one of these verbs. */
int vj_cli_is_verb(const char *verb);

#endif
