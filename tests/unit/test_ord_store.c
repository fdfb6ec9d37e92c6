/*
 * Unit tests of ord_store (mod_orders/ord_store.h) against a real SQLite
 * file through apr_dbd's sqlite3 driver: no mocks.  Each test gets a fresh
 * database in its own temporary directory (mkdtemp under /tmp), removed
 * afterwards.
 *
 * Times are explicit microsecond values (created 1000000, lease 2000000,
 * ...) so that every timestamp, lease and sum can be asserted exactly.
 * Where the store's answer alone cannot show a fact (rows duplicated, the
 * table still there), the test asks the database itself with apr_dbd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "unit_support.h"
#include "unit_sqlite.h"
#include "ord_query.h"
#include "ord_store.h"

/* The times of the scenarios, in microseconds. */
#define CREATED   APR_INT64_C(1000000)
#define LEASE     APR_INT64_C(2000000)

/* The SQLite fixture (unit_sqlite.h) is the whole of a test's state. */
typedef unit_sqlite_t fixture_t;

static int setup_with_schema(void **state)
{
    return unit_sqlite_setup(state, sizeof(fixture_t), 1);
}

static int setup_empty(void **state)
{
    return unit_sqlite_setup(state, sizeof(fixture_t), 0);
}

/* SQLite as a dialect without UPDATE ... RETURNING (MariaDB's way). */
static ord_sql_dialect_t without_returning;

static int setup_without_returning(void **state)
{
    int rv = setup_with_schema(state);

    if (rv == 0) {
        without_returning = ord_sql_sqlite3;
        without_returning.update_returning = 0;
        ((fixture_t *)*state)->conn.dialect = &without_returning;
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The number `sql` answers, straight from the database. */
static apr_int64_t query_int(fixture_t *fx, const char *sql)
{
    const char *v = unit_sqlite_value(fx, fx->pool, sql);

    if (!v) {
        fail_msg("no value from: %s", sql);
    }
    return apr_atoi64(v);
}

static apr_int64_t count_rows(fixture_t *fx)
{
    return query_int(fx, "SELECT COUNT(*) FROM orders");
}

static void exec_sql(fixture_t *fx, const char *sql)
{
    int nrows = 0;

    if (apr_dbd_query(fx->conn.driver, fx->conn.handle, &nrows, sql) != 0) {
        fail_msg("statement failed: %s: %s", sql,
                 apr_dbd_error(fx->conn.driver, fx->conn.handle, -1));
    }
}

static ord_order_t sample_order(const char *order_id)
{
    ord_order_t o;

    memset(&o, 0, sizeof(o));
    o.order_id.text = order_id;
    o.order_id.is_int = 0;
    o.user_id.text = "42";
    o.user_id.is_int = 1;
    o.item_ids_json = "[101,\"a-2\"]";
    o.total_amount.cents = 14999;
    o.total_amount.scale = 2;
    o.status = ORD_PENDING;
    o.created_at = CREATED;
    o.updated_at = CREATED;
    return o;
}

/* Inserts `id` (sample content, created at `created`) with `lease`; it
 * must be new. */
static void insert_new(fixture_t *fx, const char *id, apr_time_t created,
                       apr_time_t lease)
{
    ord_order_t o = sample_order(id);
    int created_flag = -1;

    o.created_at = created;
    o.updated_at = created;
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &o, lease,
                                      &created_flag), APR_SUCCESS);
    assert_int_equal(created_flag, 1);
}

/* Inserts `o` with LEASE; it must be new. */
static void insert_ok(fixture_t *fx, ord_order_t *o)
{
    int created = -1;

    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, o, LEASE,
                                      &created), APR_SUCCESS);
    assert_int_equal(created, 1);
}

static ord_order_t *get_ok(fixture_t *fx, const char *id)
{
    ord_order_t *o = NULL;

    assert_int_equal(ord_store_get(&fx->conn, fx->pool, id, &o),
                     APR_SUCCESS);
    assert_non_null(o);
    return o;
}

/* The stored order `id`, spelled: "STATUS user=U[ int] items=J amount=C/S
 * created=T updated=T started=T completed=T" (order_id[ int] first). */
static const char *row_of(fixture_t *fx, const char *id)
{
    ord_order_t *o = get_ok(fx, id);

    return apr_psprintf(fx->pool, "%s%s %s user=%s%s items=%s amount=%"
                        APR_INT64_T_FMT "/%d created=%" APR_INT64_T_FMT
                        " updated=%" APR_INT64_T_FMT " started=%"
                        APR_INT64_T_FMT " completed=%" APR_INT64_T_FMT,
                        o->order_id.text, o->order_id.is_int ? " int" : "",
                        ord_status_name(o->status), unit_show(o->user_id.text),
                        o->user_id.is_int ? " int" : "",
                        unit_show(o->item_ids_json), o->total_amount.cents,
                        o->total_amount.scale, (apr_int64_t)o->created_at,
                        (apr_int64_t)o->updated_at,
                        (apr_int64_t)o->processing_started_at,
                        (apr_int64_t)o->completed_at);
}

static apr_status_t claim(fixture_t *fx, const char *id, ord_status_e from,
                          const char *token, apr_time_t now,
                          apr_time_t lease, apr_time_t *created_at)
{
    apr_time_t ignored = -1, started = -1;

    return ord_store_claim(&fx->conn, fx->pool, id, from, token, now, lease,
                           created_at ? created_at : &ignored, &started);
}

static apr_status_t complete(fixture_t *fx, const char *id, const char *token,
                             apr_time_t now)
{
    apr_time_t completed = -1;

    return ord_store_complete(&fx->conn, fx->pool, id, token, now,
                              &completed);
}

static apr_array_header_t *orphans(fixture_t *fx, apr_time_t now, int max)
{
    apr_array_header_t *list = NULL;

    assert_int_equal(ord_store_orphans(&fx->conn, fx->pool, now, max, &list),
                     APR_SUCCESS);
    assert_non_null(list);
    return list;
}

static const ord_store_orphan_t *orphan_at(apr_array_header_t *list, int i)
{
    return &APR_ARRAY_IDX(list, i, ord_store_orphan_t);
}

/* Inserts `id` (sample content) for user `user`, sent as an integer when
 * `user_is_int`; it must be new. */
static void insert_for_user(fixture_t *fx, const char *id, const char *user,
                            int user_is_int)
{
    ord_order_t o = sample_order(id);
    int created_flag = -1;

    o.user_id.text = user;
    o.user_id.is_int = user_is_int;
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &o, LEASE,
                                      &created_flag), APR_SUCCESS);
    assert_int_equal(created_flag, 1);
}

/* ord_store_totals, spelled "pending processing completed cancelled
 * processing_us from_creation_us". */
static const char *totals_of(fixture_t *fx)
{
    ord_store_totals_t t;

    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &t), APR_SUCCESS);
    return apr_psprintf(fx->pool, "%" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT
                        " %" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT,
                        t.count[ORD_PENDING], t.count[ORD_PROCESSING],
                        t.count[ORD_COMPLETED], t.count[ORD_CANCELLED],
                        t.processing_us_sum, t.from_creation_us_sum);
}

/* A transition of given(): what it returned, and whether the outputs it
 * sets only on success were set as they should be (NULL) or not. */
static const char *transition(fixture_t *fx, const char *what,
                              const char *id, char **args,
                              apr_status_t *rv)
{
    apr_time_t out = -1, started = -1;
    apr_time_t a = args[1] ? apr_atoi64(args[1]) : 0;
    apr_time_t b = args[2] ? apr_atoi64(args[2]) : 0;

    if (strcmp(what, "cancel") == 0) {
        *rv = ord_store_cancel(&fx->conn, fx->pool, id, apr_atoi64(args[0]));
        return NULL;
    }
    if (strcmp(what, "complete") == 0) {
        *rv = ord_store_complete(&fx->conn, fx->pool, id, args[0], a, &out);
        return (*rv == APR_SUCCESS) == (out != -1) ? NULL
               : "completed_at set on a failure or not on a success";
    }
    if (strcmp(what, "claim") != 0 && strcmp(what, "takeover") != 0) {
        return "unknown verb";
    }
    *rv = ord_store_claim(&fx->conn, fx->pool, id,
                          what[0] == 'c' ? ORD_PENDING : ORD_PROCESSING,
                          args[0], a, b, &out, &started);
    if (*rv != APR_SUCCESS) {
        return out == -1 && started == -1 ? NULL : "outputs set on a failure";
    }
    /* the order's own creation time */
    return out == get_ok(fx, id)->created_at ? NULL
           : apr_psprintf(fx->pool, "created_at %" APR_INT64_T_FMT, out);
}

/* One step of given(); NULL when it went as it should, else why not. */
static const char *given_step(fixture_t *fx, char *step)
{
    char *quote = strstr(step, " user='"), *user = NULL;
    char *last = NULL, *what, *id, *arg, *args[4] = { NULL };
    apr_time_t created = CREATED, lease = LEASE;
    int user_is_int = 0;
    apr_status_t want = APR_SUCCESS, rv = APR_EGENERAL;
    const char *why;
    int n = 0;

    if (quote) {                /* " user='T'", spaces and all */
        user = quote + 7;
        *quote = '\0';
        if (!strchr(user, '\'')) {
            return "an unclosed quote";
        }
        *strchr(user, '\'') = '\0';
    }
    what = apr_strtok(step, " ", &last);
    id = apr_strtok(NULL, " ", &last);
    if (!what || !id) {
        return "no verb or no id";
    }
    if (strcmp(what, "expect") == 0) {
        const char *got = row_of(fx, id);
        const char *want = apr_pstrcat(fx->pool, id, " ", last, NULL);

        return strcmp(got, want) == 0 ? NULL
               : apr_psprintf(fx->pool, "it is %s", got);
    }
    if (strcmp(what, "rows") == 0) {
        return count_rows(fx) == apr_atoi64(id) ? NULL
               : apr_psprintf(fx->pool, "%" APR_INT64_T_FMT " rows",
                              count_rows(fx));
    }
    while ((arg = apr_strtok(NULL, " ", &last)) != NULL) {
        if (strncmp(arg, "created=", 8) == 0) {
            created = apr_atoi64(arg + 8);
        }
        else if (strncmp(arg, "lease=", 6) == 0) {
            lease = apr_atoi64(arg + 6);
        }
        else if (strncmp(arg, "user=", 5) == 0) {
            user = arg + 5;
        }
        else if (strcmp(arg, "int") == 0) {
            user_is_int = 1;
        }
        else if (strcmp(arg, "->") == 0) {
            arg = apr_strtok(NULL, " ", &last);
            if (!arg || strcmp(arg, "NOTFOUND") != 0) {
                return "only NOTFOUND may follow ->";
            }
            want = APR_NOTFOUND;
        }
        else if (n < 3) {
            args[n++] = arg;
        }
    }
    if (strcmp(what, "new") == 0 && user) {
        insert_for_user(fx, id, user, user_is_int);
        return NULL;
    }
    if (strcmp(what, "new") == 0) {
        insert_new(fx, id, created, lease);
        return NULL;
    }
    if (strcmp(what, "cancelled") == 0) {
        exec_sql(fx, apr_psprintf(fx->pool, "UPDATE orders SET status = "
                                  "'Cancelled' WHERE order_id = '%s'", id));
        return NULL;
    }
    if (!args[0]) {
        return "too few arguments";
    }
    if ((why = transition(fx, what, id, args, &rv)) != NULL) {
        return why;
    }
    return rv == want ? NULL : apr_psprintf(fx->pool, "rv %d, want %d", rv,
                                            want);
}

/* given()'s steps, done until one goes wrong: NULL, or that one and why. */
static const char *given_steps(fixture_t *fx, const char *steps)
{
    char *all = apr_pstrdup(fx->pool, steps), *last = NULL, *step;

    for (step = apr_strtok(all, ";", &last); step;
         step = apr_strtok(NULL, ";", &last)) {
        const char *shown = apr_pstrdup(fx->pool, step);
        const char *why = given_step(fx, step);

        if (why) {
            return apr_psprintf(fx->pool, "step \"%s\": %s", shown, why);
        }
    }
    return NULL;
}

/* Brings the table to a state, step by step, separated by "; ": "new ID
 * [created=T] [lease=T]" (sample content, created at CREATED with LEASE
 * unless told), "new ID user=T [int]" or "new ID user='T T'" (for that
 * user, sent as an integer or a string), "claim ID TOKEN NOW LEASE" (from
 * Pending), "takeover ID TOKEN NOW LEASE" (an expired Processing claim),
 * "complete ID TOKEN NOW", "cancel ID NOW" (ord_store_cancel) and
 * "cancelled ID" (the status set in SQL).  A transition succeeds, or ends
 * "-> NOTFOUND" and is refused so; either way the outputs it sets only on
 * success (created_at, started_at, completed_at) are checked: a claim's
 * created_at is the order's.  Checks: "expect ID ..." (the order is so:
 * row_of()), "rows N" (in the table). */
static void given(fixture_t *fx, const char *steps)
{
    const char *why = given_steps(fx, steps);

    if (why) {
        fail_msg("%s, of \"%s\"", why, steps);
    }
}

/* ------------------------------------------------------------------ */
/* Schema                                                              */
/* ------------------------------------------------------------------ */

static void test_ensure_schema_creates_table_and_indexes(void **state)
{
    fixture_t *fx = *state;

    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM sqlite_master "
                                   "WHERE type = 'table' AND name = 'orders'"),
                     0);
    assert_int_equal(ord_store_ensure_schema(&fx->conn, fx->pool),
                     APR_SUCCESS);
    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM sqlite_master "
                                   "WHERE type = 'table' AND name = 'orders'"),
                     1);
    /* The indexes of sql/sqlite.sql. */
    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM sqlite_master "
                                   "WHERE type = 'index' AND tbl_name = "
                                   "'orders' AND name IN ('orders_unfinished',"
                                   " 'orders_by_status', 'orders_by_user')"),
                     3);
    assert_int_equal(count_rows(fx), 0);
    /* The file is in WAL mode, for every connection from now on: a new one
     * sees it without being told. */
    {
        apr_dbd_t *other = NULL;
        apr_dbd_results_t *res = NULL;
        apr_dbd_row_t *row = NULL;

        assert_int_equal(apr_dbd_open(fx->conn.driver, fx->pool, fx->path,
                                      &other), APR_SUCCESS);
        assert_int_equal(apr_dbd_select(fx->conn.driver, fx->pool, other, &res,
                                        "PRAGMA journal_mode", 0), 0);
        assert_int_equal(apr_dbd_get_row(fx->conn.driver, fx->pool, res, &row,
                                         -1), 0);
        assert_string_equal(apr_dbd_get_entry(fx->conn.driver, row, 0), "wal");
        while (apr_dbd_get_row(fx->conn.driver, fx->pool, res, &row, -1) == 0) {
        }
        apr_dbd_close(fx->conn.driver, other);
    }
}

static void test_ensure_schema_twice_succeeds_and_keeps_rows(void **state)
{
    fixture_t *fx = *state;

    assert_int_equal(ord_store_ensure_schema(&fx->conn, fx->pool),
                     APR_SUCCESS);
    given(fx, "new ORD1");
    assert_int_equal(ord_store_ensure_schema(&fx->conn, fx->pool),
                     APR_SUCCESS);
    assert_int_equal(count_rows(fx), 1);
    assert_string_equal(get_ok(fx, "ORD1")->order_id.text, "ORD1");
}

/* Without the table every call is a database failure (the caller answers
 * 503), outputs untouched; once the schema exists the same connection
 * works: a statement that failed to prepare was not kept. */
static void test_without_schema_calls_fail_egeneral_then_recover(
    void **state)
{
    fixture_t *fx = *state;
    ord_order_t o = sample_order("ORD1");
    ord_order_t *got = (ord_order_t *)&o;
    ord_store_totals_t totals;
    int created = -7;

    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &o, LEASE,
                                      &created), APR_EGENERAL);
    assert_int_equal(created, -7);
    assert_int_equal(ord_store_get(&fx->conn, fx->pool, "ORD1", &got),
                     APR_EGENERAL);
    assert_ptr_equal(got, &o);
    memset(&totals, 0x5a, sizeof(totals));
    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &totals),
                     APR_EGENERAL);
    assert_int_equal(totals.count[ORD_PENDING], 0x5a5a5a5a5a5a5a5aULL);

    assert_int_equal(ord_store_ensure_schema(&fx->conn, fx->pool),
                     APR_SUCCESS);
    insert_ok(fx, &o);
    assert_string_equal(get_ok(fx, "ORD1")->order_id.text, "ORD1");
}

/* A statement this connection prepared before another connection changed
 * the schema (as a second child does while the first creates it) still
 * works: the store prepares it again. */
static void test_statements_survive_a_schema_change_by_another_connection(
    void **state)
{
    fixture_t *fx = *state;
    ord_order_t o = sample_order("ORD-S1");
    ord_order_t *got = NULL;
    apr_dbd_t *other = NULL;
    int created = 0, nrows = 0;

    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &o, LEASE,
                                      &created), APR_SUCCESS);
    assert_non_null(get_ok(fx, "ORD-S1"));      /* get's statement cached */
    assert_int_equal(apr_dbd_open(fx->conn.driver, fx->pool, fx->path,
                                  &other), APR_SUCCESS);
    assert_int_equal(apr_dbd_query(fx->conn.driver, other, &nrows,
                                   "CREATE INDEX orders_extra ON orders "
                                   "(created_us)"), 0);
    apr_dbd_close(fx->conn.driver, other);

    assert_int_equal(ord_store_get(&fx->conn, fx->pool, "ORD-S1", &got),
                     APR_SUCCESS);
    assert_string_equal(got->order_id.text, "ORD-S1");
    o = sample_order("ORD-S2");
    insert_ok(fx, &o);
}

/* ------------------------------------------------------------------ */
/* Insert and get                                                      */
/* ------------------------------------------------------------------ */

static void test_insert_new_id_reports_created_and_stores_one_row(
    void **state)
{
    fixture_t *fx = *state;
    ord_order_t o = sample_order("ORD1");

    insert_ok(fx, &o);
    assert_int_equal(count_rows(fx), 1);
}

static void test_insert_existing_id_reports_not_created_and_keeps_original(
    void **state)
{
    fixture_t *fx = *state;
    ord_order_t again = sample_order("ORD1");
    int created = -1;

    given(fx, "new ORD1");

    /* The same id again, same content. */
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &again, LEASE,
                                      &created), APR_SUCCESS);
    assert_int_equal(created, 0);
    assert_int_equal(count_rows(fx), 1);

    /* The same id with other content: still nothing written. */
    again.user_id.text = "77";
    again.item_ids_json = "[1]";
    again.total_amount.cents = 1;
    again.created_at = 5000000;
    again.updated_at = 5000000;
    created = -1;
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &again, LEASE,
                                      &created), APR_SUCCESS);
    assert_int_equal(created, 0);
    assert_int_equal(count_rows(fx), 1);

    assert_string_equal(row_of(fx, "ORD1"), "ORD1 Pending user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0");
}

static void test_get_returns_every_field_as_inserted(void **state)
{
    fixture_t *fx = *state;
    ord_order_t o = sample_order("ORD-7.a:b_c");

    o.created_at = APR_INT64_C(1795000017000000);   /* 2026-11-18 */
    o.updated_at = APR_INT64_C(1795000017000001);
    insert_ok(fx, &o);

    assert_string_equal(row_of(fx, "ORD-7.a:b_c"), "ORD-7.a:b_c Pending user=42 int items=[101,\"a-2\"] amount=14999/2 created=1795000017000000 updated=1795000017000001 started=0 completed=0");
}

static void test_get_keeps_integer_order_id_and_string_user_id(void **state)
{
    fixture_t *fx = *state;
    ord_order_t o = sample_order("9007199254740991");

    o.order_id.is_int = 1;
    o.user_id.text = "007";
    o.user_id.is_int = 0;
    insert_ok(fx, &o);

    /* user "007", a string: not 7 */
    assert_string_equal(row_of(fx, "9007199254740991"), "9007199254740991 int Pending user=007 items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0");
}

static void test_get_keeps_amount_exact_at_limits_and_scales(void **state)
{
    fixture_t *fx = *state;
    ord_order_t a = sample_order("MAX"), b = sample_order("ONE"),
                c = sample_order("ZERO");
    int created = -1;

    a.total_amount.cents = ORD_AMOUNT_MAX_CENTS;    /* 1e12, beyond 32 bits */
    a.total_amount.scale = 0;
    b.total_amount.cents = 6000;                    /* 60.0 */
    b.total_amount.scale = 1;
    c.total_amount.cents = 0;
    c.total_amount.scale = 2;                       /* 0.00 */
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &a, LEASE,
                                      &created), APR_SUCCESS);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &b, LEASE,
                                      &created), APR_SUCCESS);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &c, LEASE,
                                      &created), APR_SUCCESS);

    assert_string_equal(row_of(fx, "MAX"), "MAX Pending user=42 int items=[101,\"a-2\"] amount=100000000000000/0 created=1000000 updated=1000000 started=0 completed=0");
    assert_string_equal(row_of(fx, "ONE"), "ONE Pending user=42 int items=[101,\"a-2\"] amount=6000/1 created=1000000 updated=1000000 started=0 completed=0");
    assert_string_equal(row_of(fx, "ZERO"), "ZERO Pending user=42 int items=[101,\"a-2\"] amount=0/2 created=1000000 updated=1000000 started=0 completed=0");
}

static void test_get_unknown_id_is_notfound_and_leaves_output(void **state)
{
    fixture_t *fx = *state;
    ord_order_t sentinel;
    ord_order_t *got = &sentinel;

    given(fx, "new ORD1");
    assert_int_equal(ord_store_get(&fx->conn, fx->pool, "ORD2", &got),
                     APR_NOTFOUND);
    assert_ptr_equal(got, &sentinel);
    assert_int_equal(ord_store_get(&fx->conn, fx->pool, "ord1", &got),
                     APR_NOTFOUND);
    assert_ptr_equal(got, &sentinel);
}

static void test_injection_looking_text_is_stored_verbatim(void **state)
{
    fixture_t *fx = *state;
    static const char *evil_id = "x'); DROP TABLE orders;--";
    static const char *evil_user = "x'); DROP TABLE orders;--";
    static const char *evil_items = "[\"'; DELETE FROM orders; --\","
                                    "\"%s %d %lld %%\",\"\\\"q\\\"\"]";
    ord_order_t o = sample_order(evil_id), plain = sample_order("ORD1");
    ord_order_t *got;

    given(fx, "new ORD0");
    o.user_id.text = evil_user;
    o.user_id.is_int = 0;
    o.item_ids_json = evil_items;
    insert_ok(fx, &o);
    plain.user_id.text = "Zoë 日本 \"quoted\" 'single' \\ %s";
    plain.user_id.is_int = 0;
    insert_ok(fx, &plain);

    assert_int_equal(count_rows(fx), 3);
    assert_string_equal(row_of(fx, evil_id), "x'); DROP TABLE orders;-- Pending user=x'); DROP TABLE orders;-- items=[\"'; DELETE FROM orders; --\",\"%s %d %lld %%\",\"\\\"q\\\"\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0");
    assert_string_equal(get_ok(fx, "ORD1")->user_id.text,
                        "Zoë 日本 \"quoted\" 'single' \\ %s");
    assert_string_equal(get_ok(fx, "ORD0")->order_id.text, "ORD0");

    /* The lookups take the text as data too. */
    got = NULL;
    assert_int_equal(ord_store_get(&fx->conn, fx->pool, "' OR '1'='1", &got),
                     APR_NOTFOUND);
    assert_int_equal(claim(fx, "' OR '1'='1", ORD_PENDING, "T", 1500000,
                           3000000, NULL), APR_NOTFOUND);
    assert_int_equal(get_ok(fx, "ORD0")->status, ORD_PENDING);
    assert_int_equal(claim(fx, evil_id, ORD_PENDING, "T'--", 1500000,
                           3000000, NULL), APR_SUCCESS);
    assert_int_equal(complete(fx, evil_id, "T'--", 2500000), APR_SUCCESS);
    assert_int_equal(get_ok(fx, evil_id)->status, ORD_COMPLETED);
    assert_int_equal(get_ok(fx, "ORD0")->status, ORD_PENDING);
}

/* ------------------------------------------------------------------ */
/* Claim                                                               */
/* ------------------------------------------------------------------ */

static void test_claim_pending_succeeds_and_returns_created_at(void **state)
{
    fixture_t *fx = *state;
    apr_time_t created_at = -1;

    given(fx, "new ORD1");
    assert_int_equal(claim(fx, "ORD1", ORD_PENDING, "A", 1500000, 3000000,
                           &created_at), APR_SUCCESS);
    assert_int_equal(created_at, CREATED);

    assert_string_equal(row_of(fx, "ORD1"), "ORD1 Processing user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1500000 started=1500000 completed=0");
}

static void test_second_claim_from_pending_is_notfound(void **state)
{
    fixture_t *fx = *state;

    given(fx, "new ORD1; claim ORD1 A 1500000 3000000; "
              "claim ORD1 B 1600000 3100000 -> NOTFOUND");
    /* The first claim still holds: A completes, B cannot. */
    given(fx, "complete ORD1 B 2000000 -> NOTFOUND; complete ORD1 A 2000000");
}

/* ------------------------------------------------------------------ */
/* Complete                                                            */
/* ------------------------------------------------------------------ */

/* A completion is lost only when the row says so: the same claim completing
 * again (its first answer was lost with a connection) is told the first
 * completion's time and changes nothing; another claim is told it lost. */
static void test_complete_twice_reports_the_first_completion(void **state)
{
    fixture_t *fx = *state;
    apr_time_t at = -1;

    given(fx, "new ORD1; claim ORD1 A 1500000 3000000; "
              "complete ORD1 A 2750000");
    assert_int_equal(ord_store_complete(&fx->conn, fx->pool, "ORD1", "A",
                                        2800000, &at), APR_SUCCESS);
    assert_int_equal(at, 2750000);
    given(fx, "complete ORD1 B 2900000 -> NOTFOUND");
    assert_string_equal(row_of(fx, "ORD1"), "ORD1 Completed user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=2750000 started=1500000 completed=2750000");
}

/* The same for a claim: claimed again under its own token, it is still
 * this claim's, with its first time; under another token it is lost. */
static void test_claim_twice_reports_the_first_claim(void **state)
{
    fixture_t *fx = *state;
    apr_time_t created = -1, started = -1;

    given(fx, "new ORD1; claim ORD1 A 1500000 3000000");
    assert_int_equal(ord_store_claim(&fx->conn, fx->pool, "ORD1",
                                     ORD_PENDING, "A", 1600000, 3100000,
                                     &created, &started), APR_SUCCESS);
    assert_int_equal(created, CREATED);
    assert_int_equal(started, 1500000);
    given(fx, "claim ORD1 B 1700000 3200000 -> NOTFOUND");
    assert_int_equal(get_ok(fx, "ORD1")->processing_started_at, 1500000);
}

static void test_complete_of_unclaimed_or_unknown_order_is_notfound(
    void **state)
{
    fixture_t *fx = *state;

    given(fx, "new ORD1; complete ORD1 A 2000000 -> NOTFOUND");
    assert_int_equal(complete(fx, "ORD1", "", 2000000), APR_NOTFOUND);
    assert_int_equal(get_ok(fx, "ORD1")->status, ORD_PENDING);
    given(fx, "complete NOPE A 2000000 -> NOTFOUND");
}

/* Orders taken through transitions and checked on the way (given()), each
 * row in a database of its own. */
typedef struct {
    const char *name;
    const char *steps;      /* given()'s, "expect" and "rows" included */
} state_case_t;

static const char *check_state_cases(const unit_ctx_t *c, const void *r)
{
    const state_case_t *row = r;
    unit_sqlite_t db;
    const char *why;

    if (unit_sqlite_open(&db, 1) != 0) {
        return "no database";
    }
    why = given_steps(&db, row->steps);
    why = why ? apr_pstrdup(c->pool, why) : NULL;
    unit_sqlite_close(&db);
    return why;
}

static const state_case_t state_cases[] = {
    /* `from` Processing asks for an expired claim; a Pending order has
     * none, however old its lease. */
    { "takeover of a pending order is notfound",
      "new ORD1; "
      "takeover ORD1 B 9000000 9900000 -> NOTFOUND; "
      "expect ORD1 Pending user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0" },
    { "claim of completed order is notfound",
      "new ORD1; "
      "claim ORD1 A 1500000 3000000; "
      "complete ORD1 A 2500000; "
      "claim ORD1 B 9000000 9900000 -> NOTFOUND; "
      "takeover ORD1 B 9000000 9900000 -> NOTFOUND; "
      "expect ORD1 Completed user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=2500000 started=1500000 completed=2500000" },
    { "claim of cancelled order is notfound",
      "new ORD1; "
      "cancelled ORD1; "
      "claim ORD1 A 1500000 3000000 -> NOTFOUND; "
      "takeover ORD1 A 9000000 9900000 -> NOTFOUND; "
      "expect ORD1 Cancelled user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0" },
    /* client content untouched by the transitions */
    { "complete sets completed status and times",
      "new ORD1; "
      "claim ORD1 A 1500000 3000000; "
      "complete ORD1 A 2750000; "
      "expect ORD1 Completed user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=2750000 started=1500000 completed=2750000" },
    { "cancel twice is notfound and keeps first",
      "new ORD1; "
      "cancel ORD1 1700000; "
      "cancel ORD1 1800000 -> NOTFOUND; "
      "expect ORD1 Cancelled user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1700000 started=0 completed=0" },
    { "cancelled order cannot be claimed",
      "new ORD1; "
      "cancel ORD1 1700000; "
      "claim ORD1 A 1800000 3000000 -> NOTFOUND; "
      "takeover ORD1 A 99000000 99900000 -> NOTFOUND; "
      "complete ORD1 A 1900000 -> NOTFOUND; "
      "expect ORD1 Cancelled user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1700000 started=0 completed=0" },
    { "claim unknown order is notfound",
      "claim NOPE A 1500000 3000000 -> NOTFOUND; "
      "takeover NOPE A 9000000 9900000 -> NOTFOUND; "
      "rows 0" },
    { "takeover before lease runs out is notfound",
      "new ORD1; "
      "claim ORD1 A 1500000 3000000; "
      "takeover ORD1 B 2999999 6000000 -> NOTFOUND; "
      "expect ORD1 Processing user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1500000 started=1500000 completed=0; "
      "complete ORD1 A 2500000" },
    /* B's lease (6000000) now protects it from a third taker. */
    { "takeover after lease runs out gives claim to new token",
      "new ORD1; "
      "claim ORD1 A 1500000 3000000; "
      "takeover ORD1 B 3000001 6000000; "
      "expect ORD1 Processing user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=3000001 started=3000001 completed=0; "
      "takeover ORD1 C 5999999 9000000 -> NOTFOUND" },
    { "complete with lost token is notfound and new token wins",
      "new ORD1; "
      "claim ORD1 A 1500000 3000000; "
      "takeover ORD1 B 3500000 6000000; "
      "complete ORD1 A 4000000 -> NOTFOUND; "
      "expect ORD1 Processing user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=3500000 started=3500000 completed=0; "
      "complete ORD1 B 5500000; "
      "expect ORD1 Completed user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=5500000 started=3500000 completed=5500000" },
    /* The claim of R still holds. */
    { "cancel processing or completed is notfound unchanged",
      "new R; "
      "claim R A 1500000 3000000; "
      "new C; "
      "claim C A 1500000 3000000; "
      "complete C A 2500000; "
      "cancel R 2600000 -> NOTFOUND; "
      "cancel C 2600000 -> NOTFOUND; "
      "expect R Processing user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1500000 started=1500000 completed=0; "
      "expect C Completed user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=2500000 started=1500000 completed=2500000; "
      "complete R A 2700000" },
};

/* ------------------------------------------------------------------ */
/* Orphans                                                             */
/* ------------------------------------------------------------------ */

static void test_orphans_lists_unfinished_orders_whose_lease_ended(
    void **state)
{
    fixture_t *fx = *state;
    apr_array_header_t *list;

    /* P-old and R-old are orphans, the leases of P-live and R-live still
     * run, C is Completed and X Cancelled. */
    given(fx, "new P-old lease=2000000; new P-live lease=5000000; "
              "new R-old lease=2000000; claim R-old A 1500000 3000000; "
              "new R-live lease=2000000; claim R-live A 1500000 9000000; "
              "new C lease=2000000; claim C A 1500000 2500000; "
              "complete C A 2400000; new X lease=1500000; cancelled X");

    list = orphans(fx, 4000000, 10);
    assert_int_equal(list->nelts, 2);
    assert_string_equal(orphan_at(list, 0)->order_id, "P-old");
    assert_int_equal(orphan_at(list, 0)->status, ORD_PENDING);
    assert_string_equal(orphan_at(list, 1)->order_id, "R-old");
    assert_int_equal(orphan_at(list, 1)->status, ORD_PROCESSING);
}

static void test_orphans_are_oldest_lease_first_and_at_most_max(
    void **state)
{
    fixture_t *fx = *state;
    apr_array_header_t *list;

    /* Inserted newest lease first, so that insertion order is not it. */
    given(fx, "new O5 lease=5000000; new O4 lease=4000000; "
              "new O3 lease=3000000; new O1 lease=1000000; "
              "new O2 lease=2000000");

    list = orphans(fx, 10000000, 3);
    assert_int_equal(list->nelts, 3);
    assert_string_equal(orphan_at(list, 0)->order_id, "O1");
    assert_string_equal(orphan_at(list, 1)->order_id, "O2");
    assert_string_equal(orphan_at(list, 2)->order_id, "O3");

    list = orphans(fx, 10000000, 100);
    assert_int_equal(list->nelts, 5);
    assert_string_equal(orphan_at(list, 0)->order_id, "O1");
    assert_string_equal(orphan_at(list, 4)->order_id, "O5");

    list = orphans(fx, 10000000, 1);
    assert_int_equal(list->nelts, 1);
    assert_string_equal(orphan_at(list, 0)->order_id, "O1");
}

static void test_orphans_excludes_lease_ending_exactly_now(void **state)
{
    fixture_t *fx = *state;

    given(fx, "new ORD1 lease=2000000");
    /* "whose lease ended before `now`" */
    assert_int_equal(orphans(fx, 1999999, 10)->nelts, 0);
    assert_int_equal(orphans(fx, 2000000, 10)->nelts, 0);
    assert_int_equal(orphans(fx, 2000001, 10)->nelts, 1);
}

static void test_orphans_of_empty_table_is_empty(void **state)
{
    fixture_t *fx = *state;

    assert_int_equal(orphans(fx, 10000000, 10)->nelts, 0);
}

/* What recovery does with the list: every orphan it is given at `now` can
 * be claimed at `now` from the status listed, and a Processing order not
 * listed yet cannot be taken over yet. */
static void test_orphan_listed_at_now_is_claimable_at_now(void **state)
{
    fixture_t *fx = *state;
    apr_array_header_t *list;
    int i;

    given(fx, "new P lease=3000000; new R lease=2000000; "
              "claim R A 1500000 3000000");

    assert_int_equal(orphans(fx, 3000000, 10)->nelts, 0);
    given(fx, "takeover R B 3000000 6000000 -> NOTFOUND");

    list = orphans(fx, 3000001, 10);
    assert_int_equal(list->nelts, 2);
    for (i = 0; i < list->nelts; i++) {
        const ord_store_orphan_t *o = orphan_at(list, i);
        apr_time_t created_at = -1;
        assert_int_equal(claim(fx, o->order_id, o->status, "B", 3000001,
                               6000000, &created_at), APR_SUCCESS);
        assert_int_equal(created_at, CREATED);
    }
    /* Both are B's now, leased to 6000000: no orphans until then. */
    assert_int_equal(orphans(fx, 5999999, 10)->nelts, 0);
    given(fx, "complete P B 4000000; complete R B 4000000");
    assert_int_equal(orphans(fx, 99000000, 10)->nelts, 0);
}

/* ------------------------------------------------------------------ */
/* Totals                                                              */
/* ------------------------------------------------------------------ */

static void test_totals_count_each_status_and_sum_completed_durations(
    void **state)
{
    fixture_t *fx = *state;

    given(fx, "new P1 lease=9000000; new P2 lease=9000000; "
              "new R1 lease=9000000; claim R1 A 1200000 9000000");
    /* C1: 1.0 s processing, 1.5 s from creation. */
    given(fx, "new C1 lease=9000000; claim C1 A 1500000 9000000; "
              "complete C1 A 2500000");
    /* C2: 3.0 s processing, 5.0 s from creation. */
    given(fx, "new C2 created=2000000 lease=9000000; "
              "claim C2 A 4000000 9000000; complete C2 A 7000000; "
              "new X1 lease=9000000; cancelled X1");

    /* processing 1.0 + 3.0 s, from creation 1.5 + 5.0 s */
    assert_string_equal(totals_of(fx), "2 1 2 1 4000000 6500000");
}

static void test_totals_of_empty_table_are_zero(void **state)
{
    fixture_t *fx = *state;

    assert_int_equal(ORD_STATUS_COUNT, 4);
    assert_string_equal(totals_of(fx), "0 0 0 0 0 0");
}

static void test_totals_without_completed_orders_have_zero_sums(void **state)
{
    fixture_t *fx = *state;

    given(fx, "new P1 lease=9000000; new R1 lease=9000000; "
              "claim R1 A 1200000 9000000");

    assert_string_equal(totals_of(fx), "1 1 0 0 0 0");
}

/* ------------------------------------------------------------------ */
/* Webhook deliveries                                                  */
/* ------------------------------------------------------------------ */

/* The sequence numbers ord_store_deliveries_due answers at `now`. */
static const char *due_of(fixture_t *fx, apr_time_t now, int max)
{
    apr_array_header_t *due = NULL;
    const char *out = "";
    int i;

    assert_int_equal(ord_store_deliveries_due(&fx->conn, fx->pool, now, max,
                                              &due), APR_SUCCESS);
    for (i = 0; i < due->nelts; i++) {
        const ord_event_t *e = APR_ARRAY_IDX(due, i, const ord_event_t *);
        out = apr_psprintf(fx->pool, "%s%s%" APR_INT64_T_FMT, out,
                           i ? " " : "", (apr_int64_t)e->cursor.seq);
    }
    return out;
}

/* One event taken alone: a round of one. */
static int take(fixture_t *fx, apr_int64_t seq, int attempts, apr_time_t now)
{
    ord_store_take_t one = { seq, attempts, -1 };

    assert_int_equal(ord_store_delivery_take_all(&fx->conn, fx->pool, &one, 1,
                                                 "h", now, now + 400),
                     APR_SUCCESS);
    return one.taken;
}

/* seq: order, delivery, next attempt, lease until; at now = 500. */
static const char *const delivery_rows[] = {
        "'A', 'pending', 100, NULL",    /* 1 due */
        "'A', 'pending', 100, NULL",    /* 2 behind 1, of its order */
        "'B', 'delivered', 100, NULL",  /* 3 done */
        "'B', 'pending', 100, NULL",    /* 4 due: the one before is done */
        "'C', 'pending', 900, NULL",    /* 5 not yet due */
        "'D', 'pending', 100, 800",     /* 6 someone's lease is running */
        "'E', 'pending', 100, 400",     /* 7 due: the lease ran out */
        "'F', 'pending', 500, NULL",    /* 8 due exactly now */
};

/* Orders A-F with the events of delivery_rows. */
static void given_deliveries(fixture_t *fx)
{
    const char *id;
    size_t i;

    for (id = "ABCDEF"; *id; id++) {
        insert_new(fx, apr_pstrndup(fx->pool, id, 1), CREATED, LEASE);
    }
    exec_sql(fx, "DELETE FROM order_events");
    for (i = 0; i < UNIT_ROWS(delivery_rows); i++) {
        exec_sql(fx, apr_psprintf(fx->pool, "INSERT INTO order_events (seq, "
                                  "type, order_id, delivery, next_attempt_us, "
                                  "lease_until_us, status, created_us, "
                                  "updated_us) VALUES (%d, 'order.created', "
                                  "%s, 'Pending', 1, 1)", (int)i + 1,
                                  delivery_rows[i]));
    }
}

static void test_due_deliveries_follow_order_time_and_leases(void **state)
{
    fixture_t *fx = *state;

    given_deliveries(fx);
    assert_string_equal(due_of(fx, 500, 10), "1 4 7 8");
    assert_string_equal(due_of(fx, 500, 2), "1 4");
    /* Taken once; not again while the lease runs, nor as read before
     * another attempt; then it is no longer due. */
    assert_int_equal(take(fx, 1, 0, 500), 1);
    assert_int_equal(take(fx, 1, 0, 500), 0);
    assert_int_equal(take(fx, 4, 3, 500), 0);
    assert_string_equal(due_of(fx, 500, 10), "4 7 8");
    /* Its lease run out, it is due again. */
    assert_string_equal(due_of(fx, 901, 10), "1 4 5 6 7 8");
}

/* "delivery attempts last_status next_attempt holder" of event `seq`. */
static const char *delivery_of(fixture_t *fx, int seq)
{
    const char *v = unit_sqlite_value(
        fx, fx->pool, apr_psprintf(fx->pool, "SELECT delivery || ' ' || "
                                   "attempts || ' ' || COALESCE(last_status, "
                                   "'-') || ' ' || next_attempt_us || ' ' || "
                                   "COALESCE(lease_holder, '-') FROM "
                                   "order_events WHERE seq = %d", seq));
    return v ? v : "missing";
}

/* A round's takes and outcomes in one statement each (in two each
 * without RETURNING): what one by one gives, event by event. */
static void test_a_round_is_taken_and_recorded_at_once(void **state)
{
    fixture_t *fx = *state;
    ord_store_take_t takes[] = {
        { 1, 0, -1 },   /* due */
        { 4, 3, -1 },   /* read with other attempts: not as read */
        { 7, 0, -1 },   /* its lease ran out */
        { 8, 0, -1 },   /* due exactly now */
        { 6, 0, -1 },   /* someone's lease is running */
    };
    ord_store_outcome_t outcomes[] = {
        { 1, "delivered", 204, 600, -1 },
        { 7, "pending", 500, 2000, -1 },
        { 8, "failed", 410, 600, -1 },
        { 4, "delivered", 204, 600, -1 },   /* not taken: not ours */
    };
    int expect_taken[] = { 1, 0, 1, 1, 0 }, expect_changed[] = { 1, 1, 1, 0 };
    size_t i;

    given_deliveries(fx);
    assert_int_equal(ord_store_delivery_take_all(&fx->conn, fx->pool, takes,
                                                 (int)UNIT_ROWS(takes), "h",
                                                 500, 900), APR_SUCCESS);
    for (i = 0; i < UNIT_ROWS(takes); i++) {
        assert_int_equal(takes[i].taken, expect_taken[i]);
    }
    assert_string_equal(delivery_of(fx, 7), "pending 0 - 100 h");
    assert_string_equal(due_of(fx, 500, 10), "4");
    assert_int_equal(ord_store_delivery_done_all(&fx->conn, fx->pool,
                                                 outcomes,
                                                 (int)UNIT_ROWS(outcomes),
                                                 "h"), APR_SUCCESS);
    for (i = 0; i < UNIT_ROWS(outcomes); i++) {
        assert_int_equal(outcomes[i].changed, expect_changed[i]);
    }
    assert_string_equal(delivery_of(fx, 1), "delivered 1 204 600 -");
    assert_string_equal(delivery_of(fx, 7), "pending 1 500 2000 -");
    assert_string_equal(delivery_of(fx, 8), "failed 1 410 600 -");
    assert_string_equal(delivery_of(fx, 4), "pending 0 - 100 -");
    /* The next of order A is due now that its first is delivered. */
    assert_string_equal(due_of(fx, 500, 10), "2 4");
}

/* "pending oldest_at" as ord_store_deliveries_backlog answers. */
static const char *backlog_of(fixture_t *fx)
{
    apr_uint64_t pending = 7;
    apr_time_t oldest_at = 7;

    assert_int_equal(ord_store_deliveries_backlog(&fx->conn, fx->pool,
                                                  &pending, &oldest_at),
                     APR_SUCCESS);
    return apr_psprintf(fx->pool, "%" APR_UINT64_T_FMT " %" APR_INT64_T_FMT,
                        pending, (apr_int64_t)oldest_at);
}

static void test_backlog_counts_pending_events_and_the_oldest_time(
    void **state)
{
    /* In the order they are written; the delivered, failed and
     * webhook-less ones first. */
    static const char *const rows[] = {
        "'delivered', 1000000", "'failed', 2000000", "NULL, 500000",
        "'pending', 3000000", "'delivered', 4000000", "'pending', 5000000",
    };
    fixture_t *fx = *state;
    size_t i;

    assert_string_equal(backlog_of(fx), "0 0");
    for (i = 0; i < UNIT_ROWS(rows); i++) {
        exec_sql(fx, apr_pstrcat(fx->pool, "INSERT INTO order_events "
                                 "(type, order_id, status, created_us, "
                                 "delivery, updated_us) VALUES "
                                 "('order.created', 'o', 'Pending', 1, ",
                                 rows[i], ")", NULL));
    }
    /* Not delivered nor given up, due or not; the oldest is the first
     * written. */
    assert_string_equal(backlog_of(fx), "2 3000000");
}

/* ------------------------------------------------------------------ */
/* List                                                                */
/* ------------------------------------------------------------------ */

static ord_list_query_t list_query(int limit)
{
    ord_list_query_t q;

    memset(&q, 0, sizeof(q));
    q.limit = limit;
    return q;
}

/* One page; *last as the store set it. */
static apr_array_header_t *list_page(fixture_t *fx, const ord_list_query_t *q,
                                     apr_int64_t *last)
{
    apr_array_header_t *orders = NULL;

    *last = -12345;
    assert_int_equal(ord_store_list(&fx->conn, fx->pool, q, &orders, last),
                     APR_SUCCESS);
    assert_non_null(orders);
    assert_int_not_equal(*last, -12345);
    return orders;
}

/* The order ids of a page, joined with ',' ("" for none). */
static const char *ids_of(fixture_t *fx, const apr_array_header_t *orders)
{
    const char *s = "";
    int i;

    for (i = 0; i < orders->nelts; i++) {
        const ord_order_t *o = APR_ARRAY_IDX(orders, i, ord_order_t *);
        assert_non_null(o);
        s = apr_pstrcat(fx->pool, s, i ? "," : "", o->order_id.text, NULL);
    }
    return s;
}

/* Every page of `q` from the first, joined with '|' between pages and ','
 * inside one; the number of pages in *pages. */
static const char *all_pages(fixture_t *fx, ord_list_query_t q, int *pages)
{
    const char *s = "";
    apr_int64_t last;
    int n = 0;

    q.after = 0;
    do {
        apr_array_header_t *page = list_page(fx, &q, &last);
        int i;

        for (i = 0; i < page->nelts; i++) {
            const ord_order_t *o = APR_ARRAY_IDX(page, i, ord_order_t *);

            /* every order the filters asked for */
            assert_true(!q.has_status || o->status == q.status);
            assert_true(!q.user_id || strcmp(o->user_id.text, q.user_id) == 0);
        }
        s = apr_pstrcat(fx->pool, s, n ? "|" : "", ids_of(fx, page), NULL);
        if (last) {
            /* "more follow": the page is full */
            assert_int_equal(page->nelts, q.limit);
        }
        q.after = last;
        assert_true(++n < 1000);
    } while (q.after);
    *pages = n;
    return s;
}

static void test_list_returns_every_field(void **state)
{
    fixture_t *fx = *state;
    ord_list_query_t q = list_query(50);
    apr_array_header_t *page;
    const ord_order_t *o;
    apr_int64_t last;

    given(fx, "new P");
    insert_for_user(fx, "C", "Zo\xc3\xab", 0);
    given(fx, "claim C A 1500000 3000000; complete C A 2750000");

    page = list_page(fx, &q, &last);
    assert_int_equal(page->nelts, 2);
    o = APR_ARRAY_IDX(page, 0, ord_order_t *);
    assert_string_equal(o->order_id.text, "P");
    assert_int_equal(o->order_id.is_int, 0);
    assert_string_equal(o->user_id.text, "42");
    assert_int_equal(o->user_id.is_int, 1);
    assert_string_equal(o->item_ids_json, "[101,\"a-2\"]");
    assert_int_equal(o->total_amount.cents, 14999);
    assert_int_equal(o->total_amount.scale, 2);
    assert_int_equal(o->status, ORD_PENDING);
    assert_int_equal(o->created_at, CREATED);
    assert_int_equal(o->updated_at, CREATED);
    assert_int_equal(o->processing_started_at, 0);
    assert_int_equal(o->completed_at, 0);

    o = APR_ARRAY_IDX(page, 1, ord_order_t *);
    assert_string_equal(o->order_id.text, "C");
    assert_string_equal(o->user_id.text, "Zo\xc3\xab");
    assert_int_equal(o->user_id.is_int, 0);
    assert_int_equal(o->status, ORD_COMPLETED);
    assert_int_equal(o->created_at, CREATED);
    assert_int_equal(o->processing_started_at, 1500000);
    assert_int_equal(o->completed_at, 2750000);
    assert_int_equal(o->updated_at, 2750000);
}

static void test_list_limit_and_next_page_without_overlap(void **state)
{
    fixture_t *fx = *state;
    ord_list_query_t q = list_query(2);
    apr_array_header_t *page;
    apr_int64_t last1, last2, last3;

    given(fx, "new E; new B; new D; new A; new C");

    page = list_page(fx, &q, &last1);
    assert_string_equal(ids_of(fx, page), "E,B");
    assert_true(last1 > 0);

    q.after = last1;
    page = list_page(fx, &q, &last2);
    assert_string_equal(ids_of(fx, page), "D,A");
    assert_true(last2 > 0);
    assert_true(last2 != last1);

    q.after = last2;
    page = list_page(fx, &q, &last3);
    assert_string_equal(ids_of(fx, page), "C");
    assert_int_equal(last3, 0);

    /* The same page asked again gives the same answer. */
    q.after = last1;
    assert_string_equal(ids_of(fx, list_page(fx, &q, &last3)), "D,A");
    assert_int_equal(last3, last2);
}

static void test_list_after_the_last_order_is_empty(void **state)
{
    fixture_t *fx = *state;
    ord_list_query_t q = list_query(1);
    apr_int64_t last;

    given(fx, "new O1; new O2");
    list_page(fx, &q, &last);
    assert_true(last > 0);
    q.after = last;
    q.limit = 5;
    assert_string_equal(ids_of(fx, list_page(fx, &q, &last)), "O2");
    assert_int_equal(last, 0);

    q.after = APR_INT64_C(999999999999999999);
    assert_int_equal(list_page(fx, &q, &last)->nelts, 0);
    assert_int_equal(last, 0);
}

/* Keyset pages: orders added between two pages come after, once. */
static void test_list_pages_stay_right_while_orders_are_added(void **state)
{
    fixture_t *fx = *state;
    ord_list_query_t q = list_query(2);
    apr_int64_t last;

    given(fx, "new O1; new O2; new O3");

    assert_string_equal(ids_of(fx, list_page(fx, &q, &last)), "O1,O2");
    assert_true(last > 0);
    /* Created "earlier" by its clock, inserted later. */
    given(fx, "new N1 created=500000; new N2");

    q.after = last;
    assert_string_equal(ids_of(fx, list_page(fx, &q, &last)), "O3,N1");
    assert_true(last > 0);
    q.after = last;
    assert_string_equal(ids_of(fx, list_page(fx, &q, &last)), "N2");
    assert_int_equal(last, 0);
}

/* Orders inserted (given()), then every page of a list query ("limit=2"
 * is ord_query_parse_list's), joined with '|' between pages and ','
 * inside one.  Every page but the last is full and says more follow; the
 * last says none do. */
typedef struct {
    const char *name, *steps, *query, *pages;
    int count;              /* of the pages */
} list_case_t;

static const char *check_list_cases(const unit_ctx_t *c, const void *r)
{
    const list_case_t *row = r;
    const char *error = NULL, *why, *got = NULL;
    ord_list_query_t q;
    unit_sqlite_t db;
    int pages = 0;

    if (ord_query_parse_list(c->pool, row->query, &q, &error)
        != APR_SUCCESS) {
        return apr_psprintf(c->pool, "query: %s", unit_show(error));
    }
    if (unit_sqlite_open(&db, 1) != 0) {
        return "no database";
    }
    why = given_steps(&db, row->steps);
    if (!why) {
        got = apr_pstrdup(c->pool, all_pages(&db, q, &pages));
    }
    why = why ? apr_pstrdup(c->pool, why) : NULL;
    unit_sqlite_close(&db);
    if (why) {
        return why;
    }
    return strcmp(got, row->pages) == 0 && pages == row->count ? NULL
           : apr_psprintf(c->pool, "%d pages %s", pages, got);
}

/* Each status: P1 P2 P3 Pending, R1 Processing, C1 Completed, X1
 * Cancelled, interleaved. */
#define MIXED "new P1; new R1; new P2; new C1; new X1; new P3; " \
              "claim R1 A 1500000 3000000; claim C1 A 1500000 3000000; " \
              "complete C1 A 2000000; cancel X1 1700000"

/* user_id is matched as text: the integer 7 and the string "7" are the
 * same user, "07" and "70" are not. */
#define USERS "new U1 user=7 int; new U2 user=07; new U3 user=7; " \
              "new U4 user=70 int; new U5 user='a b&c'; new U6 user=7 int"

/* alice's A1 A3 A4 and bob's B2 Pending, A2 and B1 Processing */
#define ALICE_BOB "new A1 user=alice; new B1 user=bob; new A2 user=alice; " \
                  "new A3 user=alice; new B2 user=bob; new A4 user=alice; " \
                  "claim A2 T 1500000 3000000; claim B1 T 1500000 3000000"

/* Oldest first is insertion order: neither the id nor created_at. */
static const list_case_t list_cases[] = {
    { "an empty table is one empty page", "", "limit=50", "", 1 },
    { "an empty table filtered", "", "status=Pending&user_id=42", "", 1 },
    { "oldest first by insertion", "new E; new B; new D; new A; new C", "limit=50", "E,B,D,A,C", 1 },
    /* more follow only when more rows are left: not when the page is
     * filled exactly, nor when it is larger than what is left */
    { "pages that end exactly", "new O1; new O2; new O3; new O4", "limit=2", "O1,O2|O3,O4", 2 },
    { "one page that ends exactly", "new O1; new O2; new O3; new O4", "limit=4", "O1,O2,O3,O4", 1 },
    { "a page and a rest", "new O1; new O2; new O3; new O4", "limit=3", "O1,O2,O3|O4", 2 },
    { "one page larger than the rows", "new O1; new O2; new O3; new O4", "limit=1000", "O1,O2,O3,O4", 1 },
    { "pages of one", "new O1; new O2; new O3; new O4", "limit=1", "O1|O2|O3|O4", 4 },
    { "one user", USERS, "user_id=7", "U1,U3,U6", 1 },
    { "another user", USERS, "user_id=07", "U2", 1 },
    { "a user with a space and an ampersand", USERS, "user_id=a%20b%26c", "U5", 1 },
    /* no LIKE: a plain comparison */
    { "a percent sign", USERS, "user_id=%25", "", 1 },
    { "nobody", USERS, "user_id=nobody", "", 1 },
    { "pages of one user", USERS, "user_id=7&limit=2", "U1,U3|U6", 2 },
    { "Pending", MIXED, "status=Pending", "P1,P2,P3", 1 },
    { "Processing", MIXED, "status=Processing", "R1", 1 },
    { "Completed", MIXED, "status=Completed", "C1", 1 },
    { "Cancelled", MIXED, "status=Cancelled", "X1", 1 },
    { "pages inside a filter", MIXED, "status=Pending&limit=2", "P1,P2|P3", 2 },
    { "alice's Pending", ALICE_BOB, "status=Pending&user_id=alice", "A1,A3,A4", 1 },
    { "alice's Processing", ALICE_BOB, "status=Processing&user_id=alice", "A2", 1 },
    { "bob's Processing", ALICE_BOB, "status=Processing&user_id=bob", "B1", 1 },
    { "bob's Pending", ALICE_BOB, "status=Pending&user_id=bob", "B2", 1 },
    { "bob's Completed", ALICE_BOB, "status=Completed&user_id=bob", "", 1 },
    { "pages of alice's Pending", ALICE_BOB, "status=Pending&user_id=alice&limit=1", "A1|A3|A4", 3 },
};

/* A user sent as an integer comes back one, sent as a string a string,
 * whichever the filter matched. */
static void test_list_keeps_user_id_types(void **state)
{
    fixture_t *fx = *state;
    ord_list_query_t q = list_query(50);
    apr_array_header_t *page;
    apr_int64_t last;

    given(fx, USERS);
    q.user_id = "7";
    page = list_page(fx, &q, &last);
    assert_string_equal(ids_of(fx, page), "U1,U3,U6");
    assert_int_equal(APR_ARRAY_IDX(page, 0, ord_order_t *)->user_id.is_int, 1);
    assert_int_equal(APR_ARRAY_IDX(page, 1, ord_order_t *)->user_id.is_int, 0);
}

/* ------------------------------------------------------------------ */
/* Cancel                                                              */
/* ------------------------------------------------------------------ */

static void test_cancel_pending_order(void **state)
{
    fixture_t *fx = *state;

    given(fx, "new ORD1; new ORD2; cancel ORD1 1700000");

    assert_string_equal(row_of(fx, "ORD1"), "ORD1 Cancelled user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1700000 started=0 completed=0");
    /* Only that one. */
    assert_string_equal(row_of(fx, "ORD2"), "ORD2 Pending user=42 int items=[101,\"a-2\"] amount=14999/2 created=1000000 updated=1000000 started=0 completed=0");
    /* No longer waiting for anybody: not an orphan however late. */
    assert_int_equal(orphans(fx, 99000000, 10)->nelts, 1);
    assert_string_equal(orphan_at(orphans(fx, 99000000, 10), 0)->order_id,
                        "ORD2");
}

static void test_cancel_unknown_is_notfound(void **state)
{
    fixture_t *fx = *state;

    given(fx, "cancel NOPE 1700000 -> NOTFOUND; new ORD1; "
              "cancel ord1 1700000 -> NOTFOUND");
    assert_int_equal(ord_store_cancel(&fx->conn, fx->pool, "' OR '1'='1",
                                      1700000), APR_NOTFOUND);
    assert_int_equal(count_rows(fx), 1);
    assert_int_equal(get_ok(fx, "ORD1")->status, ORD_PENDING);
}

/* ------------------------------------------------------------------ */
/* Populate: batches and bulk inserts                                  */
/* ------------------------------------------------------------------ */

static void test_batch_create_once_per_id(void **state)
{
    fixture_t *fx = *state;
    int created = -1;

    assert_int_equal(ord_store_batch_create(&fx->conn, fx->pool, "b-1", 250,
                                            CREATED, &created), APR_SUCCESS);
    assert_int_equal(created, 1);
    created = -1;
    assert_int_equal(ord_store_batch_create(&fx->conn, fx->pool, "b-1", 7,
                                            LEASE, &created), APR_SUCCESS);
    assert_int_equal(created, 0);
    created = -1;
    assert_int_equal(ord_store_batch_create(&fx->conn, fx->pool, "b-2", 7,
                                            LEASE, &created), APR_SUCCESS);
    assert_int_equal(created, 1);

    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM order_batches"), 2);
    /* The first one is kept as it was. */
    assert_int_equal(query_int(fx, "SELECT total_entries FROM order_batches "
                                   "WHERE batch_id = 'b-1'"), 250);
    assert_int_equal(query_int(fx, "SELECT created_us FROM order_batches "
                                   "WHERE batch_id = 'b-1'"), CREATED);
    assert_int_equal(count_rows(fx), 0);
}

/* `n` orders "{prefix}-{first}".."{prefix}-{first+n-1}", user = their
 * number, created at CREATED + number. */
static ord_order_t **make_orders(fixture_t *fx, const char *prefix,
                                 int first, int n)
{
    ord_order_t **list = apr_pcalloc(fx->pool, (apr_size_t)n * sizeof(*list));
    int i;

    for (i = 0; i < n; i++) {
        ord_order_t *o = apr_palloc(fx->pool, sizeof(*o));
        *o = sample_order(apr_psprintf(fx->pool, "%s-%d", prefix, first + i));
        o->user_id.text = apr_itoa(fx->pool, first + i);
        o->item_ids_json = apr_psprintf(fx->pool, "[%d]", first + i);
        o->total_amount.cents = 100 + first + i;
        o->created_at = CREATED + first + i;
        o->updated_at = o->created_at;
        list[i] = o;
    }
    return list;
}

static void check_made_order(fixture_t *fx, const char *prefix, int number)
{
    ord_order_t *got = get_ok(fx, apr_psprintf(fx->pool, "%s-%d", prefix,
                                                number));

    assert_string_equal(got->user_id.text, apr_itoa(fx->pool, number));
    assert_int_equal(got->user_id.is_int, 1);
    assert_string_equal(got->item_ids_json,
                        apr_psprintf(fx->pool, "[%d]", number));
    assert_int_equal(got->total_amount.cents, 100 + number);
    assert_int_equal(got->total_amount.scale, 2);
    assert_int_equal(got->status, ORD_PENDING);
    assert_int_equal(got->created_at, CREATED + number);
}

static void test_insert_all_250_orders(void **state)
{
    fixture_t *fx = *state;
    ord_order_t **list = make_orders(fx, "B", 1, 250);
    apr_array_header_t *ids = NULL;
    unsigned int statements = ord_db_statement_count(&fx->conn);
    int inserted = -1;
    static const int probe[] = { 1, 99, 100, 101, 200, 201, 250 };
    size_t i;

    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, list, 250,
                                          LEASE, &inserted), APR_SUCCESS);
    assert_int_equal(inserted, 250);
    assert_int_equal(count_rows(fx), 250);
    /* More than one statement (a hundred rows each). */
    assert_true(ord_db_statement_count(&fx->conn) >= statements + 2);
    for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        check_made_order(fx, "B", probe[i]);
    }
    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM orders WHERE "
                                   "lease_until_us = 2000000 AND status = "
                                   "'Pending'"), 250);
    /* Stored in the order given. */
    assert_int_equal(ord_store_order_ids(&fx->conn, fx->pool, ORD_PENDING,
                                         1000, &ids), APR_SUCCESS);
    assert_int_equal(ids->nelts, 250);
    for (i = 0; i < 250; i++) {
        assert_string_equal(APR_ARRAY_IDX(ids, i, const char *),
                            apr_psprintf(fx->pool, "B-%d", (int)i + 1));
    }
}

static void test_insert_all_skips_existing_ids(void **state)
{
    fixture_t *fx = *state;
    ord_order_t **first = make_orders(fx, "B", 1, 250);
    ord_order_t **again = apr_pcalloc(fx->pool, 15 * sizeof(*again));
    ord_order_t **fresh = make_orders(fx, "N", 1, 10);
    ord_order_t **old = make_orders(fx, "B", 120, 5);
    int inserted = -1, i;

    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, first, 250,
                                          LEASE, &inserted), APR_SUCCESS);
    assert_int_equal(inserted, 250);

    /* B-120..B-124 again with other content, between the new ones. */
    for (i = 0; i < 5; i++) {
        old[i]->user_id.text = "999";
        old[i]->user_id.is_int = 0;
        old[i]->item_ids_json = "[\"changed\"]";
        old[i]->total_amount.cents = 1;
        old[i]->created_at = 99000000;
    }
    for (i = 0; i < 15; i++) {
        again[i] = i % 3 == 1 ? old[i / 3] : fresh[i - (i + 1) / 3];
    }
    inserted = -1;
    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, again, 15,
                                          5000000, &inserted), APR_SUCCESS);
    assert_int_equal(inserted, 10);
    assert_int_equal(count_rows(fx), 260);
    for (i = 120; i < 125; i++) {
        check_made_order(fx, "B", i);
    }
    for (i = 1; i <= 10; i++) {
        check_made_order(fx, "N", i);
    }
    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM orders WHERE "
                                   "lease_until_us = 5000000"), 10);
}

static void test_insert_all_of_nothing(void **state)
{
    fixture_t *fx = *state;
    int inserted = -1;

    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, NULL, 0,
                                          LEASE, &inserted), APR_SUCCESS);
    assert_int_equal(inserted, 0);
    assert_int_equal(count_rows(fx), 0);
}

/* A statement that fails stores none of its rows; those of the statements
 * before it stay, and *inserted counts them. */
static void test_insert_all_failure_keeps_earlier_statements(void **state)
{
    fixture_t *fx = *state;
    ord_order_t **list = make_orders(fx, "B", 1, 250);
    int inserted = -1;

    list[149]->item_ids_json = NULL;    /* NOT NULL: B-150 fails */
    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, list, 250,
                                          LEASE, &inserted), APR_EGENERAL);
    assert_int_equal(inserted, 100);
    assert_int_equal(count_rows(fx), 100);
    check_made_order(fx, "B", 100);
    assert_int_equal(query_int(fx, "SELECT COUNT(*) FROM orders WHERE "
                                   "order_id = 'B-101'"), 0);
}

/* ------------------------------------------------------------------ */
/* Order ids                                                           */
/* ------------------------------------------------------------------ */

static const char *ids_joined(fixture_t *fx, ord_status_e status, int max)
{
    apr_array_header_t *ids = NULL;
    const char *s = "";
    int i;

    assert_int_equal(ord_store_order_ids(&fx->conn, fx->pool, status, max,
                                         &ids), APR_SUCCESS);
    assert_non_null(ids);
    assert_true(ids->nelts <= max);
    for (i = 0; i < ids->nelts; i++) {
        s = apr_pstrcat(fx->pool, s, i ? "," : "",
                        APR_ARRAY_IDX(ids, i, const char *), NULL);
    }
    return s;
}

static void test_order_ids_oldest_first_per_status_at_most_max(void **state)
{
    fixture_t *fx = *state;

    assert_string_equal(ids_joined(fx, ORD_PENDING, 10), "");
    given(fx, "new E; new B; new D; new A; new C; new F");
    /* Claimed newest first: the list is still oldest first. */
    given(fx, "claim C T 1500000 3000000; claim B T 1600000 3000000; "
              "claim A T 1700000 3000000; complete A T 1800000; "
              "cancel F 1700000");

    assert_string_equal(ids_joined(fx, ORD_PENDING, 10), "E,D");
    assert_string_equal(ids_joined(fx, ORD_PENDING, 1), "E");
    assert_string_equal(ids_joined(fx, ORD_PROCESSING, 10), "B,C");
    assert_string_equal(ids_joined(fx, ORD_PROCESSING, 1), "B");
    assert_string_equal(ids_joined(fx, ORD_COMPLETED, 10), "A");
    assert_string_equal(ids_joined(fx, ORD_CANCELLED, 10), "F");
}

static void test_order_ids_max_respected_on_many(void **state)
{
    fixture_t *fx = *state;
    ord_order_t **list = make_orders(fx, "B", 1, 30);
    int inserted = -1;

    assert_int_equal(ord_store_insert_all(&fx->conn, fx->pool, list, 30,
                                          LEASE, &inserted), APR_SUCCESS);
    assert_int_equal(inserted, 30);
    assert_string_equal(ids_joined(fx, ORD_PENDING, 3), "B-1,B-2,B-3");
    assert_string_equal(ids_joined(fx, ORD_PENDING, 30),
                        ids_joined(fx, ORD_PENDING, 31));
    assert_string_equal(ids_joined(fx, ORD_PROCESSING, 30), "");
}

/* ------------------------------------------------------------------ */
/* Processing-time histogram                                           */
/* ------------------------------------------------------------------ */

static void test_processing_bounds_increase(void **state)
{
    int i;

    (void)state;
    assert_true(ord_processing_bounds_us[0] > 0);
    for (i = 1; i < ORD_PROCESSING_BUCKETS - 1; i++) {
        assert_true(ord_processing_bounds_us[i]
                    > ord_processing_bounds_us[i - 1]);
    }
}

static void test_processing_bucket_of_each_bound(void **state)
{
    const int last = ORD_PROCESSING_BUCKETS - 1;
    int i;

    (void)state;
    assert_int_equal(ord_processing_bucket(0), 0);
    assert_int_equal(ord_processing_bucket(1), 0);
    assert_int_equal(ord_processing_bucket(-5), 0);
    for (i = 0; i < last; i++) {
        apr_int64_t b = ord_processing_bounds_us[i];
        /* A time equal to a bound is in that bound's bucket. */
        assert_int_equal(ord_processing_bucket(b), i);
        assert_int_equal(ord_processing_bucket(b + 1), i + 1);
        assert_int_equal(ord_processing_bucket(b - 1),
                         i == 0 || b - 1 > ord_processing_bounds_us[i - 1]
                             ? i : i - 1);
    }
    assert_int_equal(ord_processing_bucket(ord_processing_bounds_us[last - 1]
                                           + 1), last);
    assert_int_equal(ord_processing_bucket(APR_INT64_C(86400000000)), last);
    /* The bounds as the store's SQL has them. */
    assert_int_equal(ord_processing_bucket(50000), 0);
    assert_int_equal(ord_processing_bucket(50001), 1);
    assert_int_equal(ord_processing_bucket(1000000), 4);
    assert_int_equal(ord_processing_bucket(60000000), last - 1);
    assert_int_equal(ord_processing_bucket(60000001), last);
}

/* A Completed order whose processing took `duration` us. */
static void insert_completed(fixture_t *fx, const char *id,
                             apr_int64_t started, apr_int64_t duration)
{
    insert_new(fx, id, CREATED, LEASE);
    assert_int_equal(claim(fx, id, ORD_PENDING, "A", started,
                           started + duration + 1000000, NULL), APR_SUCCESS);
    assert_int_equal(complete(fx, id, "A", started + duration), APR_SUCCESS);
}

static void test_totals_processing_buckets(void **state)
{
    static const apr_int64_t durations[] = {
        0, 1, 50000, 50001, 100000, 250000, 250001, 1000000, 2000000,
        3000000, 5000000, 10000000, 30000000, 60000000, 60000001,
        APR_INT64_C(3600000000)
    };
    static const apr_uint64_t want[ORD_PROCESSING_BUCKETS] = {
        3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2
    };
    fixture_t *fx = *state;
    ord_store_totals_t t;
    apr_uint64_t total = 0;
    size_t i;

    for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        insert_completed(fx, apr_psprintf(fx->pool, "C%d", (int)i),
                         1500000 + (apr_int64_t)i, durations[i]);
    }
    /* Not Completed: in no bucket. */
    given(fx, "new P; new R; claim R A 1500000 3000000; new X; "
              "cancel X 1600000");

    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &t), APR_SUCCESS);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        if (t.processing_buckets[i] != want[i]) {
            print_error("bucket %d holds %llu, want %llu\n", (int)i,
                        (unsigned long long)t.processing_buckets[i],
                        (unsigned long long)want[i]);
        }
        assert_int_equal(t.processing_buckets[i], want[i]);
        total += t.processing_buckets[i];
    }
    /* The same as the module's own bucketing. */
    for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        assert_true(want[ord_processing_bucket(durations[i])] > 0);
    }
    assert_int_equal(total, t.count[ORD_COMPLETED]);
    assert_int_equal(t.count[ORD_COMPLETED], 16);
    assert_int_equal(t.count[ORD_CANCELLED], 1);
}

/* Each bound and one microsecond above it, against ord_processing_bucket:
 * the SQL and the C agree on every bound. */
static void test_totals_buckets_agree_with_bucket_function(void **state)
{
    fixture_t *fx = *state;
    apr_uint64_t want[ORD_PROCESSING_BUCKETS];
    ord_store_totals_t t;
    int i;

    memset(want, 0, sizeof(want));
    for (i = 0; i < ORD_PROCESSING_BUCKETS - 1; i++) {
        apr_int64_t b = ord_processing_bounds_us[i];
        insert_completed(fx, apr_psprintf(fx->pool, "at%d", i), 1500000, b);
        insert_completed(fx, apr_psprintf(fx->pool, "above%d", i), 1500000,
                         b + 1);
        want[ord_processing_bucket(b)]++;
        want[ord_processing_bucket(b + 1)]++;
    }
    assert_int_equal(want[0], 1);
    assert_int_equal(want[ORD_PROCESSING_BUCKETS - 1], 1);

    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &t), APR_SUCCESS);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        if (t.processing_buckets[i] != want[i]) {
            print_error("bucket %d holds %llu, want %llu\n", i,
                        (unsigned long long)t.processing_buckets[i],
                        (unsigned long long)want[i]);
        }
        assert_int_equal(t.processing_buckets[i], want[i]);
    }
}

static void test_totals_buckets_empty_without_completed(void **state)
{
    fixture_t *fx = *state;
    ord_store_totals_t t;
    int i;

    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &t), APR_SUCCESS);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        assert_int_equal(t.processing_buckets[i], 0);
    }
    given(fx, "new P");
    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(ord_store_totals(&fx->conn, fx->pool, &t), APR_SUCCESS);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        assert_int_equal(t.processing_buckets[i], 0);
    }
}


/* ------------------------------------------------------------------ */
/* Prepared statements                                                 */
/* ------------------------------------------------------------------ */

static void test_statements_are_prepared_once_per_connection(void **state)
{
    fixture_t *fx = *state;
    unsigned int after_first;

    given(fx, "new ORD1");
    after_first = ord_db_statement_count(&fx->conn);
    assert_true(after_first >= 1);
    given(fx, "new ORD2; new ORD3");
    assert_int_equal(ord_db_statement_count(&fx->conn), after_first);

    get_ok(fx, "ORD1");
    after_first = ord_db_statement_count(&fx->conn);
    get_ok(fx, "ORD2");
    get_ok(fx, "ORD3");
    assert_int_equal(ord_db_statement_count(&fx->conn), after_first);
}

#define STEST(f) cmocka_unit_test_setup_teardown(f, setup_with_schema, \
                                                 unit_sqlite_teardown)
#define ETEST(f) cmocka_unit_test_setup_teardown(f, setup_empty, \
                                                 unit_sqlite_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ETEST(test_ensure_schema_creates_table_and_indexes),
        ETEST(test_ensure_schema_twice_succeeds_and_keeps_rows),
        ETEST(test_without_schema_calls_fail_egeneral_then_recover),
        STEST(test_statements_survive_a_schema_change_by_another_connection),
        STEST(test_insert_new_id_reports_created_and_stores_one_row),
        STEST(test_insert_existing_id_reports_not_created_and_keeps_original),
        STEST(test_get_returns_every_field_as_inserted),
        STEST(test_get_keeps_integer_order_id_and_string_user_id),
        STEST(test_get_keeps_amount_exact_at_limits_and_scales),
        STEST(test_get_unknown_id_is_notfound_and_leaves_output),
        STEST(test_injection_looking_text_is_stored_verbatim),
        STEST(test_claim_pending_succeeds_and_returns_created_at),
        STEST(test_second_claim_from_pending_is_notfound),
        UNIT_TABLE(state_cases),
        STEST(test_complete_twice_reports_the_first_completion),
        STEST(test_claim_twice_reports_the_first_claim),
        STEST(test_complete_of_unclaimed_or_unknown_order_is_notfound),
        STEST(test_orphans_lists_unfinished_orders_whose_lease_ended),
        STEST(test_orphans_are_oldest_lease_first_and_at_most_max),
        STEST(test_orphans_excludes_lease_ending_exactly_now),
        STEST(test_orphans_of_empty_table_is_empty),
        STEST(test_orphan_listed_at_now_is_claimable_at_now),
        STEST(test_totals_count_each_status_and_sum_completed_durations),
        STEST(test_totals_of_empty_table_are_zero),
        STEST(test_backlog_counts_pending_events_and_the_oldest_time),
        STEST(test_due_deliveries_follow_order_time_and_leases),
        STEST(test_a_round_is_taken_and_recorded_at_once),
        { "test_a_round_is_taken_and_recorded_at_once_without_returning",
          test_a_round_is_taken_and_recorded_at_once,
          setup_without_returning, unit_sqlite_teardown, NULL },
        STEST(test_totals_without_completed_orders_have_zero_sums),
        UNIT_TABLE(list_cases),
        STEST(test_list_keeps_user_id_types),
        STEST(test_list_returns_every_field),
        STEST(test_list_limit_and_next_page_without_overlap),
        STEST(test_list_after_the_last_order_is_empty),
        STEST(test_list_pages_stay_right_while_orders_are_added),
        STEST(test_cancel_pending_order),
        STEST(test_cancel_unknown_is_notfound),
        STEST(test_batch_create_once_per_id),
        STEST(test_insert_all_250_orders),
        STEST(test_insert_all_skips_existing_ids),
        STEST(test_insert_all_of_nothing),
        STEST(test_insert_all_failure_keeps_earlier_statements),
        STEST(test_order_ids_oldest_first_per_status_at_most_max),
        STEST(test_order_ids_max_respected_on_many),
        cmocka_unit_test(test_processing_bounds_increase),
        cmocka_unit_test(test_processing_bucket_of_each_bound),
        STEST(test_totals_processing_buckets),
        STEST(test_totals_buckets_agree_with_bucket_function),
        STEST(test_totals_buckets_empty_without_completed),
        STEST(test_statements_are_prepared_once_per_connection),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
