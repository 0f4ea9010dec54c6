/*
 * deliver_spool.h — the embedded default delivery driver: one JSON file per
 * message in a directory tree, written atomically.
 *
 *   <dir>/<vessel_id>/<msg_id>.json
 *   {"vessel":V,"vessel_name":"..","msg_id":M,"crew_id":C,"contact_ref":R,
 *    "to":"mailto:..","channel":"email|sms|chat","ts":T,"text":".."}
 *
 * A file appears whole or not at all: it is written under a temporary name
 * (starting with '.', never ending in .json) in the same folder, fsync'd,
 * link(2)ed to its final name, the temporary unlinked and the folder
 * fsync'd.  If the final name exists already the message was delivered
 * before (a crash between the file and the database update): that is a
 * redelivery, counted, logged, and reported as delivered, never a second
 * file.  A gateway or mail bridge consumes the files and removes them.
 */
#ifndef LIFELINE_SHORE_DELIVER_SPOOL_H
#define LIFELINE_SHORE_DELIVER_SPOOL_H

#include <stdint.h>

#include "shore/deliver.h"

#define DELIVER_SPOOL_DIR_MODE 0750

struct deliver_spool;

/* dir is copied; it and the vessel folders are made on first use.
 * Returns 0, ERR_INVAL (empty or over-long dir), ERR_NOMEM. */
int deliver_spool_new(struct deliver_spool **out, const char *dir) LL_MUST_CHECK;
void deliver_spool_free(struct deliver_spool *s);  /* NULL is a no-op */
/* Files found already there (thread-safe read). */
uint64_t deliver_spool_redeliveries(const struct deliver_spool *s);

/* send(): 0 written (or already there), ERR_AGAIN on an I/O error that may
 * pass (disk full, permissions being fixed), ERR_INVAL for a message that
 * cannot be written (no text). */
extern const struct deliver_ops deliver_spool_ops;

#endif
