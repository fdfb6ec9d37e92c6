/*
 * mod_orders populate and redeliver, the engine's side of the operators'
 * calls.  Populate (orders_engine_populate): a batch
 * of random orders for load tests, stored in chunks by this child's writer
 * (each chunk one transaction, all or none), counted and queued like any
 * new order.  The route is mod_orders_handler.c's.
 */
#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"

#include "mod_orders.h"

APLOG_USE_MODULE(orders);

/* Populate hands its orders to the writer this many at a time. */
#define POPULATE_CHUNK 1000

/* The two writes of a populate, through the engine's writer: the batch's
 * record, then each chunk of its orders. */
typedef struct {
    const char *batch_id;
    int total_entries;
    apr_time_t now;
    ord_order_t *const *orders;
    int n;
    apr_time_t lease_until;
    int done;               /* the batch created, or the orders stored */
} populate_write_t;

static apr_status_t write_batch(ord_db_t *c, apr_pool_t *p, void *arg)
{
    populate_write_t *w = arg;

    return ord_store_batch_create(c, p, w->batch_id, w->total_entries, w->now,
                                  &w->done);
}

static apr_status_t write_insert_all(ord_db_t *c, apr_pool_t *p, void *arg)
{
    populate_write_t *w = arg;

    return ord_store_insert_all(c, p, w->orders, w->n, w->lease_until,
                                &w->done);
}

/* One chunk of a populate: stored in one transaction (all or none), counted
 * and queued.  The number stored. */
static int populate_chunk(orders_engine_t *e, apr_pool_t *p,
                          const char *batch_id, int first, int n,
                          apr_uint64_t *rng)
{
    ord_order_t **orders = apr_palloc(p, n * sizeof(*orders));
    populate_write_t w = { NULL, 0, 0, NULL, 0, 0, 0 };
    apr_time_t now = apr_time_now();
    apr_status_t rv;
    int i;

    for (i = 0; i < n; i++) {
        orders[i] = apr_palloc(p, sizeof(ord_order_t));
        ord_order_random(p, rng, apr_psprintf(p, "%s-%d", batch_id, first + i),
                         orders[i]);
        orders[i]->created_at = orders[i]->updated_at = now;
    }
    w.orders = orders;
    w.n = n;
    w.lease_until = now + orders_server_settings(orders_engine_server(e))
                          .recovery;
    ord_metrics_enter(orders_metrics, orders_engine_slot(),
                      ord_metrics_pid_alive);
    rv = orders_engine_write(e, write_insert_all, &w);
    for (i = 0; rv == APR_SUCCESS && i < w.done; i++) {
        ord_metrics_created(orders_metrics);
    }
    ord_metrics_leave(orders_engine_slot());
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, orders_engine_server(e),
                     "ORD00052: populate "
                     "%s: storing orders %d-%d failed", batch_id, first,
                     first + n - 1);
        return 0;
    }
    for (i = 0; i < n; i++) {
        orders_engine_enqueue(e, orders[i]->order_id.text);
    }
    return w.done;
}

apr_status_t orders_engine_populate(apr_pool_t *p, const char *batch_id,
                                    int total, int *stored,
                                    apr_array_header_t *errors)
{
    orders_engine_t *e = orders_engine_acquire();
    populate_write_t batch = { batch_id, total, apr_time_now(), NULL, 0, 0,
                               0 };
    apr_uint64_t rng = 0;
    apr_status_t rv;
    int first;

    if (!e) {
        return APR_EINIT;
    }
    rv = orders_engine_write(e, write_batch, &batch);
    if (rv == APR_SUCCESS && !batch.done) {
        rv = APR_EEXIST;
    }
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    *stored = 0;
    apr_generate_random_bytes((unsigned char *)&rng, sizeof(rng));
    rng |= 1;   /* xorshift needs a non-zero state */
    for (first = 1; first <= total; first += POPULATE_CHUNK) {
        int n = total - first + 1 < POPULATE_CHUNK ? total - first + 1
                                                   : POPULATE_CHUNK;
        apr_pool_t *chunk;
        int done;

        apr_pool_create(&chunk, p);
        done = populate_chunk(e, chunk, batch_id, first, n, &rng);
        apr_pool_destroy(chunk);
        *stored += done;
        if (done < n) {
            APR_ARRAY_PUSH(errors, const char *) = apr_psprintf(
                p, "%d of orders %d to %d could not be stored", n - done,
                first, first + n - 1);
        }
    }
leave:
    orders_engine_release();
    return rv;
}

typedef struct {
    apr_int64_t seq;
    apr_status_t found;     /* APR_NOTFOUND: no such event to deliver */
} redeliver_write_t;

static apr_status_t write_redeliver(ord_db_t *c, apr_pool_t *p, void *arg)
{
    redeliver_write_t *w = arg;

    w->found = ord_store_redeliver(c, p, w->seq, apr_time_now());
    return w->found == APR_NOTFOUND ? APR_SUCCESS : w->found;
}

apr_status_t orders_engine_redeliver(apr_int64_t seq)
{
    orders_engine_t *e = orders_engine_acquire();
    redeliver_write_t w = { seq, APR_EGENERAL };
    apr_status_t rv;

    if (!e) {
        return APR_EINIT;
    }
    rv = orders_engine_write(e, write_redeliver, &w);
    orders_engine_release();
    return rv == APR_SUCCESS ? w.found : rv;
}
