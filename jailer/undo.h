/*
 * Undoing a sandbox. The launcher's own teardown and `vmjail cleanup`
 * (after a launcher was SIGKILLed) are the same code: the state file of
 * the run directory, replayed newest first.
 */
#ifndef VJ_UNDO_H
#define VJ_UNDO_H

#include <stdbool.h>

#include "error.h"
#include "rundir.h"

/* Undoes every record (all are attempted); 0 or the first error. The run
 * directory itself is left to vj_rundir_release(). */
int vj_undo_records(struct vj_rundir *rd, struct vj_err *e);

/*
 * `vmjail cleanup [ID...]`: for each id (every id in run_dir when none is
 * given) whose launcher is gone, kills what is left of its sandbox and
 * removes its cgroups, sockets, pid file and run directory. Ids with a
 * live launcher are reported and left alone. Prints one line per id;
 * returns 0, or -EBUSY / the first error when an id could not be cleaned.
 */
int vj_undo_ids(const char *run_dir, char *const *ids, int nids);

#endif
