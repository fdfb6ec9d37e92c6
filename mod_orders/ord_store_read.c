/*
 * ord_store_read: the reads of ord_store (one order, the list, orphans, the
 * totals and ids the metrics load).  See ord_store.h for the contract.
 *
 * Placeholders are apr_dbd's (%s, %lld); results are read to the end.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"
#include "ord_events.h"

static const char sql_get[] =
    "SELECT " ORDER_COLUMNS " FROM orders WHERE order_id = %s";

static const char sql_orphans[] =
    "SELECT order_id, status FROM orders "
    "WHERE status IN ('Pending', 'Processing') AND lease_until_us < %lld "
    "ORDER BY lease_until_us LIMIT %d";

static const char sql_totals[] =
    "SELECT status, COUNT(*), "
    "COALESCE(SUM(completed_us - started_us), 0), "
    "COALESCE(SUM(completed_us - created_us), 0) "
    "FROM orders GROUP BY status";


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

static const char sql_order_ids[] =
    "SELECT order_id FROM orders WHERE status = %s ORDER BY seq LIMIT %d";

/* An order from the ORDER_COLUMNS of a row; NULL when the row is not one
 * this module wrote. */
/* The fixed fields of an order, from the seven columns that start at
 * `col` (order_id .. amount_scale, as ORDER_COLUMNS begins). */
static void fixed_fields(ord_order_t *o, const char **col)
{
    o->order_id.text = col[0];
    o->order_id.is_int = text_int64(col[1]) != 0;
    o->user_id.text = col[2];
    o->user_id.is_int = text_int64(col[3]) != 0;
    o->item_ids_json = col[4];
    o->total_amount.cents = text_int64(col[5]);
    o->total_amount.scale = (int)text_int64(col[6]);
}

static ord_order_t *row_to_order(apr_pool_t *p, const char **col)
{
    ord_order_t *o = apr_pcalloc(p, sizeof(*o));

    fixed_fields(o, col);
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
    const char *args[] = { ord_status_name(status), apr_itoa(p, max) };
    apr_array_header_t *rows, *out = NULL;
    apr_status_t rv = ord_db_select(c, p, sql_order_ids, args, 2, 1, &rows);
    int i;

    if (rv == APR_SUCCESS) {
        out = apr_array_make(p, rows->nelts, sizeof(const char *));
        for (i = 0; i < rows->nelts; i++) {
            APR_ARRAY_PUSH(out, const char *) =
                APR_ARRAY_IDX(rows, i, const char **)[0];
        }
        *ids = out;
    }
    return rv;
}

static const char sql_lease_holder[] =
    "SELECT holder, until_us FROM order_leases WHERE name = %s";

apr_status_t ord_store_lease_holder(ord_db_t *c, apr_pool_t *p,
                                    const char *name, const char **holder,
                                    apr_time_t *until)
{
    const char *args[1] = { name };
    apr_array_header_t *rows;
    apr_status_t rv = ord_db_select(c, p, sql_lease_holder, args, 1, 2, &rows);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    *holder = NULL;
    *until = 0;
    if (rows->nelts == 1) {
        const char **col = APR_ARRAY_IDX(rows, 0, const char **);
        *holder = col[0] && *col[0] ? col[0] : NULL;
        *until = text_int64(col[1]);
    }
    return APR_SUCCESS;
}

/* The feed: events joined with their order's fixed fields. */
#define FEED_SELECT \
    "SELECT e.xid, e.seq, e.type, e.created_us, e.status, e.updated_us, "   \
    "e.started_us, e.completed_us, o.order_id, o.order_id_int, o.user_id, "  \
    "o.user_id_int, o.item_ids, o.amount_cents, o.amount_scale, "            \
    "o.created_us, e.attempts, e.delivery, e.last_status, "                  \
    "e.next_attempt_us FROM order_events e JOIN orders o "                    \
    "ON o.order_id = e.order_id WHERE "
#define FEED_COLUMNS 20

static ord_event_t *row_to_event(apr_pool_t *p, const char **col)
{
    ord_event_t *e = apr_pcalloc(p, sizeof(*e));
    ord_order_t *o = &e->order;

    e->cursor.xid = text_int64(col[0]);
    e->cursor.seq = text_int64(col[1]);
    e->type = col[2];
    e->created_at = text_int64(col[3]);
    if (ord_status_parse(col[4], &o->status) != APR_SUCCESS) {
        return NULL;
    }
    o->updated_at = text_int64(col[5]);
    o->processing_started_at = text_int64(col[6]);
    o->completed_at = text_int64(col[7]);
    fixed_fields(o, col + 8);
    o->created_at = text_int64(col[15]);
    e->attempts = (int)text_int64(col[16]);
    /* NULL: written without a webhook (PostgreSQL's driver gives "" for
     * NULL, SQLite's NULL). */
    e->delivery = col[17] && *col[17] ? col[17] : NULL;
    e->last_status = (int)text_int64(col[18]);
    e->next_attempt_at = e->delivery && strcmp(e->delivery, "pending") == 0
                         ? text_int64(col[19]) : 0;
    return e;
}

apr_status_t ord_store_events(ord_db_t *c, apr_pool_t *p,
                              const ord_event_query_t *q, const char *user_id,
                              apr_array_header_t **events)
{
    const ord_sql_dialect_t *d = c->dialect;
    const char *args[7], *sql;
    apr_array_header_t *rows, *out;
    apr_status_t rv;
    int n = 0, i;

    args[n++] = int64_text(p, q->has_after ? q->after.xid : 0);
    args[n++] = int64_text(p, q->has_after ? q->after.seq : 0);
    sql = apr_pstrcat(p, FEED_SELECT, d->feed_after, d->feed_horizon, NULL);
    if (q->order_id) {
        sql = apr_pstrcat(p, sql, " AND e.order_id = %s", NULL);
        args[n++] = q->order_id;
    }
    if (q->type) {
        sql = apr_pstrcat(p, sql, " AND e.type = %s", NULL);
        args[n++] = q->type;
    }
    if (user_id) {
        sql = apr_pstrcat(p, sql, " AND o.user_id = %s", NULL);
        args[n++] = user_id;
    }
    if (q->delivery) {
        sql = apr_pstrcat(p, sql, " AND e.delivery = %s", NULL);
        args[n++] = q->delivery;
    }
    sql = apr_pstrcat(p, sql, " ORDER BY ", d->feed_order, " LIMIT %d", NULL);
    args[n++] = apr_itoa(p, q->limit);
    rv = ord_db_select(c, p, sql, args, n, FEED_COLUMNS, &rows);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_array_make(p, rows->nelts, sizeof(ord_event_t *));
    for (i = 0; i < rows->nelts; i++) {
        ord_event_t *e = row_to_event(p, APR_ARRAY_IDX(rows, i, const char **));
        if (!e) {
            return APR_EGENERAL;
        }
        APR_ARRAY_PUSH(out, ord_event_t *) = e;
    }
    *events = out;
    return APR_SUCCESS;
}

/* The events this holder's lease covers, oldest first, with their
 * attempts so far (in e->attempts). */
apr_status_t ord_store_deliveries_due(ord_db_t *c, apr_pool_t *p,
                                      apr_time_t now, int max,
                                      apr_array_header_t **events)
{
    /* Walks order_events_pending in order, stopping at `max`; an event is
     * due only as the first pending one of its order.  That is asked as a
     * subquery per candidate (order_events_by_order, a few rows), with the
     * state compared UNINDEXED, rather than as NOT EXISTS: PostgreSQL
     * planned the anti-join with the whole pending index ANDed into each
     * look, or a scan of the table joined by filter, whenever its
     * statistics were behind the backlog (1-2 s a round with 35,000
     * pending, which the statement watch then cut, and deliveries
     * stopped).  Measured on that backlog: 149 ms without statistics,
     * 8 ms with them. */
    static const char sql[] =
        FEED_SELECT "e.delivery = 'pending' AND e.next_attempt_us <= %lld "
        "AND (e.lease_until_us IS NULL OR e.lease_until_us < %lld) "
        "AND e.seq = (SELECT MIN(b.seq) FROM order_events b WHERE "
        "b.order_id = e.order_id AND " UNINDEXED("b.delivery")
        " = 'pending') ORDER BY e.seq LIMIT %d";
    const char *now_text = int64_text(p, now);
    const char *args[] = { now_text, now_text, apr_itoa(p, max) };
    const char *prologue = c->dialect->due_prologue;
    apr_array_header_t *rows, *out;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (prologue) {
        rv = ord_db_begin(c);
        if (rv == APR_SUCCESS) {
            rv = ord_db_run(c, prologue);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = ord_db_select(c, p, sql, args, 3, FEED_COLUMNS, &rows);
    }
    if (prologue && c->in_transaction) {
        /* Nothing was written: the end of the transaction is the SET's. */
        if (rv == APR_SUCCESS) {
            rv = ord_db_commit(c);
        }
        else {
            ord_db_rollback(c);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out = apr_array_make(p, rows->nelts, sizeof(ord_event_t *));
    for (i = 0; i < rows->nelts; i++) {
        const char **col = APR_ARRAY_IDX(rows, i, const char **);
        ord_event_t *e = row_to_event(p, col);
        if (!e) {
            return APR_EGENERAL;
        }
        APR_ARRAY_PUSH(out, ord_event_t *) = e;
    }
    *events = out;
    return APR_SUCCESS;
}

apr_status_t ord_store_deliveries_backlog(ord_db_t *c, apr_pool_t *p,
                                          apr_uint64_t *pending,
                                          apr_time_t *oldest_at)
{
    /* Both on order_events_pending alone; the first pending event stands
     * for the oldest (sequence order is write order within a server, and
     * within a transaction's length across servers). */
    static const char sql[] =
        "SELECT (SELECT COUNT(*) FROM order_events WHERE delivery = "
        "'pending'), (SELECT updated_us FROM order_events WHERE delivery = "
        "'pending' ORDER BY seq LIMIT 1)";
    apr_array_header_t *rows;
    const char **col;
    apr_status_t rv = ord_db_select(c, p, sql, NULL, 0, 2, &rows);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts != 1) {
        return APR_EGENERAL;
    }
    col = APR_ARRAY_IDX(rows, 0, const char **);
    *pending = (apr_uint64_t)text_int64(col[0]);
    *oldest_at = text_int64(col[1]);
    return APR_SUCCESS;
}

apr_status_t ord_store_events_removed(ord_db_t *c, apr_pool_t *p,
                                      ord_event_cursor_t *newest)
{
    const char *holder = NULL;
    apr_time_t ignored;
    apr_status_t rv = ord_store_lease_holder(c, p, ORD_EVENTS_REMOVED,
                                             &holder, &ignored);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    newest->xid = newest->seq = 0;
    if (holder && ord_events_cursor_parse(holder, newest) != APR_SUCCESS) {
        newest->xid = newest->seq = 0;
    }
    return APR_SUCCESS;
}
