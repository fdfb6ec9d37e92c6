/*
 * ord_store_deliver: the webhook deliveries' state in order_events.  See
 * ord_store.h.
 *
 * Every step is a conditional UPDATE whose changed rows decide (on MariaDB
 * the rows read with a lock first): an event is taken only when nobody's
 * lease on it is running, and an outcome counts only while the lease that
 * took it holds, so that with several servers each event is sent by one at
 * a time.
 */
#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

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

/* Without RETURNING (MariaDB): the round's events read with a lock, then
 * one UPDATE of those found ours (ord_store_rows.c).  A take is ours while
 * nobody's lease runs and the attempts are as read; an outcome while the
 * holder's lease holds. */
#define TAKE_WHERE                                                          \
    UNINDEXED("delivery") " = 'pending' AND (lease_until_us IS NULL OR "    \
    "lease_until_us < %lld)"

static void take_args(apr_pool_t *p, const void *row, const char **args)
{
    const ord_store_take_t *t = row;

    args[0] = int64_text(p, t->seq);
    args[1] = apr_itoa(p, t->attempts);
}

static apr_status_t taken(void *baton, void *row, const char *const *cols)
{
    ((ord_store_take_t *)row)->taken = 1;
    return APR_SUCCESS;
}

apr_status_t ord_store_delivery_take_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_take_t *takes, int n,
                                         const char *holder, apr_time_t now,
                                         apr_time_t lease_until)
{
    const char *before[2], *between[1];
    ord_store_rows_sql_t sql = { sql_take_head, "(%s, %s)", sql_take_tail,
                                 "%lld", ") RETURNING seq", 2, 1,
                                 before, 2, between, 1 };
    ord_store_locked_sql_t locked = {
        "order_events", "seq", "%lld", ", attempts", 2, TAKE_WHERE,
        "lease_holder = %s, lease_until_us = %lld", 1, 1, 2, NULL, 0,
        between, 1, before, 2
    };
    int i;

    for (i = 0; i < n; i++) {
        takes[i].taken = 0;
    }
    before[0] = holder;
    before[1] = int64_text(p, lease_until);
    between[0] = int64_text(p, now);
    return ord_store_update_rows(c, p, &sql, &locked, takes, sizeof(*takes),
                                 n, take_args, taken, NULL);
}

static void outcome_args(apr_pool_t *p, const void *row, const char **args)
{
    const ord_store_outcome_t *o = row;

    args[0] = int64_text(p, o->seq);
    args[1] = o->state;
    args[2] = apr_itoa(p, o->status);
    args[3] = int64_text(p, o->next_attempt);
}

static apr_status_t recorded(void *baton, void *row, const char *const *cols)
{
    ((ord_store_outcome_t *)row)->changed = 1;
    return APR_SUCCESS;
}

apr_status_t ord_store_delivery_done_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_outcome_t *outcomes,
                                         int n, const char *holder)
{
    const char *between[1] = { holder };
    ord_store_rows_sql_t sql = { sql_done_head, "(%s, %s, %s, %s)",
                                 sql_done_tail, "%lld", ") RETURNING seq", 4,
                                 1, NULL, 0, between, 1 };
    static const ord_store_set_t set[] = {
        { "delivery", "%s", 1 }, { "last_status", "%d", 2 },
        { "next_attempt_us", "%lld", 3 }
    };
    ord_store_locked_sql_t locked = {
        "order_events", "seq", "%lld", "", 1, "lease_holder = %s",
        "attempts = attempts + 1, lease_holder = NULL, "
        "lease_until_us = NULL", 0, -1, 4, set, 3, between, 1, NULL, 0
    };
    int i;

    for (i = 0; i < n; i++) {
        outcomes[i].changed = 0;
    }
    return ord_store_update_rows(c, p, &sql, &locked, outcomes,
                                 sizeof(*outcomes), n, outcome_args,
                                 recorded, NULL);
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
