/*
 * ord_store: every SQL statement of mod_orders, through apr_dbd.
 *
 * The caller owns the connection (from mod_dbd's pool in the module, opened
 * directly in the tests) and passes it in; the store prepares each statement
 * once per connection, lazily, and keeps it in the connection's own cache, so
 * the schema need not exist when a connection is opened.  Every state change
 * is one conditional statement whose row count decides who won: that is what
 * makes processing happen once across threads, children and servers.
 *
 * Thread-safety: a connection is used by one thread at a time (mod_dbd's
 * reslist guarantees it); the functions keep no other state.
 * Errors: APR_SUCCESS, APR_NOTFOUND where the order is not there or not in
 * the state asked for, APR_EGENERAL when the database failed (the caller
 * answers 503); outputs are set only on success.
 */
#ifndef ORD_STORE_H
#define ORD_STORE_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_tables.h>

#include "ord_order.h"
#include "ord_query.h"

typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;   /* label -> apr_dbd_prepared_t, per connection */
    apr_pool_t *pool;       /* lives as long as the connection */
    int last_error;         /* the driver's code of the last failure, for
                             * apr_dbd_error() in a log line */
} ord_store_conn_t;

/* The processing-time histogram: bucket i holds the Completed orders whose
 * processing took at most ord_processing_bounds_us[i] and more than the
 * bound before; the last bucket holds those above the last bound. */
#define ORD_PROCESSING_BUCKETS 12
extern const apr_int64_t ord_processing_bounds_us[ORD_PROCESSING_BUCKETS - 1];
/* The bucket of one processing time. */
int ord_processing_bucket(apr_interval_time_t processing_us);

/* What the metrics load at start-up: aggregates over the table. */
typedef struct {
    apr_uint64_t count[ORD_STATUS_COUNT];
    apr_uint64_t processing_us_sum;     /* over Completed orders */
    apr_uint64_t from_creation_us_sum;  /* over Completed orders */
    apr_uint64_t processing_buckets[ORD_PROCESSING_BUCKETS];
} ord_store_totals_t;

/* An order nobody is processing any more (its lease ran out). */
typedef struct {
    const char *order_id;
    ord_status_e status;    /* ORD_PENDING or ORD_PROCESSING */
} ord_store_orphan_t;

/* A transaction, with plain BEGIN/COMMIT/ROLLBACK statements: apr_dbd's own
 * transaction calls crash the pgsql driver when BEGIN fails on a lost
 * connection (apr-util 1.6.3 writes through a NULL transaction).  SQLite's
 * BEGIN IMMEDIATE takes the write lock at once rather than midway. */
apr_status_t ord_store_begin(ord_store_conn_t *c);
apr_status_t ord_store_commit(ord_store_conn_t *c);
apr_status_t ord_store_rollback(ord_store_conn_t *c);

/* Creates the table and indexes when missing (the text of sql/), in one
 * transaction; with SQLite it first puts the file in WAL mode. */
apr_status_t ord_store_ensure_schema(ord_store_conn_t *c, apr_pool_t *p);

/* Inserts a Pending order unless its order_id exists: *created is 1 when
 * this call stored it, 0 when the id was there already.  The accepting child
 * owns it until `lease_until`. */
apr_status_t ord_store_insert(ord_store_conn_t *c, apr_pool_t *p,
                              const ord_order_t *order, apr_time_t lease_until,
                              int *created);

apr_status_t ord_store_get(ord_store_conn_t *c, apr_pool_t *p,
                           const char *order_id, ord_order_t **order);

/* Takes the order for processing under `token` until `lease_until`: from
 * Pending, or from Processing whose lease ran out (`from`).  APR_NOTFOUND
 * when somebody else has it or it is finished or cancelled. */
apr_status_t ord_store_claim(ord_store_conn_t *c, apr_pool_t *p,
                             const char *order_id, ord_status_e from,
                             const char *token, apr_time_t now,
                             apr_time_t lease_until, apr_time_t *created_at);

/* Processing -> Completed, only while `token` still holds the claim.
 * APR_NOTFOUND when the claim was lost (it is somebody else's now). */
apr_status_t ord_store_complete(ord_store_conn_t *c, apr_pool_t *p,
                                const char *order_id, const char *token,
                                apr_time_t now);

/* Up to `max` unfinished orders whose lease ended before `now`, oldest lease
 * first, as an array of ord_store_orphan_t. */
apr_status_t ord_store_orphans(ord_store_conn_t *c, apr_pool_t *p,
                               apr_time_t now, int max,
                               apr_array_header_t **orphans);

apr_status_t ord_store_totals(ord_store_conn_t *c, apr_pool_t *p,
                              ord_store_totals_t *totals);

/* One page of the list: orders (ord_order_t *) after q->after, oldest
 * first, at most q->limit; *last is the cursor of the last one when more
 * follow, 0 when this is the last page. */
apr_status_t ord_store_list(ord_store_conn_t *c, apr_pool_t *p,
                            const ord_list_query_t *q,
                            apr_array_header_t **orders, apr_int64_t *last);

/* Pending -> Cancelled.  APR_NOTFOUND when the order is not (or no longer)
 * Pending. */
apr_status_t ord_store_cancel(ord_store_conn_t *c, apr_pool_t *p,
                              const char *order_id, apr_time_t now);

/* Records a populate batch: *created 0 when the batch_id was used before. */
apr_status_t ord_store_batch_create(ord_store_conn_t *c, apr_pool_t *p,
                                    const char *batch_id, int total_entries,
                                    apr_time_t now, int *created);

/* Inserts `n` new Pending orders, a hundred per statement (each statement
 * all or none).  *inserted counts those stored (an id already present is
 * skipped), also on failure: statements before the failing one stay
 * stored. */
apr_status_t ord_store_insert_all(ord_store_conn_t *c, apr_pool_t *p,
                                  ord_order_t *const *orders, int n,
                                  apr_time_t lease_until, int *inserted);

/* The ids of up to `max` orders in `status`, oldest first (const char *). */
apr_status_t ord_store_order_ids(ord_store_conn_t *c, apr_pool_t *p,
                                 ord_status_e status, int max,
                                 apr_array_header_t **ids);

#endif /* ORD_STORE_H */
