/*
 * ord_store: every SQL statement of mod_orders, through apr_dbd.
 *
 * The caller owns the connection (from mod_dbd's pool in the module, opened
 * directly in the tests) and passes it in; statements, sessions and what a
 * failure means are the driver layer's (ord_db.h), and what differs between
 * databases is in the dialect files (ord_sql.h).  Every state change
 * is one conditional statement whose row count decides who won: that is what
 * makes processing happen once across threads, children and servers.
 *
 * Thread-safety: a connection is used by one thread at a time (mod_dbd's
 * reslist guarantees it); the functions keep no other state.
 * Errors: APR_SUCCESS, APR_NOTFOUND where the order is not there or not in
 * the state asked for (only ever from what a row says, never from a failure
 * that returned no rows), APR_EGENERAL when the database failed (the caller
 * answers 503; ord_db_error() has the cause); outputs are set only on
 * success.
 */
#ifndef ORD_STORE_H
#define ORD_STORE_H

#include <apr_tables.h>

#include "ord_db.h"
#include "ord_events.h"
#include "ord_totals.h"
#include "ord_order.h"
#include "ord_query.h"


/* The types of events (API.md section 5): every transition of an order
 * writes one, in the transaction of the transition. */
#define ORD_EVENT_CREATED    "order.created"
#define ORD_EVENT_PROCESSING "order.processing"
#define ORD_EVENT_COMPLETED  "order.completed"
#define ORD_EVENT_CANCELLED  "order.cancelled"

/* The row of order_leases that holds the newest event retention removed
 * (its holder is that event's cursor text). */
#define ORD_EVENTS_REMOVED "events-removed"

/* An order nobody is processing any more (its lease ran out). */
typedef struct {
    const char *order_id;
    ord_status_e status;    /* ORD_PENDING or ORD_PROCESSING */
} ord_store_orphan_t;


/* Creates the table and indexes when missing (the text of sql/), in one
 * transaction; with SQLite it first puts the file in WAL mode. */
apr_status_t ord_store_ensure_schema(ord_db_t *c, apr_pool_t *p);

/* Inserts a Pending order unless its order_id exists: *created is 1 when
 * this call stored it, 0 when the id was there already.  The accepting child
 * owns it until `lease_until`. */
apr_status_t ord_store_insert(ord_db_t *c, apr_pool_t *p,
                              const ord_order_t *order, apr_time_t lease_until,
                              int *created);

apr_status_t ord_store_get(ord_db_t *c, apr_pool_t *p,
                           const char *order_id, ord_order_t **order);

/* Takes the order for processing under `token` until `lease_until`: from
 * Pending, or from Processing whose lease ran out (`from`).  APR_NOTFOUND
 * when the row says somebody else has it or it is finished or cancelled.
 * A claim under the same token that already committed (an earlier attempt
 * whose answer was lost with its connection) is a success: *started_at is
 * then that claim's time. */
apr_status_t ord_store_claim(ord_db_t *c, apr_pool_t *p,
                             const char *order_id, ord_status_e from,
                             const char *token, apr_time_t now,
                             apr_time_t lease_until, apr_time_t *created_at,
                             apr_time_t *started_at);

/* ---- a batch: many writes, few statements -----------------------------
 *
 * Between ord_store_batch_begin and ord_store_batch_flush (the writer's
 * transaction), the writes a batch has many of are gathered rather than
 * run one by one: the events of transitions on every database, and where
 * the dialect has RETURNING (SQLite, PostgreSQL) the INSERTs of new orders
 * (ord_store_insert), claims from Pending and completions (the _gathered
 * calls below).  The flush runs each kind as a few multi-row statements, in
 * the order of an order's life (inserts, claims, completions, then the
 * events, which read the rows as the rest left them), and sets the
 * outcomes the calls left to it.  A write that changes the row of an order
 * whose event is gathered writes the gathered events first.
 * The flush runs before COMMIT; when it fails the transaction has failed.
 * ord_store_batch_discard ends a batch whose transaction failed before. */
void ord_store_batch_begin(ord_db_t *c, apr_pool_t *p);
apr_status_t ord_store_batch_flush(ord_db_t *c, apr_pool_t *p);
void ord_store_batch_discard(ord_db_t *c);

/* ord_store_claim and ord_store_complete for a batch: *outcome is what
 * those return when the database answered (APR_SUCCESS, APR_NOTFOUND), and
 * the times are set with it, by the flush for the gathered ones; the
 * return value is only ever a failure of the database (or APR_SUCCESS). */
apr_status_t ord_store_claim_gathered(ord_db_t *c, apr_pool_t *p,
                                      const char *order_id, ord_status_e from,
                                      const char *token, apr_time_t now,
                                      apr_time_t lease_until,
                                      apr_status_t *outcome,
                                      apr_time_t *created_at,
                                      apr_time_t *started_at);
apr_status_t ord_store_complete_gathered(ord_db_t *c, apr_pool_t *p,
                                         const char *order_id,
                                         const char *token, apr_time_t now,
                                         apr_status_t *outcome,
                                         apr_time_t *completed_at);

/* Processing -> Completed, only while `token` still holds the claim.
 * APR_NOTFOUND when the row says the claim was lost (it is somebody else's
 * now).  Completed under this same token already (an earlier attempt whose
 * answer was lost) is a success, with that completion's time in
 * *completed_at; otherwise *completed_at is `now`. */
apr_status_t ord_store_complete(ord_db_t *c, apr_pool_t *p,
                                const char *order_id, const char *token,
                                apr_time_t now, apr_time_t *completed_at);

/* Who holds the lease `name` (NULL: nobody yet) and until when. */
apr_status_t ord_store_lease_holder(ord_db_t *c, apr_pool_t *p,
                                    const char *name, const char **holder,
                                    apr_time_t *until);

/* Takes or renews the lease `name` (a row of order_leases) for `holder`
 * until `until`: *held is 1 when it is this holder's now, 0 when another
 * holder's lease has not run out. */
apr_status_t ord_store_lease(ord_db_t *c, apr_pool_t *p, const char *name,
                             const char *holder, apr_time_t now,
                             apr_time_t until, int *held);

/* Up to `max` unfinished orders whose lease ended before `now`, oldest lease
 * first, as an array of ord_store_orphan_t. */
apr_status_t ord_store_orphans(ord_db_t *c, apr_pool_t *p,
                               apr_time_t now, int max,
                               apr_array_header_t **orphans);

apr_status_t ord_store_totals(ord_db_t *c, apr_pool_t *p,
                              ord_store_totals_t *totals);

/* One page of the list: orders (ord_order_t *) after q->after, oldest
 * first, at most q->limit; *last is the cursor of the last one when more
 * follow, 0 when this is the last page. */
apr_status_t ord_store_list(ord_db_t *c, apr_pool_t *p,
                            const ord_list_query_t *q,
                            apr_array_header_t **orders, apr_int64_t *last);

/* Pending -> Cancelled.  APR_NOTFOUND when the order is not (or no longer)
 * Pending. */
apr_status_t ord_store_cancel(ord_db_t *c, apr_pool_t *p,
                              const char *order_id, apr_time_t now);

/* Records a populate batch: *created 0 when the batch_id was used before. */
apr_status_t ord_store_batch_create(ord_db_t *c, apr_pool_t *p,
                                    const char *batch_id, int total_entries,
                                    apr_time_t now, int *created);

/* Inserts `n` new Pending orders, a hundred per statement (each statement
 * all or none).  *inserted counts those stored (an id already present is
 * skipped), also on failure: statements before the failing one stay
 * stored. */
apr_status_t ord_store_insert_all(ord_db_t *c, apr_pool_t *p,
                                  ord_order_t *const *orders, int n,
                                  apr_time_t lease_until, int *inserted);

/* The ids of up to `max` orders in `status`, oldest first (const char *). */
apr_status_t ord_store_order_ids(ord_db_t *c, apr_pool_t *p,
                                 ord_status_e status, int max,
                                 apr_array_header_t **ids);

/* One page of the events feed (ord_event_t *), after q->after in the
 * feed's order, at most q->limit, only events of transactions that can no
 * longer commit behind it (see sql/); `user_id` (may be NULL) keeps only
 * that user's orders. */
apr_status_t ord_store_events(ord_db_t *c, apr_pool_t *p,
                              const ord_event_query_t *q, const char *user_id,
                              apr_array_header_t **events);

/* The position of the newest event retention removed (0, 0: none yet): a
 * cursor before it may have missed events (410). */
apr_status_t ord_store_events_removed(ord_db_t *c, apr_pool_t *p,
                                      ord_event_cursor_t *newest);

/* Removes the events created before `before` and records the newest of
 * them (ORD_EVENTS_REMOVED): *removed of them.  In the writer's
 * transaction. */
apr_status_t ord_store_events_expire(ord_db_t *c, apr_pool_t *p,
                                     apr_time_t before, int *removed);

/* Webhook deliveries.  Up to `max` events whose delivery is due at `now`:
 * pending, due, nobody's lease on them running, and no earlier event of
 * their order still pending (an order's events go out in order); oldest
 * first (ord_event_t *, attempts set).  A plain read (ord_store_read.c), so
 * that walking a long backlog holds no write lock; taking them is
 * ord_store_delivery_take_all. */
apr_status_t ord_store_deliveries_due(ord_db_t *c, apr_pool_t *p,
                                      apr_time_t now, int max,
                                      apr_array_header_t **events);

/* The events whose delivery is pending (due or not): *pending of them, the
 * oldest written at *oldest_at (0 when none). */
apr_status_t ord_store_deliveries_backlog(ord_db_t *c, apr_pool_t *p,
                                          apr_uint64_t *pending,
                                          apr_time_t *oldest_at);

/* A round's deliveries, in the writer's transaction (ord_store_deliver.c),
 * one statement where the dialect has UPDATE ... FROM and RETURNING, else
 * two for each 16 rows.
 *
 * ord_store_delivery_take_all takes each event `seq` for `holder` until
 * `lease_until` if it is still as ord_store_deliveries_due read it:
 * pending, after `attempts` attempts, and nobody's lease on it running at
 * `now` (so that with several servers one of them takes it); `taken` 1
 * when it did.
 *
 * ord_store_delivery_done_all records the outcome of one attempt at each
 * event `seq` while `holder` holds it: `state` "delivered", "pending"
 * (again at `next_attempt`) or "failed", `status` the answer (0: none).
 * The attempt is counted and the lease released; a holder whose lease was
 * taken over changes nothing (`changed` 0). */
typedef struct {
    apr_int64_t seq;
    int attempts;
    int taken;
} ord_store_take_t;

typedef struct {
    apr_int64_t seq;
    const char *state;
    int status;
    apr_time_t next_attempt;
    int changed;
} ord_store_outcome_t;

apr_status_t ord_store_delivery_take_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_take_t *takes, int n,
                                         const char *holder, apr_time_t now,
                                         apr_time_t lease_until);
apr_status_t ord_store_delivery_done_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_outcome_t *outcomes,
                                         int n, const char *holder);

/* Queues event `seq` for delivery again, as new (attempts 0, due `now`),
 * whatever its state.  APR_NOTFOUND when there is no such event or it was
 * written without a webhook. */
apr_status_t ord_store_redeliver(ord_db_t *c, apr_pool_t *p, apr_int64_t seq,
                                 apr_time_t now);

#endif /* ORD_STORE_H */
