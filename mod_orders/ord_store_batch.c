/*
 * ord_store_batch: the writes of one writer's transaction gathered by kind
 * and run as a few multi-row statements.  See ord_store.h.
 *
 * Every statement is a round trip to the database server, and the writer's
 * batch runs them one after another while its requests wait: a batch of 26
 * orders' inserts, claims and completions was 156 statements (each write
 * and its event), about 14 ms on PostgreSQL, nearly all of it waiting.
 *
 * A multi-row statement holds a power of two rows up to ORD_STORE_ROWS_MAX,
 * the last rows repeating the first (an INSERT skips a key it has just
 * written, an UPDATE meets the same row with the same values, IN () ignores
 * a repeated id), so that each kind has a handful of statement texts to
 * prepare.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

typedef struct {
    const char *order_id;
    const char *args[INSERT_ARGS];
    int *created;
} insert_t;

typedef struct {
    const char *order_id, *token;
    apr_time_t now, lease_until;
    apr_status_t *outcome;
    apr_time_t *created_at, *started_at;
} claim_t;

typedef struct {
    const char *order_id, *token;
    apr_time_t now;
    apr_status_t *outcome;
    apr_time_t *completed_at;
} completion_t;

/* The types gathered, in the order of an order's life: an order's events
 * of one batch are written in that order. */
static const char *const event_types[] = {
    ORD_EVENT_CREATED, ORD_EVENT_PROCESSING, ORD_EVENT_COMPLETED,
    ORD_EVENT_CANCELLED
};
#define EVENT_TYPES (sizeof(event_types) / sizeof(event_types[0]))

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

static const char *const sql_events_in[2] = {
    EVENT_HEAD("NULL") "WHERE order_id IN (",
    EVENT_HEAD("'pending'") "WHERE order_id IN ("
};

static const char sql_claims_head[] =
    "UPDATE orders SET status = 'Processing', claim_token = v.column2, "
    "started_us = CAST(v.column3 AS BIGINT), "
    "updated_us = CAST(v.column3 AS BIGINT), "
    "lease_until_us = CAST(v.column4 AS BIGINT) FROM (VALUES ";
/* Each row of v is one order, and the statement must look each up by
 * order_id.  The join alone did not make PostgreSQL do that: it read every
 * Pending (or Processing) row through the indexes on the status and hashed
 * them against v (64,000 index entries a statement, 16 ms against 0.5 ms),
 * or hashed a sequential scan of the table.  So the ids are given again as
 * a list the order_id index answers (the planner then expects 64 rows, not
 * thousands), and the status is compared UNINDEXED. */
#define STATUS_IS(s) UNINDEXED("orders.status") " = '" s "'"
static const char sql_claims_tail[] =
    ") AS v WHERE orders.order_id = v.column1 AND " STATUS_IS("Pending")
    " AND orders.order_id IN (";
static const char sql_claims_returning[] = ") RETURNING order_id, created_us";

static const char sql_completions_head[] =
    "UPDATE orders SET status = 'Completed', "
    "completed_us = CAST(v.column2 AS BIGINT), "
    "updated_us = CAST(v.column2 AS BIGINT), lease_until_us = NULL "
    "FROM (VALUES ";
static const char sql_completions_tail[] =
    ") AS v WHERE orders.order_id = v.column1 "
    "AND " STATUS_IS("Processing") " AND orders.claim_token = v.column3 "
    "AND orders.order_id IN (";
static const char sql_completions_returning[] = ") RETURNING order_id";

static void kind_init(kind_t *k, apr_pool_t *p, apr_size_t size)
{
    k->rows = apr_array_make(p, 16, (int)size);
    k->ids = apr_hash_make(p);
}

static void kind_clear(kind_t *k)
{
    apr_array_clear(k->rows);
    apr_hash_clear(k->ids);
}

/* The next row of `k` for `order_id`, zeroed.  The ids keep its index
 * (plus one): a push may move the rows. */
static void *add_row(kind_t *k, const char *order_id)
{
    void *row = apr_array_push(k->rows);

    memset(row, 0, (apr_size_t)k->rows->elt_size);
    apr_hash_set(k->ids, order_id, APR_HASH_KEY_STRING,
                 (void *)(apr_uintptr_t)k->rows->nelts);
    return row;
}

/* The index of the row of `order_id` in `k`, or -1. */
static int index_of(const kind_t *k, const char *order_id)
{
    void *v = order_id ? apr_hash_get(k->ids, order_id, APR_HASH_KEY_STRING)
                       : NULL;

    return v ? (int)(apr_uintptr_t)v - 1 : -1;
}

int ord_store_rows_for(int left)
{
    int rows = 1;

    while (rows < left && rows < ORD_STORE_ROWS_MAX) {
        rows *= 2;
    }
    return rows;
}

const char *ord_store_repeated(apr_pool_t *p, const char *head,
                               const char *row, int n, const char *tail)
{
    apr_size_t hl = strlen(head), rl = strlen(row), tl = strlen(tail);
    char *sql = apr_palloc(p, hl + (rl + 2) * (apr_size_t)n + tl + 1), *at;
    int i;

    memcpy(sql, head, hl);
    at = sql + hl;
    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(at, ", ", 2);
            at += 2;
        }
        memcpy(at, row, rl);
        at += rl;
    }
    memcpy(at, tail, tl + 1);
    return sql;
}

static batch_t *batch_of(const ord_db_t *c)
{
    return c->deferred;
}

void ord_store_batch_begin(ord_db_t *c, apr_pool_t *p)
{
    batch_t *b = apr_pcalloc(p, sizeof(*b));
    apr_size_t i;

    kind_init(&b->inserts, p, sizeof(insert_t));
    kind_init(&b->claims, p, sizeof(claim_t));
    kind_init(&b->completions, p, sizeof(completion_t));
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

    for (t = 0; t < EVENT_TYPES; t++) {
        kind_t *k = &b->events[t];
        const char **ids = (const char **)k->rows->elts;
        int n = k->rows->nelts, done, take;

        for (done = 0; done < n; done += take) {
            int rows, i, nrows = 0;
            const char **args;
            apr_status_t rv;

            take = n - done < ORD_STORE_ROWS_MAX ? n - done
                                                 : ORD_STORE_ROWS_MAX;
            rows = ord_store_rows_for(take);
            args = apr_palloc(p, (apr_size_t)(rows + 1) * sizeof(*args));
            args[0] = event_types[t];
            for (i = 0; i < rows; i++) {
                args[i + 1] = ids[done + (i < take ? i : 0)];
            }
            rv = ord_db_exec(c, p,
                             ord_store_repeated(p, sql_events_in[
                                                       c->deliver_events != 0],
                                                "%s", rows, ")"),
                             args, rows + 1, &nrows);
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
static apr_status_t add_event(ord_db_t *c, apr_pool_t *p, batch_t *b,
                              apr_size_t type, const char *order_id)
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
            return add_event(c, p, b, t, apr_pstrdup(p, order_id));
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
                rv = add_event(c, p, b, 0, in->order_id);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    kind_clear(&b->inserts);
    return APR_SUCCESS;
}

/* ---- claims and completions ------------------------------------------ */

static apr_status_t flush_claims(ord_db_t *c, apr_pool_t *p, batch_t *b);
static apr_status_t flush_completions(ord_db_t *c, apr_pool_t *p,
                                      batch_t *b);

apr_status_t ord_store_claim_gathered(ord_db_t *c, apr_pool_t *p,
                                      const char *order_id, ord_status_e from,
                                      const char *token, apr_time_t now,
                                      apr_time_t lease_until,
                                      apr_status_t *outcome,
                                      apr_time_t *created_at,
                                      apr_time_t *started_at)
{
    batch_t *b = batch_of(c);
    claim_t *cl;
    apr_status_t rv;

    if (from != ORD_PENDING || !ord_store_batch_defers_rows(c)) {
        rv = ord_store_claim(c, p, order_id, from, token, now, lease_until,
                             created_at, started_at);
        *outcome = rv;
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    /* Two claims of one order in one statement: which one the row takes
     * would be the database's choice. */
    if (index_of(&b->claims, order_id) >= 0) {
        rv = flush_claims(c, p, b);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *outcome = APR_EGENERAL;
    cl = add_row(&b->claims, order_id);
    cl->order_id = order_id;
    cl->token = token;
    cl->now = now;
    cl->lease_until = lease_until;
    cl->outcome = outcome;
    cl->created_at = created_at;
    cl->started_at = started_at;
    return APR_SUCCESS;
}

apr_status_t ord_store_complete_gathered(ord_db_t *c, apr_pool_t *p,
                                         const char *order_id,
                                         const char *token, apr_time_t now,
                                         apr_status_t *outcome,
                                         apr_time_t *completed_at)
{
    batch_t *b = batch_of(c);
    completion_t *co;
    apr_status_t rv;

    if (!ord_store_batch_defers_rows(c)) {
        rv = ord_store_complete(c, p, order_id, token, now, completed_at);
        *outcome = rv;
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (index_of(&b->completions, order_id) >= 0) {
        rv = flush_completions(c, p, b);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *outcome = APR_EGENERAL;
    co = add_row(&b->completions, order_id);
    co->order_id = order_id;
    co->token = token;
    co->now = now;
    co->outcome = outcome;
    co->completed_at = completed_at;
    return APR_SUCCESS;
}

/* The rows of `k` that RETURNING did not name: what their row says now
 * (an earlier attempt of the same claim that committed is a success),
 * through `settle`. */
typedef apr_status_t settle_fn(ord_db_t *c, apr_pool_t *p, void *row);

static apr_status_t settle_claim(ord_db_t *c, apr_pool_t *p, void *row)
{
    claim_t *cl = row;
    const char **cols;
    apr_status_t rv = ord_store_row_says_ours(c, p, cl->order_id,
                                              "Processing", cl->token, &cols);

    if (rv == APR_SUCCESS) {
        *cl->created_at = text_int64(cols[2]);
        *cl->started_at = text_int64(cols[3]);
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        *cl->outcome = rv;
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t settle_completion(ord_db_t *c, apr_pool_t *p, void *row)
{
    completion_t *co = row;
    const char **cols;
    apr_status_t rv = ord_store_row_says_ours(c, p, co->order_id,
                                              "Completed", co->token, &cols);

    if (rv == APR_SUCCESS) {
        *co->completed_at = text_int64(cols[4]);
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        *co->outcome = rv;
        return APR_SUCCESS;
    }
    return rv;
}

/* Runs the UPDATEs of kind `k` (`cols` arguments a row, from `fill`), then
 * `won` for each row RETURNING names and `settle` for the others. */
/* A row's arguments, its order_id first. */
typedef void fill_fn(apr_pool_t *p, const void *row, const char **args);
typedef apr_status_t won_fn(ord_db_t *c, apr_pool_t *p, batch_t *b,
                            void *row, const char *const *returned);

static apr_status_t flush_updates(ord_db_t *c, apr_pool_t *p, batch_t *b,
                                  kind_t *k, const char *head,
                                  const char *row_sql, const char *tail,
                                  const char *returning, int cols,
                                  int returned_cols, fill_fn *fill,
                                  won_fn *won, settle_fn *settle)
{
    char *rows_at = k->rows->elts;
    apr_size_t size = (apr_size_t)k->rows->elt_size;
    int n = k->rows->nelts, done, take, i;
    char *named = apr_pcalloc(p, (apr_size_t)n + 1);
    apr_status_t rv = APR_SUCCESS;

    for (done = 0; done < n; done += take) {
        int rows;
        const char **args;
        apr_array_header_t *returned;

        take = n - done < ORD_STORE_ROWS_MAX ? n - done
                                             : ORD_STORE_ROWS_MAX;
        rows = ord_store_rows_for(take);
        /* The rows' arguments, then their order ids again (the list). */
        args = apr_palloc(p, (apr_size_t)(rows * (cols + 1)) * sizeof(*args));
        for (i = 0; i < rows; i++) {
            fill(p, rows_at + size * (apr_size_t)(done + (i < take ? i : 0)),
                 args + i * cols);
            args[rows * cols + i] = args[i * cols];
        }
        rv = ord_db_select(c, p,
                           apr_pstrcat(p, ord_store_repeated(p, head, row_sql,
                                                             rows, tail),
                                       ord_store_repeated(p, "", "%s", rows,
                                                          returning), NULL),
                           args, rows * (cols + 1), returned_cols, &returned);
        for (i = 0; rv == APR_SUCCESS && i < returned->nelts; i++) {
            const char *const *ret = APR_ARRAY_IDX(returned, i,
                                                   const char **);
            int at = index_of(k, ret[0]);

            if (at >= 0 && !named[at]) {
                named[at] = 1;
                rv = won(c, p, b, rows_at + size * (apr_size_t)at, ret);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        if (!named[i]) {
            rv = settle(c, p, rows_at + size * (apr_size_t)i);
        }
    }
    if (rv == APR_SUCCESS) {
        kind_clear(k);
    }
    return rv;
}

static void fill_claim(apr_pool_t *p, const void *row, const char **args)
{
    const claim_t *cl = row;

    args[0] = cl->order_id;
    args[1] = cl->token;
    args[2] = int64_text(p, cl->now);
    args[3] = int64_text(p, cl->lease_until);
}

static apr_status_t won_claim(ord_db_t *c, apr_pool_t *p, batch_t *b,
                              void *row, const char *const *returned)
{
    claim_t *cl = row;

    *cl->outcome = APR_SUCCESS;
    *cl->created_at = text_int64(returned[1]);
    *cl->started_at = cl->now;
    return add_event(c, p, b, 1, cl->order_id);
}

static void fill_completion(apr_pool_t *p, const void *row,
                            const char **args)
{
    const completion_t *co = row;

    args[0] = co->order_id;
    args[1] = int64_text(p, co->now);
    args[2] = co->token;
}

static apr_status_t won_completion(ord_db_t *c, apr_pool_t *p, batch_t *b,
                                   void *row, const char *const *returned)
{
    completion_t *co = row;

    *co->outcome = APR_SUCCESS;
    *co->completed_at = co->now;
    return add_event(c, p, b, 2, co->order_id);
}

static apr_status_t flush_claims(ord_db_t *c, apr_pool_t *p, batch_t *b)
{
    return flush_updates(c, p, b, &b->claims, sql_claims_head,
                         "(%s, %s, %s, %s)", sql_claims_tail,
                         sql_claims_returning, 4, 2,
                         fill_claim, won_claim, settle_claim);
}

static apr_status_t flush_completions(ord_db_t *c, apr_pool_t *p,
                                      batch_t *b)
{
    return flush_updates(c, p, b, &b->completions, sql_completions_head,
                         "(%s, %s, %s)", sql_completions_tail,
                         sql_completions_returning, 3, 1,
                         fill_completion, won_completion, settle_completion);
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
        rv = flush_claims(c, p, b);
    }
    if (rv == APR_SUCCESS) {
        rv = flush_completions(c, p, b);
    }
    if (rv == APR_SUCCESS) {
        rv = flush_events(c, p, b);
    }
    c->deferred = NULL;
    return rv;
}
