/*
 * ord_store_batch: the writes of one writer's transaction gathered by kind
 * and run as a few multi-row statements (ord_store_rows.c): the batch
 * itself, the events and the new orders; the jobs' claims and completions
 * are ord_store_batch_jobs.c.  See ord_store.h.
 *
 * Every statement is a round trip to the database server, and the writer's
 * batch runs them one after another while its requests wait: a batch of 26
 * orders' inserts, claims and completions was 156 statements (each write
 * and its event), about 14 ms on PostgreSQL, nearly all of it waiting.
 */
#include <apr_strings.h>

#include "ord_store_batch.h"

typedef struct {
    const char *order_id;
    const char *args[INSERT_ARGS];
    int *created;
} insert_t;

static const char *const event_types[EVENT_TYPES] = {
    ORD_EVENT_CREATED, ORD_EVENT_PROCESSING, ORD_EVENT_COMPLETED,
    ORD_EVENT_CANCELLED
};

static const char *const sql_events_in[2] = {
    EVENT_HEAD("NULL") "WHERE order_id IN (",
    EVENT_HEAD("'pending'") "WHERE order_id IN ("
};

void ord_store_batch_begin(ord_db_t *c, apr_pool_t *p)
{
    batch_t *b = apr_pcalloc(p, sizeof(*b));
    apr_size_t i;

    kind_init(&b->inserts, p, sizeof(insert_t));
    ord_store_batch_jobs_init(b, p);
    for (i = 0; i < EVENT_TYPES; i++) {
        kind_init(&b->events[i], p, sizeof(const char *));
    }
    b->evented = apr_hash_make(p);
    c->deferred = b;
}

void ord_store_batch_discard(ord_db_t *c)
{
    c->deferred = NULL;
}

int ord_store_batch_defers_rows(const ord_db_t *c)
{
    /* The outcomes come back through RETURNING (MariaDB has none for
     * UPDATE). */
    return batch_of(c) && c->dialect->update_returning;
}

/* ---- events ---------------------------------------------------------- */

static apr_status_t flush_events(ord_db_t *c, apr_pool_t *p, batch_t *b)
{
    apr_size_t t;
    apr_status_t rv;

    for (t = 0; t < EVENT_TYPES; t++) {
        kind_t *k = &b->events[t];
        const char **ids = (const char **)k->rows->elts;
        int n = k->rows->nelts, done, take;

        for (done = 0; done < n; done += take) {
            int rows, i;
            const char **args;

            take = n - done < ORD_STORE_ROWS_MAX ? n - done
                                                 : ORD_STORE_ROWS_MAX;
            rows = ord_store_rows_for(take);
            args = apr_palloc(p, (apr_size_t)(rows + 1) * sizeof(*args));
            args[0] = event_types[t];
            for (i = 0; i < rows; i++) {
                args[i + 1] = ids[done + (i < take ? i : 0)];
            }
            rv = ord_store_write_events(
                c, p,
                ord_store_repeated(p, sql_events_in[c->deliver_events != 0],
                                   "%s", rows, ")"),
                args, rows + 1);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        kind_clear(k);
    }
    apr_hash_clear(b->evented);
    return APR_SUCCESS;
}

/* Gathers an event; one of an order that has one gathered already first
 * writes those, so that each says what the row said after its own
 * transition. */
apr_status_t ord_store_batch_add_event(ord_db_t *c, apr_pool_t *p,
                                       batch_t *b, int type,
                                       const char *order_id)
{
    if (apr_hash_get(b->evented, order_id, APR_HASH_KEY_STRING)) {
        apr_status_t rv = flush_events(c, p, b);

        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *(const char **)add_row(&b->events[type], order_id) = order_id;
    apr_hash_set(b->evented, order_id, APR_HASH_KEY_STRING, "");
    return APR_SUCCESS;
}

apr_status_t ord_store_batch_event(ord_db_t *c, apr_pool_t *p,
                                   const char *type, const char *order_id)
{
    batch_t *b = batch_of(c);
    apr_size_t t;

    for (t = 0; b && t < EVENT_TYPES; t++) {
        if (strcmp(type, event_types[t]) == 0) {
            return ord_store_batch_add_event(c, p, b, (int)t,
                                             apr_pstrdup(p, order_id));
        }
    }
    return APR_ENOTIMPL;
}

apr_status_t ord_store_batch_settle(ord_db_t *c, apr_pool_t *p,
                                    const char *order_id)
{
    batch_t *b = batch_of(c);

    if (!b || !apr_hash_get(b->evented, order_id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    return flush_events(c, p, b);
}

/* ---- new orders -------------------------------------------------------- */

void ord_store_batch_insert(ord_db_t *c, apr_pool_t *p, const ord_order_t *o,
                            apr_time_t lease_until, int *created)
{
    batch_t *b = batch_of(c);
    insert_t *in;

    *created = 0;
    /* The same order_id twice in one batch (a client's retry racing its
     * first try): the first one's row decides; the other finds it there,
     * as it would after the commit. */
    if (index_of(&b->inserts, o->order_id.text) >= 0) {
        return;
    }
    in = add_row(&b->inserts, o->order_id.text);
    in->order_id = o->order_id.text;
    in->created = created;
    ord_store_insert_args(p, o, lease_until, in->args);
}

static apr_status_t flush_inserts(ord_db_t *c, apr_pool_t *p, batch_t *b)
{
    insert_t *ins = (insert_t *)b->inserts.rows->elts;
    int n = b->inserts.rows->nelts, done, take;
    const char *tail = apr_pstrcat(p, c->dialect->skip_duplicate(p,
                                                                 "order_id"),
                                   " RETURNING order_id", NULL);

    for (done = 0; done < n; done += take) {
        int rows, i;
        const char **args;
        apr_array_header_t *created;
        apr_status_t rv;

        take = n - done < ORD_STORE_ROWS_MAX ? n - done
                                             : ORD_STORE_ROWS_MAX;
        rows = ord_store_rows_for(take);
        args = apr_palloc(p, (apr_size_t)rows * INSERT_ARGS * sizeof(*args));
        for (i = 0; i < rows; i++) {
            memcpy(args + i * INSERT_ARGS, ins[done + (i < take ? i : 0)].args,
                   sizeof(ins[0].args));
        }
        rv = ord_db_select(c, p, ord_store_repeated(p, INSERT_HEAD,
                                                    INSERT_ROW, rows, tail),
                           args, rows * INSERT_ARGS, 1, &created);
        for (i = 0; rv == APR_SUCCESS && i < created->nelts; i++) {
            int at = index_of(&b->inserts,
                              APR_ARRAY_IDX(created, i, const char **)[0]);

            if (at >= 0) {
                insert_t *in = (insert_t *)b->inserts.rows->elts + at;

                *in->created = 1;
                rv = ord_store_batch_add_event(c, p, b, EVENT_CREATED,
                                               in->order_id);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    kind_clear(&b->inserts);
    return APR_SUCCESS;
}

apr_status_t ord_store_batch_flush(ord_db_t *c, apr_pool_t *p)
{
    batch_t *b = batch_of(c);
    apr_status_t rv = APR_SUCCESS;

    if (!b) {
        return APR_SUCCESS;
    }
    /* In the order of an order's life; the events last, reading the rows
     * as the rest left them. */
    rv = flush_inserts(c, p, b);
    if (rv == APR_SUCCESS) {
        rv = ord_store_batch_flush_claims(c, p, b);
    }
    if (rv == APR_SUCCESS) {
        rv = ord_store_batch_flush_completions(c, p, b);
    }
    if (rv == APR_SUCCESS) {
        rv = flush_events(c, p, b);
    }
    c->deferred = NULL;
    return rv;
}
