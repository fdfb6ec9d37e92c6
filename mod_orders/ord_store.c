/*
 * ord_store: SQL through apr_dbd.  See ord_store.h for the contract.
 *
 * Placeholders are apr_dbd's (%s, %lld), which it turns into ? or $N; every
 * argument goes in as text through the p* calls and the column types do the
 * rest.  Results are always read to the end: SQLite keeps a statement (and
 * its lock) open until then.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "ord_store.h"

#define ORDER_COLUMNS \
    "order_id, order_id_int, user_id, user_id_int, item_ids, "            \
    "amount_cents, amount_scale, status, created_us, updated_us, "         \
    "started_us, completed_us"

#define INSERT_HEAD \
    "INSERT INTO orders (order_id, order_id_int, user_id, user_id_int, " \
    "item_ids, amount_cents, amount_scale, status, created_us, updated_us, " \
    "lease_until_us) VALUES "
#define INSERT_ROW "(%s, %d, %s, %d, %s, %lld, %d, 'Pending', %lld, %lld, %lld)"
#define INSERT_TAIL " ON CONFLICT (order_id) DO NOTHING"
#define INSERT_ARGS 10
/* Rows of one multi-row INSERT (well under both drivers' limits on
 * placeholders). */
#define INSERT_MAX_ROWS 100

static const char sql_insert[] = INSERT_HEAD INSERT_ROW INSERT_TAIL;

static const char sql_get[] =
    "SELECT " ORDER_COLUMNS " FROM orders WHERE order_id = %s";

static const char sql_claim_pending[] =
    "UPDATE orders SET status = 'Processing', claim_token = %s, "
    "started_us = %lld, updated_us = %lld, lease_until_us = %lld "
    "WHERE order_id = %s AND status = 'Pending' "
    "RETURNING created_us";

static const char sql_claim_expired[] =
    "UPDATE orders SET claim_token = %s, "
    "started_us = %lld, updated_us = %lld, lease_until_us = %lld "
    "WHERE order_id = %s AND status = 'Processing' AND lease_until_us < %lld "
    "RETURNING created_us";

static const char sql_complete[] =
    "UPDATE orders SET status = 'Completed', completed_us = %lld, "
    "updated_us = %lld, lease_until_us = NULL "
    "WHERE order_id = %s AND status = 'Processing' AND claim_token = %s";

static const char sql_claim_state[] =
    "SELECT status, claim_token, created_us, started_us, completed_us "
    "FROM orders WHERE order_id = %s";

/* The holder renews its own lease; anyone takes one that ran out. */
static const char sql_lease[] =
    "UPDATE order_leases SET holder = %s, until_us = %lld "
    "WHERE name = %s AND (holder = %s OR until_us < %lld)";

static const char sql_orphans[] =
    "SELECT order_id, status FROM orders "
    "WHERE status IN ('Pending', 'Processing') AND lease_until_us < %lld "
    "ORDER BY lease_until_us LIMIT %d";

static const char sql_totals[] =
    "SELECT status, COUNT(*), "
    "COALESCE(SUM(completed_us - started_us), 0), "
    "COALESCE(SUM(completed_us - created_us), 0) "
    "FROM orders GROUP BY status";

const apr_int64_t ord_processing_bounds_us[ORD_PROCESSING_BUCKETS - 1] = {
    50000, 100000, 250000, 500000, 1000000, 2000000, 3000000, 5000000,
    10000000, 30000000, 60000000
};

/* The same bounds as ord_processing_bounds_us, cumulative: a bucket's count
 * is the difference of two neighbours. */
static const char sql_histogram[] =
    "SELECT "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 50000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 100000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 250000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 500000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 1000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 2000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 3000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 5000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 10000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 30000000 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN completed_us - started_us <= 60000000 THEN 1 ELSE 0 END), 0), "
    "COUNT(*) "
    "FROM orders WHERE status = 'Completed'";

/* The list, one statement per combination of filters (each uses an
 * index: the primary key, (status, seq) or (user_id, seq)); one row more
 * than the page tells whether another follows. */
#define LIST_SELECT "SELECT seq, " ORDER_COLUMNS " FROM orders WHERE seq > %lld "
#define LIST_ORDER " ORDER BY seq LIMIT %d"
static const char sql_list_all[] = LIST_SELECT LIST_ORDER;
static const char sql_list_status[] =
    LIST_SELECT "AND status = %s" LIST_ORDER;
static const char sql_list_user[] =
    LIST_SELECT "AND user_id = %s" LIST_ORDER;
static const char sql_list_status_user[] =
    LIST_SELECT "AND status = %s AND user_id = %s" LIST_ORDER;

static const char sql_cancel[] =
    "UPDATE orders SET status = 'Cancelled', updated_us = %lld, "
    "lease_until_us = NULL WHERE order_id = %s AND status = 'Pending'";

static const char sql_batch[] =
    "INSERT INTO order_batches (batch_id, total_entries, created_us) "
    "VALUES (%s, %d, %lld) ON CONFLICT (batch_id) DO NOTHING";

static const char sql_order_ids[] =
    "SELECT order_id FROM orders WHERE status = %s ORDER BY seq LIMIT %d";

int ord_processing_bucket(apr_interval_time_t processing_us)
{
    int i;

    for (i = 0; i < ORD_PROCESSING_BUCKETS - 1; i++) {
        if (processing_us <= ord_processing_bounds_us[i]) {
            return i;
        }
    }
    return ORD_PROCESSING_BUCKETS - 1;
}

static const char *int64_text(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static apr_int64_t text_int64(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}


apr_status_t ord_store_ensure_schema(ord_db_t *c, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, c->dialect->schema), *last = NULL, *one;
    apr_status_t rv;

    if (c->dialect->prologue) {
        const char *answer = NULL;
        rv = ord_db_value(c, p, c->dialect->prologue, &answer);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!answer || strcasecmp(answer, c->dialect->prologue_answer) != 0) {
            return APR_EGENERAL;
        }
    }
    /* All of it or nothing, so that no other connection ever prepares a
     * statement against half a schema. */
    rv = ord_db_begin(c);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Drivers differ in running several statements at once: run each. */
    for (one = apr_strtok(copy, ";", &last); one;
         one = apr_strtok(NULL, ";", &last)) {
        const char *s = one;
        while (*s == ' ' || *s == '\n' || *s == '\t') {
            s++;
        }
        if (*s == '\0') {
            continue;
        }
        rv = ord_db_run(c, s);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    }
    rv = ord_db_commit(c);
leave:
    if (rv != APR_SUCCESS && c->in_transaction) {
        ord_db_rollback(c);     /* the first failure is kept */
    }
    return rv;
}
/* The INSERT_ARGS arguments of one row. */
static void insert_args(apr_pool_t *p, const ord_order_t *o,
                        apr_time_t lease_until, const char **args)
{
    args[0] = o->order_id.text;
    args[1] = o->order_id.is_int ? "1" : "0";
    args[2] = o->user_id.text;
    args[3] = o->user_id.is_int ? "1" : "0";
    args[4] = o->item_ids_json;
    args[5] = int64_text(p, o->total_amount.cents);
    args[6] = apr_itoa(p, o->total_amount.scale);
    args[7] = int64_text(p, o->created_at);
    args[8] = int64_text(p, o->updated_at);
    args[9] = int64_text(p, lease_until);
}

apr_status_t ord_store_insert(ord_db_t *c, apr_pool_t *p,
                              const ord_order_t *o, apr_time_t lease_until,
                              int *created)
{
    const char *args[INSERT_ARGS];
    int nrows = 0;
    apr_status_t rv;

    insert_args(p, o, lease_until, args);
    rv = ord_db_exec(c, p, sql_insert, args, INSERT_ARGS, &nrows);
    if (rv == APR_SUCCESS) {
        *created = nrows == 1;
    }
    return rv;
}

apr_status_t ord_store_insert_all(ord_db_t *c, apr_pool_t *p,
                                  ord_order_t *const *orders, int n,
                                  apr_time_t lease_until, int *inserted)
{
    int done = 0, count = 0;

    /* One statement per INSERT_MAX_ROWS rows, not a transaction of many
     * statements: apr_dbd's SQLite driver holds a process-wide lock around
     * each statement, and a transaction spanning several would stall every
     * other writer of the child while it waits for the database lock. */
    while (done < n) {
        int rows = n - done < INSERT_MAX_ROWS ? n - done : INSERT_MAX_ROWS;
        const char **args = apr_palloc(p, rows * INSERT_ARGS * sizeof(*args));
        const char *sql = INSERT_HEAD INSERT_ROW;
        int i, nrows = 0;
        apr_status_t rv;

        for (i = 0; i < rows; i++) {
            if (i > 0) {
                sql = apr_pstrcat(p, sql, ", " INSERT_ROW, NULL);
            }
            insert_args(p, orders[done + i], lease_until,
                        args + i * INSERT_ARGS);
        }
        sql = apr_pstrcat(p, sql, INSERT_TAIL, NULL);
        rv = ord_db_exec(c, p, sql, args, rows * INSERT_ARGS, &nrows);
        if (rv != APR_SUCCESS) {
            *inserted = count;
            return rv;
        }
        count += nrows;
        done += rows;
    }
    *inserted = count;
    return APR_SUCCESS;
}

/* An order from the ORDER_COLUMNS of a row; NULL when the row is not one
 * this module wrote. */
static ord_order_t *row_to_order(apr_pool_t *p, const char **col)
{
    ord_order_t *o = apr_pcalloc(p, sizeof(*o));

    o->order_id.text = col[0];
    o->order_id.is_int = text_int64(col[1]) != 0;
    o->user_id.text = col[2];
    o->user_id.is_int = text_int64(col[3]) != 0;
    o->item_ids_json = col[4];
    o->total_amount.cents = text_int64(col[5]);
    o->total_amount.scale = (int)text_int64(col[6]);
    if (ord_status_parse(col[7], &o->status) != APR_SUCCESS) {
        return NULL;
    }
    o->created_at = text_int64(col[8]);
    o->updated_at = text_int64(col[9]);
    o->processing_started_at = text_int64(col[10]);
    o->completed_at = text_int64(col[11]);
    return o;
}

apr_status_t ord_store_get(ord_db_t *c, apr_pool_t *p,
                           const char *order_id, ord_order_t **order)
{
    const char *args[1] = { order_id };
    apr_array_header_t *rows;
    ord_order_t *o;
    apr_status_t rv = ord_db_select(c, p, sql_get, args, 1, 12, &rows);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts == 0) {
        return APR_NOTFOUND;
    }
    o = row_to_order(p, APR_ARRAY_IDX(rows, 0, const char **));
    if (!o) {
        return APR_EGENERAL;
    }
    *order = o;
    return APR_SUCCESS;
}

apr_status_t ord_store_list(ord_db_t *c, apr_pool_t *p,
                            const ord_list_query_t *q,
                            apr_array_header_t **orders, apr_int64_t *last)
{
    const char *args[4], *sql;
    apr_array_header_t *rows, *out;
    apr_int64_t last_seq = 0;
    apr_status_t rv;
    int n = 0, i;

    args[n++] = int64_text(p, q->after);
    if (q->has_status) {
        args[n++] = ord_status_name(q->status);
    }
    if (q->user_id) {
        args[n++] = q->user_id;
    }
    args[n++] = apr_itoa(p, q->limit + 1);
    sql = q->has_status ? (q->user_id ? sql_list_status_user : sql_list_status)
                        : (q->user_id ? sql_list_user : sql_list_all);
    rv = ord_db_select(c, p, sql, args, n, 13, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_array_make(p, rows->nelts, sizeof(ord_order_t *));
    for (i = 0; i < rows->nelts && i < q->limit; i++) {
        const char **col = APR_ARRAY_IDX(rows, i, const char **);
        ord_order_t *o = row_to_order(p, col + 1);
        if (!o) {
            return APR_EGENERAL;
        }
        APR_ARRAY_PUSH(out, ord_order_t *) = o;
        last_seq = text_int64(col[0]);
    }
    *orders = out;
    *last = rows->nelts > q->limit ? last_seq : 0;
    return APR_SUCCESS;
}

apr_status_t ord_store_cancel(ord_db_t *c, apr_pool_t *p,
                              const char *order_id, apr_time_t now)
{
    const char *args[2];
    int nrows = 0;
    apr_status_t rv;

    args[0] = int64_text(p, now);
    args[1] = order_id;
    rv = ord_db_exec(c, p, sql_cancel, args, 2, &nrows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return nrows == 1 ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t ord_store_batch_create(ord_db_t *c, apr_pool_t *p,
                                    const char *batch_id, int total_entries,
                                    apr_time_t now, int *created)
{
    const char *args[3];
    int nrows = 0;
    apr_status_t rv;

    args[0] = batch_id;
    args[1] = apr_itoa(p, total_entries);
    args[2] = int64_text(p, now);
    rv = ord_db_exec(c, p, sql_batch, args, 3, &nrows);
    if (rv == APR_SUCCESS) {
        *created = nrows == 1;
    }
    return rv;
}


/* What the row of an order says of its claim, after a claim or a completion
 * changed no row: only the row decides that the claim is lost. */
static apr_status_t claim_state(ord_db_t *c, apr_pool_t *p,
                                const char *order_id, const char ***cols)
{
    const char *args[1] = { order_id };
    apr_array_header_t *rows;
    apr_status_t rv = ord_db_select(c, p, sql_claim_state, args, 1, 5, &rows);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts != 1) {
        return APR_NOTFOUND;
    }
    *cols = APR_ARRAY_IDX(rows, 0, const char **);
    return APR_SUCCESS;
}

static int holds(const char **cols, const char *status, const char *token)
{
    return cols[0] && strcmp(cols[0], status) == 0
           && cols[1] && strcmp(cols[1], token) == 0;
}

apr_status_t ord_store_claim(ord_db_t *c, apr_pool_t *p,
                             const char *order_id, ord_status_e from,
                             const char *token, apr_time_t now,
                             apr_time_t lease_until, apr_time_t *created_at,
                             apr_time_t *started_at)
{
    const char *args[6], **cols;
    apr_array_header_t *rows;
    apr_status_t rv;

    args[0] = token;
    args[1] = int64_text(p, now);
    args[2] = args[1];
    args[3] = int64_text(p, lease_until);
    args[4] = order_id;
    args[5] = args[1];
    rv = ord_db_select(c, p,
                       from == ORD_PENDING ? sql_claim_pending
                                           : sql_claim_expired,
                       args, from == ORD_PENDING ? 5 : 6, 1, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts == 1) {
        *created_at = text_int64(APR_ARRAY_IDX(rows, 0, const char **)[0]);
        *started_at = now;
        return APR_SUCCESS;
    }
    rv = claim_state(c, p, order_id, &cols);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!holds(cols, "Processing", token)) {
        return APR_NOTFOUND;
    }
    *created_at = text_int64(cols[2]);
    *started_at = text_int64(cols[3]);
    return APR_SUCCESS;
}

apr_status_t ord_store_complete(ord_db_t *c, apr_pool_t *p,
                                const char *order_id, const char *token,
                                apr_time_t now, apr_time_t *completed_at)
{
    const char *args[4], **cols;
    int nrows = 0;
    apr_status_t rv;

    args[0] = int64_text(p, now);
    args[1] = args[0];
    args[2] = order_id;
    args[3] = token;
    rv = ord_db_exec(c, p, sql_complete, args, 4, &nrows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (nrows == 1) {
        *completed_at = now;
        return APR_SUCCESS;
    }
    rv = claim_state(c, p, order_id, &cols);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!holds(cols, "Completed", token)) {
        return APR_NOTFOUND;
    }
    *completed_at = text_int64(cols[4]);
    return APR_SUCCESS;
}

apr_status_t ord_store_lease(ord_db_t *c, apr_pool_t *p, const char *name,
                             const char *holder, apr_time_t now,
                             apr_time_t until, int *held)
{
    const char *args[5];
    int nrows = 0;
    apr_status_t rv;

    args[0] = holder;
    args[1] = int64_text(p, until);
    args[2] = name;
    args[3] = holder;
    args[4] = int64_text(p, now);
    rv = ord_db_exec(c, p, sql_lease, args, 5, &nrows);
    if (rv == APR_SUCCESS) {
        *held = nrows == 1;
    }
    return rv;
}

apr_status_t ord_store_orphans(ord_db_t *c, apr_pool_t *p,
                               apr_time_t now, int max,
                               apr_array_header_t **orphans)
{
    const char *args[2];
    apr_array_header_t *rows, *out;
    apr_status_t rv;
    int i;

    args[0] = int64_text(p, now);
    args[1] = apr_itoa(p, max);
    rv = ord_db_select(c, p, sql_orphans, args, 2, 2, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_array_make(p, rows->nelts, sizeof(ord_store_orphan_t));
    for (i = 0; i < rows->nelts; i++) {
        const char **col = APR_ARRAY_IDX(rows, i, const char **);
        ord_store_orphan_t *o = apr_array_push(out);
        o->order_id = col[0];
        if (ord_status_parse(col[1], &o->status) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    *orphans = out;
    return APR_SUCCESS;
}

apr_status_t ord_store_totals(ord_db_t *c, apr_pool_t *p,
                              ord_store_totals_t *totals)
{
    apr_array_header_t *rows;
    ord_store_totals_t t;
    apr_status_t rv = ord_db_select(c, p, sql_totals, NULL, 0, 4, &rows);
    int i;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    memset(&t, 0, sizeof(t));
    for (i = 0; i < rows->nelts; i++) {
        const char **col = APR_ARRAY_IDX(rows, i, const char **);
        ord_status_e status;
        if (ord_status_parse(col[0], &status) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        t.count[status] = (apr_uint64_t)text_int64(col[1]);
        if (status == ORD_COMPLETED) {
            t.processing_us_sum = (apr_uint64_t)text_int64(col[2]);
            t.from_creation_us_sum = (apr_uint64_t)text_int64(col[3]);
        }
    }
    rv = ord_db_select(c, p, sql_histogram, NULL, 0, ORD_PROCESSING_BUCKETS,
                     &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts == 1) {
        const char **col = APR_ARRAY_IDX(rows, 0, const char **);
        apr_uint64_t below = 0;
        for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
            apr_uint64_t upto = (apr_uint64_t)text_int64(col[i]);
            t.processing_buckets[i] = upto - below;
            below = upto;
        }
    }
    *totals = t;
    return APR_SUCCESS;
}

apr_status_t ord_store_order_ids(ord_db_t *c, apr_pool_t *p,
                                 ord_status_e status, int max,
                                 apr_array_header_t **ids)
{
    const char *args[2];
    apr_array_header_t *rows, *out;
    apr_status_t rv;
    int i;

    args[0] = ord_status_name(status);
    args[1] = apr_itoa(p, max);
    rv = ord_db_select(c, p, sql_order_ids, args, 2, 1, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_array_make(p, rows->nelts, sizeof(const char *));
    for (i = 0; i < rows->nelts; i++) {
        APR_ARRAY_PUSH(out, const char *) =
            APR_ARRAY_IDX(rows, i, const char **)[0];
    }
    *ids = out;
    return APR_SUCCESS;
}
