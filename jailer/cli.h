/*
 * The verbs that manage running sandboxes (`vmjail ps`, `inspect`,
 * `pause`, `resume`, `stop`, `kill`, `stats`, `events`, `logs`, `wait`,
 * `rm`): clients of each sandbox's control socket (CONTROL.md) and
 * readers of its run directory. Each returns the exit status of the
 * command, printing one line on stderr when it fails.
 */
#ifndef VJ_JAILER_CLI_H
#define VJ_JAILER_CLI_H

/* argv[0] is the verb; run_dir is the host file's. */
int vj_cli_main(const char *run_dir, int argc, char **argv);

/* Whether argv[0] names one of these verbs. */
int vj_cli_is_verb(const char *verb);

#endif
