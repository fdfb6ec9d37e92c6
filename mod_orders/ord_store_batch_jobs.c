/*
 * ord_store_batch_jobs: the jobs' claims from Pending and completions,
 * gathered in the writer's batch and run as multi-row UPDATEs.  See
 * ord_store.h.
 *
 * Where the dialect has RETURNING (SQLite, PostgreSQL) each row the UPDATE
 * changed comes back through it; elsewhere (MariaDB) the rows are read FOR
 * UPDATE first, which tells which ones the UPDATE changes
 * (ord_store_update_rows).  Those are won, with their event gathered.
 * The others read their row (ord_store_row_says_ours): an earlier attempt
 * of the same claim that committed is a success too.
 */
#include <apr_strings.h>

#include "ord_store_batch.h"

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

static const char sql_completions_head[] =
    "UPDATE orders SET status = 'Completed', "
    "completed_us = CAST(v.column2 AS BIGINT), "
    "updated_us = CAST(v.column2 AS BIGINT), lease_until_us = NULL "
    "FROM (VALUES ";
static const char sql_completions_tail[] =
    ") AS v WHERE orders.order_id = v.column1 "
    "AND " STATUS_IS("Processing") " AND orders.claim_token = v.column3 "
    "AND orders.order_id IN (";

void ord_store_batch_jobs_init(batch_t *b, apr_pool_t *p)
{
    kind_init(&b->claims, p, sizeof(claim_t));
    kind_init(&b->completions, p, sizeof(completion_t));
}

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

    if (from != ORD_PENDING || !b) {
        rv = ord_store_claim(c, p, order_id, from, token, now, lease_until,
                             created_at, started_at);
        *outcome = rv;
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    /* Two claims of one order in one statement: which one the row takes
     * would be the database's choice. */
    if (index_of(&b->claims, order_id) >= 0) {
        rv = ord_store_batch_flush_claims(c, p, b);
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

    if (!b) {
        rv = ord_store_complete(c, p, order_id, token, now, completed_at);
        *outcome = rv;
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (index_of(&b->completions, order_id) >= 0) {
        rv = ord_store_batch_flush_completions(c, p, b);
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

/* A row RETURNING did not name (its outcome is still the gathered
 * APR_EGENERAL): what the order's row says now. */
static apr_status_t settle_claim(ord_db_t *c, apr_pool_t *p, void *row)
{
    claim_t *cl = row;
    const char **cols;
    apr_status_t rv;

    if (*cl->outcome != APR_EGENERAL) {
        return APR_SUCCESS;
    }
    rv = ord_store_row_says_ours(c, p, cl->order_id, "Processing", cl->token,
                                 &cols);

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
    apr_status_t rv;

    if (*co->outcome != APR_EGENERAL) {
        return APR_SUCCESS;
    }
    rv = ord_store_row_says_ours(c, p, co->order_id, "Completed", co->token,
                                 &cols);

    if (rv == APR_SUCCESS) {
        *co->completed_at = text_int64(cols[4]);
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        *co->outcome = rv;
        return APR_SUCCESS;
    }
    return rv;
}

/* What a flush's callbacks need. */
typedef struct {
    ord_db_t *c;
    apr_pool_t *p;
    batch_t *b;
} flush_t;

typedef apr_status_t settle_fn(ord_db_t *c, apr_pool_t *p, void *row);

/* After the UPDATEs of kind `k` (`rv`), `settle` for each of its rows. */
static apr_status_t settle_kind(flush_t *f, kind_t *k, apr_status_t rv,
                                settle_fn *settle)
{
    char *rows = k->rows->elts;
    apr_size_t size = (apr_size_t)k->rows->elt_size;
    int i;

    for (i = 0; rv == APR_SUCCESS && i < k->rows->nelts; i++) {
        rv = settle(f->c, f->p, rows + size * (apr_size_t)i);
    }
    if (rv == APR_SUCCESS) {
        kind_clear(k);
    }
    return rv;
}

/* The UPDATEs of kind `k`. */
static apr_status_t update_kind(flush_t *f, kind_t *k,
                                const ord_store_rows_sql_t *returning,
                                const ord_store_locked_sql_t *locked,
                                ord_store_row_args_fn *row_args,
                                ord_store_row_returned_fn *won)
{
    return ord_store_update_rows(f->c, f->p, returning, locked,
                                 k->rows->elts,
                                 (apr_size_t)k->rows->elt_size,
                                 k->rows->nelts, row_args, won, f);
}

static void claim_args(apr_pool_t *p, const void *row, const char **args)
{
    const claim_t *cl = row;

    args[0] = cl->order_id;
    args[1] = cl->token;
    args[2] = int64_text(p, cl->now);
    args[3] = int64_text(p, cl->lease_until);
}

static apr_status_t claim_won(void *baton, void *row,
                              const char *const *cols)
{
    flush_t *f = baton;
    claim_t *cl = row;

    *cl->outcome = APR_SUCCESS;
    *cl->created_at = text_int64(cols[1]);
    *cl->started_at = cl->now;
    return ord_store_batch_add_event(f->c, f->p, f->b, EVENT_PROCESSING,
                                     cl->order_id);
}

static void completion_args(apr_pool_t *p, const void *row,
                            const char **args)
{
    const completion_t *co = row;

    args[0] = co->order_id;
    args[1] = int64_text(p, co->now);
    args[2] = co->token;
}

static apr_status_t completion_won(void *baton, void *row,
                                   const char *const *cols)
{
    flush_t *f = baton;
    completion_t *co = row;

    *co->outcome = APR_SUCCESS;
    *co->completed_at = co->now;
    return ord_store_batch_add_event(f->c, f->p, f->b, EVENT_COMPLETED,
                                     co->order_id);
}

apr_status_t ord_store_batch_flush_claims(ord_db_t *c, apr_pool_t *p,
                                          batch_t *b)
{
    static const ord_store_rows_sql_t sql = {
        sql_claims_head, "(%s, %s, %s, %s)", sql_claims_tail, "%s",
        ") RETURNING order_id, created_us", 4, 2, NULL, 0, NULL, 0
    };
    static const ord_store_set_t set[] = {
        { "claim_token", "%s", 1 }, { "started_us", "%lld", 2 },
        { "updated_us", "%lld", 2 }, { "lease_until_us", "%lld", 3 }
    };
    static const ord_store_locked_sql_t locked = {
        "orders", "order_id", "%s", ", created_us, claim_token", 3,
        UNINDEXED("status") " = 'Pending'", "status = 'Processing'", 2, -1,
        4, set, 4, NULL, 0, NULL, 0
    };
    flush_t f = { c, p, b };

    return settle_kind(&f, &b->claims,
                       update_kind(&f, &b->claims, &sql, &locked, claim_args,
                                   claim_won),
                       settle_claim);
}

apr_status_t ord_store_batch_flush_completions(ord_db_t *c, apr_pool_t *p,
                                               batch_t *b)
{
    static const ord_store_rows_sql_t sql = {
        sql_completions_head, "(%s, %s, %s)", sql_completions_tail, "%s",
        ") RETURNING order_id", 3, 1, NULL, 0, NULL, 0
    };
    static const ord_store_set_t set[] = {
        { "completed_us", "%lld", 1 }, { "updated_us", "%lld", 1 }
    };
    /* Ours only under our claim's token (argument 2). */
    static const ord_store_locked_sql_t locked = {
        "orders", "order_id", "%s", ", created_us, claim_token", 3,
        UNINDEXED("status") " = 'Processing'",
        "status = 'Completed', lease_until_us = NULL", 2, 2, 3, set, 2,
        NULL, 0, NULL, 0
    };
    flush_t f = { c, p, b };

    return settle_kind(&f, &b->completions,
                       update_kind(&f, &b->completions, &sql, &locked,
                                   completion_args, completion_won),
                       settle_completion);
}
