/*
 * ord_store_deliver: the webhook deliveries' state in order_events.  See
 * ord_store.h.
 *
 * Every step is a conditional UPDATE whose row count decides: an event is
 * taken only when nobody's lease on it is running, and an outcome counts
 * only while the lease that took it holds, so that with several servers
 * each event is sent by one at a time.
 */
#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

static const char sql_take[] =
    "UPDATE order_events SET lease_holder = %s, lease_until_us = %lld "
    "WHERE seq = %lld AND delivery = 'pending' AND attempts = %d "
    "AND (lease_until_us IS NULL OR lease_until_us < %lld)";

static const char sql_done[] =
    "UPDATE order_events SET delivery = %s, attempts = attempts + 1, "
    "last_status = %d, next_attempt_us = %lld, lease_holder = NULL, "
    "lease_until_us = NULL WHERE seq = %lld AND lease_holder = %s";

apr_status_t ord_store_delivery_take(ord_db_t *c, apr_pool_t *p,
                                     apr_int64_t seq, int attempts,
                                     const char *holder, apr_time_t now,
                                     apr_time_t lease_until, int *taken)
{
    const char *args[] = { holder, int64_text(p, lease_until),
                           int64_text(p, seq), apr_itoa(p, attempts),
                           int64_text(p, now) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_take, args, 5, &nrows);

    if (rv == APR_SUCCESS) {
        *taken = nrows == 1;
    }
    return rv;
}

apr_status_t ord_store_delivery_done(ord_db_t *c, apr_pool_t *p,
                                     apr_int64_t seq, const char *holder,
                                     const char *state, int status,
                                     apr_time_t next_attempt, int *changed)
{
    const char *args[] = { state, apr_itoa(p, status),
                           int64_text(p, next_attempt), int64_text(p, seq),
                           holder };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_done, args, 5, &nrows);

    if (rv == APR_SUCCESS) {
        *changed = nrows == 1;
    }
    return rv;
}

/* Many at once, where the dialect has UPDATE ... FROM and RETURNING: one
 * statement for a round's events (ord_store_batch.c's row bounds).  The
 * seqs are given again as a list the primary key answers (as integers:
 * PostgreSQL compares no bigint with text), and the state compared
 * UNINDEXED, so that each event is looked up by its seq. */
static const char sql_take_head[] =
    "UPDATE order_events SET lease_holder = %s, lease_until_us = %lld "
    "FROM (VALUES ";
static const char sql_take_tail[] =
    ") AS v WHERE order_events.seq = CAST(v.column1 AS BIGINT) "
    "AND order_events.attempts = CAST(v.column2 AS INTEGER) AND "
    UNINDEXED("order_events.delivery") " = 'pending' "
    "AND (order_events.lease_until_us IS NULL "
    "OR order_events.lease_until_us < %lld) AND order_events.seq IN (";

static const char sql_done_head[] =
    "UPDATE order_events SET delivery = v.column2, attempts = attempts + 1, "
    "last_status = CAST(v.column3 AS INTEGER), "
    "next_attempt_us = CAST(v.column4 AS BIGINT), lease_holder = NULL, "
    "lease_until_us = NULL FROM (VALUES ";
static const char sql_done_tail[] =
    ") AS v WHERE order_events.seq = CAST(v.column1 AS BIGINT) "
    "AND order_events.lease_holder = %s AND order_events.seq IN (";

/* The seqs RETURNING names, as a set (their texts). */
static apr_hash_t *returned_seqs(apr_pool_t *p, apr_array_header_t *rows)
{
    apr_hash_t *seqs = apr_hash_make(p);
    int i;

    for (i = 0; i < rows->nelts; i++) {
        const char *seq = APR_ARRAY_IDX(rows, i, const char **)[0];

        if (seq) {
            apr_hash_set(seqs, seq, APR_HASH_KEY_STRING, "");
        }
    }
    return seqs;
}

apr_status_t ord_store_delivery_take_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_take_t *takes, int n,
                                         const char *holder, apr_time_t now,
                                         apr_time_t lease_until)
{
    int done, take, i;

    for (done = 0; done < n; done += take) {
        int rows;
        const char **args, *sql;
        apr_array_header_t *ret;
        apr_hash_t *taken;
        apr_status_t rv;

        take = n - done < ORD_STORE_ROWS_MAX ? n - done : ORD_STORE_ROWS_MAX;
        if (!c->dialect->update_returning) {
            for (i = 0; i < take; i++) {
                ord_store_take_t *t = &takes[done + i];
                rv = ord_store_delivery_take(c, p, t->seq, t->attempts, holder,
                                             now, lease_until, &t->taken);
                if (rv != APR_SUCCESS) {
                    return rv;
                }
            }
            continue;
        }
        rows = ord_store_rows_for(take);
        /* holder, lease; each row's seq and attempts; now; the seqs. */
        args = apr_palloc(p, (apr_size_t)(3 + 3 * rows) * sizeof(*args));
        args[0] = holder;
        args[1] = int64_text(p, lease_until);
        for (i = 0; i < rows; i++) {
            const ord_store_take_t *t = &takes[done + (i < take ? i : 0)];

            args[2 + 2 * i] = int64_text(p, t->seq);
            args[3 + 2 * i] = apr_itoa(p, t->attempts);
            args[3 + 2 * rows + i] = args[2 + 2 * i];
        }
        args[2 + 2 * rows] = int64_text(p, now);
        sql = apr_pstrcat(p, ord_store_repeated(p, sql_take_head, "(%s, %s)",
                                                rows, sql_take_tail),
                          ord_store_repeated(p, "", "%lld", rows,
                                             ") RETURNING seq"), NULL);
        rv = ord_db_select(c, p, sql, args, 3 + 3 * rows, 1, &ret);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        taken = returned_seqs(p, ret);
        for (i = 0; i < take; i++) {
            takes[done + i].taken = apr_hash_get(
                taken, int64_text(p, takes[done + i].seq),
                APR_HASH_KEY_STRING) != NULL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ord_store_delivery_done_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_outcome_t *outcomes,
                                         int n, const char *holder)
{
    int done, take, i;

    for (done = 0; done < n; done += take) {
        int rows;
        const char **args, *sql;
        apr_array_header_t *ret;
        apr_hash_t *changed;
        apr_status_t rv;

        take = n - done < ORD_STORE_ROWS_MAX ? n - done : ORD_STORE_ROWS_MAX;
        if (!c->dialect->update_returning) {
            for (i = 0; i < take; i++) {
                ord_store_outcome_t *o = &outcomes[done + i];
                rv = ord_store_delivery_done(c, p, o->seq, holder, o->state,
                                             o->status, o->next_attempt,
                                             &o->changed);
                if (rv != APR_SUCCESS) {
                    return rv;
                }
            }
            continue;
        }
        rows = ord_store_rows_for(take);
        /* Each row's seq, state, status, next attempt; holder; the seqs. */
        args = apr_palloc(p, (apr_size_t)(1 + 5 * rows) * sizeof(*args));
        for (i = 0; i < rows; i++) {
            const ord_store_outcome_t *o = &outcomes[done
                                                     + (i < take ? i : 0)];

            args[4 * i] = int64_text(p, o->seq);
            args[4 * i + 1] = o->state;
            args[4 * i + 2] = apr_itoa(p, o->status);
            args[4 * i + 3] = int64_text(p, o->next_attempt);
            args[1 + 4 * rows + i] = args[4 * i];
        }
        args[4 * rows] = holder;
        sql = apr_pstrcat(p, ord_store_repeated(p, sql_done_head,
                                                "(%s, %s, %s, %s)", rows,
                                                sql_done_tail),
                          ord_store_repeated(p, "", "%lld", rows,
                                             ") RETURNING seq"), NULL);
        rv = ord_db_select(c, p, sql, args, 1 + 5 * rows, 1, &ret);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        changed = returned_seqs(p, ret);
        for (i = 0; i < take; i++) {
            outcomes[done + i].changed = apr_hash_get(
                changed, int64_text(p, outcomes[done + i].seq),
                APR_HASH_KEY_STRING) != NULL;
        }
    }
    return APR_SUCCESS;
}

static const char sql_redeliver[] =
    "UPDATE order_events SET delivery = 'pending', attempts = 0, "
    "next_attempt_us = %lld, lease_holder = NULL, lease_until_us = NULL "
    "WHERE seq = %lld AND delivery IS NOT NULL";

apr_status_t ord_store_redeliver(ord_db_t *c, apr_pool_t *p, apr_int64_t seq,
                                 apr_time_t now)
{
    const char *args[] = { int64_text(p, now), int64_text(p, seq) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_redeliver, args, 2, &nrows);

    return rv == APR_SUCCESS && nrows != 1 ? APR_NOTFOUND : rv;
}
