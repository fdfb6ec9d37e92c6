/*
 * ord_watch: the database statements under way in a child, and the cut of
 * those that have run too long.
 *
 * A statement that the server never answers holds its thread for as long
 * as the server likes: a COMMIT waiting for a synchronous standby that is
 * gone (Patroni's synchronous_mode_strict with no standby left), a lock
 * another session holds, a primary that froze.  Every statement of the
 * module on a connection with a socket (PostgreSQL, MariaDB) is entered
 * here while it runs; a watchdog looks every so often and shuts down the
 * socket of each one older than the limit, once.  The statement then fails
 * as on a lost session, at once: its caller answers 503 (a COMMIT's outcome
 * is then unknown: the client's retry settles it), and the connection's
 * next check opens a new session.
 *
 * The cut happens under the watch's lock, and a statement leaves the watch
 * under it too: a socket is never shut down after its statement has ended
 * (by then it may belong to another connection, or to nothing).
 *
 * Thread-safety: every call may come from any thread.
 */
#ifndef ORD_WATCH_H
#define ORD_WATCH_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct ord_watch_t ord_watch_t;

/* Room for `slots` statements at once (more go unwatched). */
apr_status_t ord_watch_create(ord_watch_t **watch, apr_pool_t *p, int slots);

/* A statement on socket `fd` starts at `now`: its slot, or -1 when the
 * watch is full (the statement runs unwatched). */
int ord_watch_enter(ord_watch_t *watch, int fd, apr_time_t now);

/* The statement of `slot` (from ord_watch_enter; -1 is ignored) ended;
 * whether it was cut. */
int ord_watch_leave(ord_watch_t *watch, int slot);

/* What cuts a statement: called under the watch's lock with its socket and
 * its age; it must not call back into the watch. */
typedef void ord_watch_cut_fn(int fd, apr_interval_time_t ran, void *baton);

/* Ages every statement by the time since the last look (since its start,
 * for one that started after it), but by at most `max_step`, and cuts each
 * one whose age reached `limit` and that was not cut yet; returns how many
 * it cut.  The cap keeps a process that did not run (SIGSTOP, a debugger)
 * from cutting, when it resumes, statements whose answers came meanwhile:
 * only time this process spent looking counts. */
int ord_watch_cut_overdue(ord_watch_t *watch, apr_time_t now,
                          apr_interval_time_t limit,
                          apr_interval_time_t max_step, ord_watch_cut_fn *cut,
                          void *baton);

#endif /* ORD_WATCH_H */
