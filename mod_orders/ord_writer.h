/*
 * ord_writer: each child's one database writer, with group commit.
 *
 * Every write of a child (new orders, claims, completions, cancels) is
 * handed to one thread, which runs whatever has gathered in one transaction
 * and wakes the submitters when it has committed.  One commit (one fsync
 * with SQLite's synchronous=FULL, one WAL flush with PostgreSQL) then serves
 * many requests, and no two threads of a child ever wait on the database's
 * write lock against each other: apr_dbd's SQLite driver holds a
 * process-wide lock around each statement, so writers within a child would
 * otherwise stall one another.  A submitter returns only after the commit:
 * what it wrote is durable when it answers.
 *
 * The transaction is all or nothing: when one write or the commit fails,
 * every write of that batch reports the failure and none took effect (or,
 * for a COMMIT whose answer was lost with its connection, perhaps all did:
 * the writes are conditional, so a client's or a job's retry settles it).
 * A batch that failed only because its session ended before COMMIT is run
 * once more on a new session, so writes must be safe to run again after a
 * rollback (they report through their argument, set anew on each run); a
 * batch whose statement was cut for running too long (ORD_DB_CUT) is not,
 * and a cut COMMIT's outcome is unknown (APR_INCOMPLETE).
 * After BEGIN found the database locked (busy), batches of posted writes
 * only (nobody waits for them) fail at once with APR_EAGAIN for the next
 * half second, without waiting for the lock.
 *
 * Thread-safety: ord_writer_submit may be called from any thread.
 */
#ifndef ORD_WRITER_H
#define ORD_WRITER_H

#include <apr_pools.h>

#include "ord_store.h"

typedef struct ord_writer_t ord_writer_t;

/* One write, run on the writer's connection inside its transaction.  It
 * reports what it did through its argument; an error fails the batch. */
typedef apr_status_t ord_write_fn(ord_db_t *conn, apr_pool_t *p,
                                  void *arg);

/* How the writer borrows a connection for one batch, and gives it back
 * with the batch's outcome (the connection's first failure says why;
 * APR_EAGAIN: it lost a conflict with another transaction, ORD_DB_CONFLICT,
 * and runs again). */
typedef ord_db_t *ord_writer_open_fn(void *ctx, apr_pool_t *p);
typedef void ord_writer_close_fn(void *ctx, ord_db_t *conn,
                                 apr_status_t outcome);

/* Starts the writer thread in `p`; a batch holds at most `max_batch`
 * writes.  The thread is stopped and joined (ord_writer_stop) by a
 * pre-cleanup of `p` registered here, so that it never outlives the pool,
 * and before `p`'s subpools (the connections it uses) go. */
apr_status_t ord_writer_create(ord_writer_t **writer, apr_pool_t *p,
                               int max_batch, ord_writer_open_fn *open,
                               ord_writer_close_fn *close, void *ctx);

/* Runs `fn(conn, p, arg)` in the next batch and returns once that batch has
 * committed (APR_SUCCESS) or failed (the write's own error, APR_EGENERAL
 * when another write of the batch or the database failed, APR_INCOMPLETE
 * when the COMMIT's answer was lost and it may or may not have committed,
 * APR_EOF when the writer is stopping).  `p` is the batch's scratch pool, gone afterwards. */
apr_status_t ord_writer_submit(ord_writer_t *writer, ord_write_fn *fn,
                               void *arg);

/* Called on the writer's thread once the batch of an ord_writer_post has
 * committed or failed, with the outcome ord_writer_submit would have
 * returned.  It holds up the next batch: keep it short. */
typedef void ord_write_done_fn(apr_status_t rv, void *arg);

/* Runs `fn(conn, p, arg)` in the next batch without waiting for it, and
 * calls `done(rv, arg)` after the batch.  The ticket is allocated in
 * `ticket_pool`, which must outlive that call.  APR_EOF (and no call of
 * `done`) when the writer is stopping. */
apr_status_t ord_writer_post(ord_writer_t *writer, apr_pool_t *ticket_pool,
                             ord_write_fn *fn, void *arg,
                             ord_write_done_fn *done);

/* Runs every write submitted so far, refuses new ones with APR_EOF, and
 * joins the thread: the join's status (or the thread's), APR_SUCCESS when
 * it was stopped before.  Not from the writer's own thread. */
apr_status_t ord_writer_stop(ord_writer_t *writer);

#endif /* ORD_WRITER_H */
