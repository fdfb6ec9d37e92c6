/*
 * ord_store_batch: what the two halves of the batch share (ord_store_batch.c:
 * the batch, events and new orders; ord_store_batch_jobs.c: the jobs'
 * claims and completions).  Private to them.  See ord_store.h.
 */
#ifndef ORD_STORE_BATCH_H
#define ORD_STORE_BATCH_H

#include <string.h>

#include <apr_hash.h>

#include "ord_store.h"
#include "ord_store_text.h"

/* The event types gathered, in the order of an order's life: an order's
 * events of one batch are written in that order. */
enum {
    EVENT_CREATED, EVENT_PROCESSING, EVENT_COMPLETED, EVENT_CANCELLED,
    EVENT_TYPES
};

/* Rows gathered of one kind, and their order ids (a second write of the
 * same id runs what is gathered first). */
typedef struct {
    apr_array_header_t *rows;
    apr_hash_t *ids;
} kind_t;

typedef struct {
    kind_t inserts, claims, completions;
    kind_t events[EVENT_TYPES];
    apr_hash_t *evented;        /* order ids with an event gathered */
} batch_t;

static inline batch_t *batch_of(const ord_db_t *c)
{
    return c->deferred;
}

static inline void kind_init(kind_t *k, apr_pool_t *p, apr_size_t size)
{
    k->rows = apr_array_make(p, 16, (int)size);
    k->ids = apr_hash_make(p);
}

static inline void kind_clear(kind_t *k)
{
    apr_array_clear(k->rows);
    apr_hash_clear(k->ids);
}

/* The next row of `k` for `order_id`, zeroed.  The ids keep its index
 * (plus one): a push may move the rows. */
static inline void *add_row(kind_t *k, const char *order_id)
{
    void *row = apr_array_push(k->rows);

    memset(row, 0, (apr_size_t)k->rows->elt_size);
    apr_hash_set(k->ids, order_id, APR_HASH_KEY_STRING,
                 (void *)(apr_uintptr_t)k->rows->nelts);
    return row;
}

/* The index of the row of `order_id` in `k`, or -1. */
static inline int index_of(const kind_t *k, const char *order_id)
{
    void *v = order_id ? apr_hash_get(k->ids, order_id, APR_HASH_KEY_STRING)
                       : NULL;

    return v ? (int)(apr_uintptr_t)v - 1 : -1;
}

/* Gathers the event `type` of `order_id` (ord_store_batch.c). */
apr_status_t ord_store_batch_add_event(ord_db_t *c, apr_pool_t *p,
                                       batch_t *b, int type,
                                       const char *order_id);

/* ord_store_batch_jobs.c: the kinds of the claims and completions, and
 * their flush. */
void ord_store_batch_jobs_init(batch_t *b, apr_pool_t *p);
apr_status_t ord_store_batch_flush_claims(ord_db_t *c, apr_pool_t *p,
                                          batch_t *b);
apr_status_t ord_store_batch_flush_completions(ord_db_t *c, apr_pool_t *p,
                                               batch_t *b);

#endif /* ORD_STORE_BATCH_H */
