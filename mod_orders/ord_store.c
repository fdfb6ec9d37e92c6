/*
 * ord_store: the schema and every write of an order's life (insert, claim,
 * completion, cancel, batches, leases).  The reads are ord_store_read.c.
 * See ord_store.h for the contract.
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
#include "ord_store_text.h"

/* Rows of one multi-row INSERT (well under both drivers' limits on
 * placeholders). */
#define INSERT_MAX_ROWS 100

/* The end of an INSERT of orders: an order_id that exists is left as it
 * is, and counts as no row. */
static const char *insert_tail(ord_db_t *c, apr_pool_t *p)
{
    return c->dialect->skip_duplicate(p, "order_id");
}

/* With a webhook, each event is queued for delivery as it is written. */
static const char *const sql_event[2] = {
    EVENT_HEAD("NULL") "WHERE order_id = %s",
    EVENT_HEAD("'pending'") "WHERE order_id = %s"
};
static const char *const sql_events_of_new[2] = {
    EVENT_HEAD("NULL") "WHERE order_id IN (%s",
    EVENT_HEAD("'pending'") "WHERE order_id IN (%s"
};
/* The created events of one multi-row INSERT: its rows that have none. */
#define EVENTS_OF_NEW_TAIL \
    ") AND NOT EXISTS (SELECT 1 FROM order_events e "                      \
    "WHERE e.order_id = orders.order_id)"

static const char sql_claim_pending[] =
    "UPDATE orders SET status = 'Processing', claim_token = %s, "
    "started_us = %lld, updated_us = %lld, lease_until_us = %lld "
    "WHERE order_id = %s AND status = 'Pending'";

static const char sql_claim_expired[] =
    "UPDATE orders SET claim_token = %s, "
    "started_us = %lld, updated_us = %lld, lease_until_us = %lld "
    "WHERE order_id = %s AND status = 'Processing' AND lease_until_us < %lld";
/* Where the database has it, the claim gives the time it needs at once. */
#define CLAIM_RETURNING " RETURNING created_us"

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

static const char sql_cancel[] =
    "UPDATE orders SET status = 'Cancelled', updated_us = %lld, "
    "lease_until_us = NULL WHERE order_id = %s AND status = 'Pending'";

static const char sql_batch[] =
    "INSERT INTO order_batches (batch_id, total_entries, created_us) "
    "VALUES (%s, %d, %lld)";

apr_status_t ord_store_ensure_schema(ord_db_t *c, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, c->dialect->schema), *last = NULL, *one;
    apr_status_t rv;

    if (c->dialect->new_file) {
        rv = ord_db_run(c, c->dialect->new_file);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
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
void ord_store_insert_args(apr_pool_t *p, const ord_order_t *o,
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

apr_status_t ord_store_write_events(ord_db_t *c, apr_pool_t *p,
                                    const char *sql, const char **args,
                                    int nargs)
{
    int nrows = 0;
    apr_status_t rv = ord_db_before_events(c, p);

    return rv != APR_SUCCESS ? rv
                             : ord_db_exec(c, p, sql, args, nargs, &nrows);
}

/* Writes the event of a transition that changed the row of `order_id`. */
static apr_status_t write_event(ord_db_t *c, apr_pool_t *p, const char *type,
                                const char *order_id)
{
    const char *args[2];
    apr_status_t rv = ord_store_batch_event(c, p, type, order_id);

    if (rv != APR_ENOTIMPL) {
        return rv;      /* gathered for the batch's end (or that failed) */
    }
    args[0] = type;
    args[1] = order_id;
    return ord_store_write_events(c, p, sql_event[c->deliver_events != 0],
                                  args, 2);
}

apr_status_t ord_store_insert(ord_db_t *c, apr_pool_t *p,
                              const ord_order_t *o, apr_time_t lease_until,
                              int *created)
{
    const char *args[INSERT_ARGS];
    int nrows = 0;
    apr_status_t rv;

    if (ord_store_batch_defers_rows(c)) {
        ord_store_batch_insert(c, p, o, lease_until, created);
        return APR_SUCCESS;
    }
    ord_store_insert_args(p, o, lease_until, args);
    rv = ord_db_exec(c, p, apr_pstrcat(p, INSERT_HEAD INSERT_ROW,
                                       insert_tail(c, p), NULL),
                     args, INSERT_ARGS, &nrows);
    if (rv == APR_SUCCESS && nrows == 1) {
        rv = write_event(c, p, ORD_EVENT_CREATED, o->order_id.text);
    }
    if (rv == APR_SUCCESS) {
        *created = nrows == 1;
    }
    return rv;
}

/* The created events of the `n` orders just inserted (those that were
 * there already have events, and are skipped). */
static apr_status_t write_events_of_new(ord_db_t *c, apr_pool_t *p,
                                        ord_order_t *const *orders, int n)
{
    const char **args = apr_palloc(p, (n + 1) * sizeof(*args));
    const char *sql = sql_events_of_new[c->deliver_events != 0];
    int i;

    args[0] = ORD_EVENT_CREATED;
    for (i = 0; i < n; i++) {
        if (i > 0) {
            sql = apr_pstrcat(p, sql, ", %s", NULL);
        }
        args[i + 1] = orders[i]->order_id.text;
    }
    sql = apr_pstrcat(p, sql, EVENTS_OF_NEW_TAIL, NULL);
    return ord_store_write_events(c, p, sql, args, n + 1);
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
            ord_store_insert_args(p, orders[done + i], lease_until,
                                  args + i * INSERT_ARGS);
        }
        sql = apr_pstrcat(p, sql, insert_tail(c, p), NULL);
        rv = ord_db_exec(c, p, sql, args, rows * INSERT_ARGS, &nrows);
        if (rv == APR_SUCCESS && nrows > 0) {
            rv = write_events_of_new(c, p, orders + done, rows);
        }
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

apr_status_t ord_store_cancel(ord_db_t *c, apr_pool_t *p,
                              const char *order_id, apr_time_t now)
{
    const char *args[2];
    int nrows = 0;
    apr_status_t rv;

    args[0] = int64_text(p, now);
    args[1] = order_id;
    rv = ord_store_batch_settle(c, p, order_id);
    if (rv == APR_SUCCESS) {
        rv = ord_db_exec(c, p, sql_cancel, args, 2, &nrows);
    }
    if (rv == APR_SUCCESS && nrows == 1) {
        rv = write_event(c, p, ORD_EVENT_CANCELLED, order_id);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return nrows == 1 ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t ord_store_batch_create(ord_db_t *c, apr_pool_t *p,
                                    const char *batch_id, int total_entries,
                                    apr_time_t now, int *created)
{
    const char *args[] = { batch_id, apr_itoa(p, total_entries),
                           int64_text(p, now) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p,
                                  apr_pstrcat(p, sql_batch,
                                              c->dialect->skip_duplicate(
                                                  p, "batch_id"), NULL),
                                  args, 3, &nrows);

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

/* After a claim or a completion that changed no row: APR_SUCCESS, with the
 * row's columns, when the row is in `status` under `token` (an earlier
 * attempt of this claim committed), APR_NOTFOUND when another claim has
 * it or it is finished or cancelled. */
apr_status_t ord_store_row_says_ours(ord_db_t *c, apr_pool_t *p,
                                     const char *order_id, const char *status,
                                     const char *token, const char ***cols)
{
    apr_status_t rv = claim_state(c, p, order_id, cols);

    if (rv == APR_SUCCESS
        && !((*cols)[0] && strcmp((*cols)[0], status) == 0
             && (*cols)[1] && strcmp((*cols)[1], token) == 0)) {
        rv = APR_NOTFOUND;
    }
    return rv;
}

apr_status_t ord_store_claim(ord_db_t *c, apr_pool_t *p,
                             const char *order_id, ord_status_e from,
                             const char *token, apr_time_t now,
                             apr_time_t lease_until, apr_time_t *created_at,
                             apr_time_t *started_at)
{
    const char *args[6], **cols, *sql;
    apr_array_header_t *rows;
    apr_status_t rv;
    int nargs, claimed, nrows = 0;

    args[0] = token;
    args[1] = int64_text(p, now);
    args[2] = args[1];
    args[3] = int64_text(p, lease_until);
    args[4] = order_id;
    args[5] = args[1];
    sql = from == ORD_PENDING ? sql_claim_pending : sql_claim_expired;
    nargs = from == ORD_PENDING ? 5 : 6;
    rv = ord_store_batch_settle(c, p, order_id);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (c->dialect->update_returning) {
        rv = ord_db_select(c, p, apr_pstrcat(p, sql, CLAIM_RETURNING, NULL),
                           args, nargs, 1, &rows);
        claimed = rv == APR_SUCCESS && rows->nelts == 1;
    }
    else {
        /* The row is read back below for its times. */
        rv = ord_db_exec(c, p, sql, args, nargs, &nrows);
        claimed = 0;
        if (rv == APR_SUCCESS && nrows == 1 && from == ORD_PENDING) {
            rv = write_event(c, p, ORD_EVENT_PROCESSING, order_id);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (claimed) {
        /* A claim from Pending changes the status: its event.  Taking over
         * an expired claim changes only who holds it. */
        if (from == ORD_PENDING) {
            rv = write_event(c, p, ORD_EVENT_PROCESSING, order_id);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        *created_at = text_int64(APR_ARRAY_IDX(rows, 0, const char **)[0]);
        *started_at = now;
        return APR_SUCCESS;
    }
    rv = ord_store_row_says_ours(c, p, order_id, "Processing", token, &cols);
    if (rv == APR_SUCCESS) {
        *created_at = text_int64(cols[2]);
        *started_at = text_int64(cols[3]);
    }
    return rv;
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
    rv = ord_store_batch_settle(c, p, order_id);
    if (rv == APR_SUCCESS) {
        rv = ord_db_exec(c, p, sql_complete, args, 4, &nrows);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (nrows == 1) {
        rv = write_event(c, p, ORD_EVENT_COMPLETED, order_id);
        if (rv == APR_SUCCESS) {
            *completed_at = now;
        }
        return rv;
    }
    rv = ord_store_row_says_ours(c, p, order_id, "Completed", token, &cols);
    if (rv == APR_SUCCESS) {
        *completed_at = text_int64(cols[4]);
    }
    return rv;
}

apr_status_t ord_store_lease(ord_db_t *c, apr_pool_t *p, const char *name,
                             const char *holder, apr_time_t now,
                             apr_time_t until, int *held)
{
    const char *args[] = { holder, int64_text(p, until), name, holder,
                           int64_text(p, now) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_lease, args, 5, &nrows);

    if (rv == APR_SUCCESS) {
        *held = nrows == 1;
    }
    return rv;
}


static const char sql_newest_expired[] =
    "SELECT xid, seq FROM order_events WHERE created_us < %lld "
    "ORDER BY xid DESC, seq DESC LIMIT 1";
static const char sql_expire[] =
    "DELETE FROM order_events WHERE created_us < %lld";
static const char sql_removed_mark[] =
    "UPDATE order_leases SET holder = %s WHERE name = %s";

apr_status_t ord_store_events_expire(ord_db_t *c, apr_pool_t *p,
                                     apr_time_t before, int *removed)
{
    const char *args[2];
    apr_array_header_t *rows;
    ord_event_cursor_t newest;
    int nrows = 0;
    apr_status_t rv;

    args[0] = int64_text(p, before);
    rv = ord_db_select(c, p, sql_newest_expired, args, 1, 2, &rows);
    if (rv != APR_SUCCESS || rows->nelts == 0) {
        if (rv == APR_SUCCESS) {
            *removed = 0;
        }
        return rv;
    }
    newest.xid = text_int64(APR_ARRAY_IDX(rows, 0, const char **)[0]);
    newest.seq = text_int64(APR_ARRAY_IDX(rows, 0, const char **)[1]);
    rv = ord_db_exec(c, p, sql_expire, args, 1, &nrows);
    if (rv == APR_SUCCESS) {
        int marked = 0;
        *removed = nrows;
        args[0] = ord_events_cursor_text(p, newest);
        args[1] = ORD_EVENTS_REMOVED;
        rv = ord_db_exec(c, p, sql_removed_mark, args, 2, &marked);
    }
    return rv;
}
