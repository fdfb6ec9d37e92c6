/*
 * ord_db: what a session that ends, a statement that goes missing and a
 * full disk do to a connection, and the faults each dialect reads in the
 * driver's words.
 *
 * A real PostgreSQL session cannot be reset or made to lose a statement on
 * demand, so a stand-in does it: it runs every call on a real SQLite file
 * through apr_dbd, and on request answers as the pgsql driver does (code 7,
 * PGRES_FATAL_ERROR, and libpq's words) when the session was ended by the
 * server, when a statement was prepared on an earlier session, or when the
 * disk is full.  ord_incident's one-line-per-incident rule is tested here
 * too, as a table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "unit_support.h"
#include "unit_sqlite.h"

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_db.h"
#include "ord_incident.h"
#include "ord_store.h"
#include "ord_writer.h"

/* PGRES_FATAL_ERROR, what the pgsql driver returns for every failure. */
#define PG_FATAL 7

static const char lost_words[] =
    "server closed the connection unexpectedly\n"
    "\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request.\n";
static const char full_words[] =
    "ERROR:  could not extend file \"base/16384/16390\": No space left on "
    "device\nHINT:  Check free disk space.\n";

/* ---- the stand-in -------------------------------------------------- */

typedef struct {
    unsigned int session;       /* a new one at each reset */
    int broken;                 /* the server ended the session */
    int end_session_next;       /* the next call finds the session ended */
    int full_next;              /* the next write finds the disk full */
    int reset_fails;            /* the server does not answer a reset */
    int in_aborted_tx;          /* PostgreSQL: failed statement, until
                                 * ROLLBACK */
    apr_hash_t *prepared_on;    /* stmt -> session it was prepared on */
    char words[512];            /* what error() says */
    int writes;                 /* pquery calls that reached SQLite */
    int begins;                 /* BEGINs that reached SQLite */
    int checks;
    int serialized;                 /* times it ran */
    int writes_before_serialized;   /* writes when it last ran */
    int isolations;                 /* the dialect's writes_isolation */
    int begins_before_isolation;    /* BEGINs when it last ran */
    apr_pool_t *pool;
} standin_t;

static standin_t *standin(ord_db_t *c)
{
    return c->ctx;
}

/* 0 when the call may go on to SQLite, else the pgsql driver's answer. */
static int session_fault(ord_db_t *c, apr_dbd_prepared_t *stmt, int write)
{
    standin_t *st = standin(c);

    if (st->end_session_next) {
        st->end_session_next = 0;
        st->broken = 1;
    }
    if (st->broken) {
        apr_cpystrn(st->words, lost_words, sizeof(st->words));
        return PG_FATAL;
    }
    if (st->in_aborted_tx) {
        apr_cpystrn(st->words, "ERROR:  current transaction is aborted, "
                    "commands ignored until end of transaction block\n",
                    sizeof(st->words));
        return PG_FATAL;
    }
    if (stmt) {
        unsigned int *on = apr_hash_get(st->prepared_on, &stmt,
                                        sizeof(stmt));
        if (!on || *on != st->session) {
            apr_snprintf(st->words, sizeof(st->words), "ERROR:  prepared "
                         "statement \"ord_x\" does not exist\n");
            return PG_FATAL;
        }
    }
    if (write && st->full_next) {
        st->full_next = 0;
        apr_cpystrn(st->words, full_words, sizeof(st->words));
        return PG_FATAL;
    }
    return 0;
}

/* A failure inside a transaction aborts it, as PostgreSQL does. */
static int answer(ord_db_t *c, int code)
{
    if (code && c->in_transaction && !standin(c)->broken) {
        standin(c)->in_aborted_tx = 1;
    }
    return code;
}

static int st_prepare(ord_db_t *c, apr_pool_t *p, const char *sql,
                      const char *label, apr_dbd_prepared_t **stmt)
{
    standin_t *st = standin(c);
    unsigned int *on;
    int code = session_fault(c, NULL, 0);

    if (code) {
        return answer(c, code);
    }
    code = ord_db_apr_ops.prepare(c, p, sql, label, stmt);
    if (code == 0) {
        apr_dbd_prepared_t **key = apr_pmemdup(st->pool, stmt, sizeof(*stmt));
        on = apr_palloc(st->pool, sizeof(*on));
        *on = st->session;
        apr_hash_set(st->prepared_on, key, sizeof(*key), on);
    }
    return code;
}

static int st_pquery(ord_db_t *c, apr_pool_t *p, int *nrows,
                     apr_dbd_prepared_t *stmt, int nargs, const char **args)
{
    int code = session_fault(c, stmt, 1);

    if (code) {
        return answer(c, code);
    }
    standin(c)->writes++;
    return ord_db_apr_ops.pquery(c, p, nrows, stmt, nargs, args);
}

static int st_pselect(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                      apr_dbd_prepared_t *stmt, int nargs, const char **args)
{
    int code = session_fault(c, stmt, 0);

    return code ? answer(c, code)
                : ord_db_apr_ops.pselect(c, p, res, stmt, nargs, args);
}

static int st_query(ord_db_t *c, int *nrows, const char *sql)
{
    standin_t *st = standin(c);
    int is_end = strcmp(sql, "ROLLBACK") == 0 || strcmp(sql, "COMMIT") == 0;
    int code;

    if (is_end && st->in_aborted_tx && !st->broken) {
        /* PostgreSQL ends an aborted transaction with either. */
        st->in_aborted_tx = 0;
        return ord_db_apr_ops.query(c, nrows, "ROLLBACK");
    }
    code = session_fault(c, NULL, 0);
    if (code) {
        return answer(c, code);
    }
    if (strncmp(sql, "BEGIN", 5) == 0) {
        st->begins++;
    }
    if (c->dialect->writes_isolation
        && strcmp(sql, c->dialect->writes_isolation) == 0) {
        /* Counted, not run: SQLite has no such statement. */
        st->isolations++;
        st->begins_before_isolation = st->begins;
        *nrows = 0;
        return 0;
    }
    return ord_db_apr_ops.query(c, nrows, sql);
}

static int st_select(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                     const char *sql)
{
    standin_t *st = standin(c);
    int code = session_fault(c, NULL, 0);

    if (code == 0 && c->dialect->serialize_writes
        && strcmp(sql, c->dialect->serialize_writes) == 0) {
        st->serialized++;
        st->writes_before_serialized = st->writes;
    }

    return code ? answer(c, code) : ord_db_apr_ops.select(c, p, res, sql);
}

static const char *st_error(ord_db_t *c, int code)
{
    return standin(c)->words;
}

/* apr_dbd_check_conn of the pgsql driver: PQreset when the session broke,
 * which opens a new session without the old one's statements.  SQLite
 * rolls back what the ended session had open, as the server does. */
static apr_status_t st_check(ord_db_t *c, apr_pool_t *p)
{
    standin_t *st = standin(c);
    int nrows;

    st->checks++;
    if (!st->broken) {
        return APR_SUCCESS;
    }
    if (st->reset_fails) {
        apr_cpystrn(st->words, "could not connect to server: Connection "
                    "refused\n", sizeof(st->words));
        return APR_EGENERAL;
    }
    ord_db_apr_ops.query(c, &nrows, "ROLLBACK");
    st->broken = 0;
    st->in_aborted_tx = 0;
    st->session++;
    return APR_SUCCESS;
}

/* apr_dbd's own ops (rows and entries as they are), with the faults put
 * in front of the others; set up by setup(). */
static ord_db_ops_t standin_ops;

/* SQLite's SQL, PostgreSQL's words for failures. */
static ord_sql_dialect_t standin_dialect;

/* ---- fixture ---------------------------------------------------------- */

typedef struct {
    unit_sqlite_t db;           /* first: unit_sqlite_setup's fixture */
    standin_t st;
} fixture_t;

/* A real SQLite file with the schema, then the stand-in in front of it. */
static int setup(void **state)
{
    fixture_t *fx;

    if (unit_sqlite_setup(state, sizeof(fixture_t), 1) != 0) {
        return -1;
    }
    fx = *state;
    standin_ops = ord_db_apr_ops;
    standin_ops.prepare = st_prepare;
    standin_ops.pquery = st_pquery;
    standin_ops.pselect = st_pselect;
    standin_ops.query = st_query;
    standin_ops.select = st_select;
    standin_ops.error = st_error;
    standin_ops.check = st_check;
    standin_dialect = ord_sql_sqlite3;
    standin_dialect.classify = ord_sql_pgsql.classify;
    fx->st.pool = fx->db.pool;
    fx->st.prepared_on = apr_hash_make(fx->db.pool);
    fx->db.conn.ops = &standin_ops;
    fx->db.conn.dialect = &standin_dialect;
    fx->db.conn.ctx = &fx->st;
    return 0;
}

/* The connection as the next user (a request, the writer) finds it: the
 * same handle and statement cache, a fresh record of failures. */
static ord_db_t *reuse(fixture_t *fx)
{
    ord_db_reset_error(&fx->db.conn);
    fx->db.conn.in_transaction = 0;
    return &fx->db.conn;
}

static ord_order_t *order(fixture_t *fx, const char *id)
{
    ord_order_t *o = apr_pcalloc(fx->db.pool, sizeof(*o));

    o->order_id.text = id;
    o->user_id.text = "7";
    o->user_id.is_int = 1;
    o->item_ids_json = "[1]";
    o->total_amount.cents = 100;
    o->total_amount.scale = 2;
    o->created_at = o->updated_at = 1000000;
    return o;
}

static apr_status_t insert(fixture_t *fx, const char *id, int *created)
{
    return ord_store_insert(&fx->db.conn, fx->db.pool, order(fx, id), 2000000,
                            created);
}

static apr_status_t get(fixture_t *fx, const char *id)
{
    ord_order_t *o = NULL;

    return ord_store_get(&fx->db.conn, fx->db.pool, id, &o);
}

/* Stores ORD1 and reads it once, so that both statements are prepared on
 * the first session. */
static void stored_and_read(fixture_t *fx)
{
    int created = 0;

    assert_int_equal(insert(fx, "ORD1", &created), APR_SUCCESS);
    assert_int_equal(created, 1);
    assert_int_equal(get(fx, "ORD1"), APR_SUCCESS);
}

/* ---- a session that ends ----------------------------------------------- */

/* The server ended the session while the connection was idle: the next
 * read finds it, the connection opens a new session and reads again, and
 * the caller sees the order, not an error and never "not found". */
static void test_read_on_an_ended_session_runs_again_on_a_new_one(void **state)
{
    fixture_t *fx = *state;

    stored_and_read(fx);
    fx->st.end_session_next = 1;
    assert_int_equal(get(fx, "ORD1"), APR_SUCCESS);
    assert_int_equal(fx->st.session, 1);
    assert_int_equal(fx->st.checks, 1);
    assert_int_equal(ord_db_fault(&fx->db.conn), 0);
    /* An order that is not there is still not there, on the new session. */
    assert_int_equal(get(fx, "nope"), APR_NOTFOUND);
}

/* A read whose session ended while the server does not answer: an error
 * with the cause, after one attempt to reconnect (no loop, no sleep). */
static void test_read_when_the_server_is_away_fails_with_the_cause(void **state)
{
    fixture_t *fx = *state;

    stored_and_read(fx);
    fx->st.end_session_next = 1;
    fx->st.reset_fails = 1;
    assert_int_equal(get(fx, "ORD1"), APR_EGENERAL);
    assert_int_equal(fx->st.checks, 1);
    assert_int_equal(ord_db_fault(&fx->db.conn), ORD_DB_LOST);
    assert_non_null(strstr(ord_db_error(&fx->db.conn),
                           "server closed the connection unexpectedly"));
    /* One log line: libpq's trailing newline is gone. */
    assert_null(strchr(ord_db_error(&fx->db.conn) + strlen(ord_db_error(
                           &fx->db.conn)) - 1, '\n'));
}

/* A write that finds its session ended may have reached the server before
 * the session went: it is never run twice.  The next user, after mod_dbd's
 * check opened a new session, prepares its statements again. */
static void test_write_on_an_ended_session_is_not_run_twice(void **state)
{
    fixture_t *fx = *state;
    int created = -1, writes;

    stored_and_read(fx);
    writes = fx->st.writes;
    fx->st.end_session_next = 1;
    assert_int_equal(insert(fx, "ORD2", &created), APR_EGENERAL);
    assert_int_equal(fx->st.writes, writes);
    assert_int_equal(created, -1);
    assert_int_equal(ord_db_fault(&fx->db.conn), ORD_DB_LOST);
    assert_int_equal(ord_db_statement_count(&fx->db.conn), 0);

    assert_int_equal(fx->db.conn.ops->check(&fx->db.conn, fx->db.pool), APR_SUCCESS);
    reuse(fx);
    assert_int_equal(insert(fx, "ORD2", &created), APR_SUCCESS);
    assert_int_equal(created, 1);
}

/* A session opened anew behind the connection's back (the driver's check
 * ran PQreset) has none of its statements: each is prepared again and the
 * call, which never ran, goes through, a write included. */
static void test_statements_missing_after_a_reset_are_prepared_again(
    void **state)
{
    fixture_t *fx = *state;
    int created = 0, writes;

    stored_and_read(fx);
    fx->st.session++;
    assert_int_equal(get(fx, "ORD1"), APR_SUCCESS);
    writes = fx->st.writes;
    assert_int_equal(insert(fx, "ORD2", &created), APR_SUCCESS);
    assert_int_equal(created, 1);
    /* Once each: the INSERT and its event (ord_store's outbox). */
    assert_int_equal(fx->st.writes, writes + 2);
    assert_int_equal(ord_db_fault(&fx->db.conn), 0);
}

/* Inside a transaction nothing is run again (the server aborted it); the
 * first failure is kept through the failing statements after it and the
 * ROLLBACK, and the next transaction works on prepared-again statements. */
static void test_missing_statement_in_a_transaction_fails_it_once(void **state)
{
    fixture_t *fx = *state;
    int created = 0;

    stored_and_read(fx);
    fx->st.session++;
    assert_int_equal(ord_db_begin(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(insert(fx, "ORD2", &created), APR_EGENERAL);
    assert_int_equal(insert(fx, "ORD3", &created), APR_EGENERAL);
    ord_db_rollback(&fx->db.conn);
    assert_int_equal(ord_db_fault(&fx->db.conn), ORD_DB_STALE);
    assert_non_null(strstr(ord_db_error(&fx->db.conn), "does not exist"));

    reuse(fx);
    assert_int_equal(ord_db_begin(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(insert(fx, "ORD2", &created), APR_SUCCESS);
    assert_int_equal(ord_db_commit(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(get(fx, "ORD2"), APR_SUCCESS);
    assert_int_equal(get(fx, "ORD3"), APR_NOTFOUND);
}

/* BEGIN on a session that ended while idle has lost nothing: it opens a
 * new session and begins there. */
static void test_begin_on_an_ended_session_begins_on_a_new_one(void **state)
{
    fixture_t *fx = *state;
    int created = 0;

    stored_and_read(fx);
    fx->st.end_session_next = 1;
    assert_int_equal(ord_db_begin(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(fx->st.session, 1);
    assert_int_equal(insert(fx, "ORD2", &created), APR_SUCCESS);
    assert_int_equal(ord_db_commit(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(get(fx, "ORD2"), APR_SUCCESS);
}

/* ---- writers in event order ------------------------------------------- */

/* What one transaction does, and how often serialize_writes ran in it. */
typedef struct {
    const char *what;
    int writer;                 /* ord_db_begin_writes, else ord_db_begin */
    int orders;                 /* inserted, each with its created event */
    int leases;                 /* lease renewals: no event */
    int serialized;
} serialize_case_t;

static const serialize_case_t serialize_cases[] = {
    { "a writer's orders", 1, 2, 0, 1 },
    { "a writer's lease alone", 1, 0, 1, 0 },
    { "a writer's lease, then an order", 1, 1, 1, 1 },
    { "no writer's transaction", 0, 1, 0, 0 },
};

/* serialize_writes (MariaDB's lock of the row 'event-writer') runs once in
 * a writer's transaction that writes events, after the writes that come
 * before its first event and before that event, and not at all in one
 * that writes none. */
static void test_writers_serialize_from_their_first_event(void **state)
{
    fixture_t *fx = *state;
    apr_size_t i;
    int n = 0;

    standin_dialect.serialize_writes =
        "SELECT until_us FROM order_leases WHERE name = 'recovery'";
    standin_dialect.writes_isolation = ord_sql_mysql.writes_isolation;
    for (i = 0; i < sizeof(serialize_cases) / sizeof(serialize_cases[0]);
         i++) {
        const serialize_case_t *sc = &serialize_cases[i];
        ord_db_t *c = reuse(fx);
        int k, created = 0, writes, took = 0;

        fx->st.serialized = 0;
        assert_int_equal(sc->writer ? ord_db_begin_writes(c, fx->db.pool)
                                    : ord_db_begin(c), APR_SUCCESS);
        for (k = 0; k < sc->leases; k++) {
            assert_int_equal(ord_store_lease(c, fx->db.pool, "recovery",
                                             "me", 1, 10, &took),
                             APR_SUCCESS);
        }
        writes = fx->st.writes;
        for (k = 0; k < sc->orders; k++) {
            char *id = apr_psprintf(fx->db.pool, "SER%d", n++);
            assert_int_equal(insert(fx, id, &created), APR_SUCCESS);
            assert_int_equal(created, 1);
        }
        assert_int_equal(ord_db_commit(c), APR_SUCCESS);
        if (fx->st.serialized != sc->serialized) {
            fail_msg("%s: serialize_writes ran %d times, expected %d",
                     sc->what, fx->st.serialized, sc->serialized);
        }
        /* The first order's INSERT ran before it, its event after. */
        if (sc->serialized
            && fx->st.writes_before_serialized != writes + 1) {
            fail_msg("%s: it ran after %d writes, expected %d", sc->what,
                     fx->st.writes_before_serialized, writes + 1);
        }
    }
    /* writes_isolation ran before the BEGIN of each writer's transaction
     * and of no other. */
    assert_int_equal(fx->st.isolations, 3);
    assert_int_equal(fx->st.begins_before_isolation, fx->st.begins - 2);
    /* Nothing is left to run after the COMMIT. */
    fx->st.serialized = 0;
    assert_int_equal(ord_db_before_events(reuse(fx), fx->db.pool),
                     APR_SUCCESS);
    assert_int_equal(fx->st.serialized, 0);
}

/* A session that ended while idle fails the writer's isolation statement
 * first: BEGIN still opens a new session and the batch goes on there. */
static void test_writer_begins_on_a_new_session_after_its_isolation_failed(
    void **state)
{
    fixture_t *fx = *state;
    int created = 0;

    standin_dialect.writes_isolation = ord_sql_mysql.writes_isolation;
    stored_and_read(fx);
    fx->st.end_session_next = 1;
    assert_int_equal(ord_db_begin_writes(reuse(fx), fx->db.pool),
                     APR_SUCCESS);
    assert_int_equal(fx->st.session, 1);
    assert_int_equal(ord_db_fault(&fx->db.conn), 0);
    assert_int_equal(insert(fx, "ORD2", &created), APR_SUCCESS);
    assert_int_equal(ord_db_commit(&fx->db.conn), APR_SUCCESS);
    assert_int_equal(get(fx, "ORD2"), APR_SUCCESS);
}

/* A full disk: the cause is the first failure's words, not the failing
 * ROLLBACK's ("cannot rollback - no transaction is active" with SQLite). */
static void test_full_disk_is_named_and_survives_the_rollback(void **state)
{
    fixture_t *fx = *state;
    int created = 0;

    stored_and_read(fx);
    assert_int_equal(ord_db_begin(&fx->db.conn), APR_SUCCESS);
    fx->st.full_next = 1;
    assert_int_equal(insert(fx, "ORD2", &created), APR_EGENERAL);
    fx->st.broken = 1;  /* the ROLLBACK fails too */
    assert_int_equal(ord_db_rollback(&fx->db.conn), APR_EGENERAL);
    assert_int_equal(ord_db_fault(&fx->db.conn), ORD_DB_FULL);
    assert_non_null(strstr(ord_db_error(&fx->db.conn),
                           "No space left on device"));
    assert_int_equal(fx->db.conn.in_transaction, 0);
}

/* ---- the writer on such a connection -------------------------------- */

static ord_db_t *writer_open(void *ctx, apr_pool_t *p)
{
    return reuse(ctx);
}

static void writer_close(void *ctx, ord_db_t *conn, apr_status_t outcome)
{
    (void)ctx;
    (void)conn;
    (void)outcome;
}

/* ORD1 stored and read, then `fn` submitted to a writer of its own on
 * this connection and the writer stopped: what the submission returned. */
static apr_status_t submitted_once_stored(fixture_t *fx, ord_write_fn *fn,
                                          void *arg)
{
    ord_writer_t *writer;
    apr_status_t rv;

    stored_and_read(fx);
    assert_int_equal(ord_writer_create(&writer, fx->db.pool, 8, writer_open,
                                       writer_close, fx), APR_SUCCESS);
    rv = ord_writer_submit(writer, fn, arg);
    assert_int_equal(ord_writer_stop(writer), APR_SUCCESS);
    return rv;
}

typedef struct {
    fixture_t *fx;
    const char *id;
    int created;
    int runs;
    int end_session_at_run;     /* 1-based; 0: never */
} insert_write_t;

static apr_status_t write_insert(ord_db_t *c, apr_pool_t *p, void *arg)
{
    insert_write_t *w = arg;

    if (++w->runs == w->end_session_at_run) {
        w->fx->st.end_session_next = 1;
    }
    return ord_store_insert(c, p, order(w->fx, w->id), 2000000, &w->created);
}

/* A batch whose session ended in the middle, before COMMIT, runs once more
 * on a new session: the write commits and its submitter sees success. */
static void test_writer_runs_a_batch_again_after_its_session_ended(
    void **state)
{
    fixture_t *fx = *state;
    insert_write_t w = { fx, "ORD2", 0, 0, 1 };

    /* The stand-in's reset comes from mod_dbd's check in the module: here
     * the writer's next open finds the session ended and BEGIN resets. */
    assert_int_equal(submitted_once_stored(fx, write_insert, &w),
                     APR_SUCCESS);
    assert_int_equal(w.runs, 2);
    assert_int_equal(w.created, 1);
    assert_int_equal(get(fx, "ORD2"), APR_SUCCESS);
}

typedef struct {
    fixture_t *fx;
    int runs;
} lost_commit_t;

/* The write succeeds; the session ends before the COMMIT's answer.  (A
 * write the batch runs at once: a new order's INSERT would wait for the
 * batch's flush, and the end would meet that instead of the COMMIT.) */
static apr_status_t write_then_lose_commit(ord_db_t *c, apr_pool_t *p,
                                           void *arg)
{
    lost_commit_t *w = arg;
    int created = 0;
    apr_status_t rv = ord_store_batch_create(c, p, "B9", 1, 2000000,
                                             &created);

    w->runs++;
    w->fx->st.end_session_next = 1;
    return rv;
}

/* A COMMIT whose answer was lost may have committed: never run again,
 * and told apart from a plain failure. */
static void test_writer_never_runs_a_batch_again_after_a_lost_commit(
    void **state)
{
    fixture_t *fx = *state;
    lost_commit_t w = { fx, 0 };

    assert_int_equal(submitted_once_stored(fx, write_then_lose_commit, &w),
                     APR_INCOMPLETE);
    assert_int_equal(w.runs, 1);
}

/* ---- the dialects' reading of failures --------------------------------- */

typedef struct {
    const ord_sql_dialect_t *dialect;
    int code;
    const char *words;
    ord_db_fault_e fault;
} fault_case_t;

static void test_dialects_read_the_drivers_words(void **state)
{
    static const fault_case_t cases[] = {
        { &ord_sql_pgsql, PG_FATAL, lost_words, ORD_DB_LOST },
        { &ord_sql_pgsql, PG_FATAL, "FATAL:  terminating connection due to "
          "administrator command\n", ORD_DB_LOST },
        { &ord_sql_pgsql, PG_FATAL, "no connection to the server\n",
          ORD_DB_LOST },
        { &ord_sql_pgsql, PG_FATAL, "FATAL:  the database system is "
          "shutting down\n", ORD_DB_LOST },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  cannot execute INSERT in a "
          "read-only transaction\n", ORD_DB_LOST },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  prepared statement \"ord_12\" "
          "does not exist\n", ORD_DB_STALE },
        { &ord_sql_pgsql, PG_FATAL, full_words, ORD_DB_FULL },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  deadlock detected\n",
          ORD_DB_CONFLICT },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  could not serialize access "
          "due to concurrent update\n", ORD_DB_CONFLICT },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  canceling statement due to "
          "lock timeout\n", ORD_DB_BUSY },
        { &ord_sql_pgsql, PG_FATAL, "ERROR:  relation \"orders\" does not "
          "exist\n", ORD_DB_FAILED },
        { &ord_sql_pgsql, PG_FATAL, NULL, ORD_DB_FAILED },
        { &ord_sql_mysql, 1213, "Deadlock found when trying to get lock; "
          "try restarting transaction", ORD_DB_CONFLICT },
        { &ord_sql_mysql, 1205, "Lock wait timeout exceeded; try "
          "restarting transaction", ORD_DB_BUSY },
        { &ord_sql_sqlite3, 5, "database is locked", ORD_DB_BUSY },
        { &ord_sql_sqlite3, 6, "database table is locked", ORD_DB_BUSY },
        { &ord_sql_sqlite3, 13, "database or disk is full", ORD_DB_FULL },
        { &ord_sql_sqlite3, 10, "disk I/O error", ORD_DB_FAILED },
        { &ord_sql_sqlite3, 17, "database schema has changed", ORD_DB_STALE },
        { &ord_sql_sqlite3, 1, "database schema has changed", ORD_DB_STALE },
        { &ord_sql_sqlite3, 1, "database or disk is full", ORD_DB_FULL },
        { &ord_sql_sqlite3, 1, "database is locked", ORD_DB_BUSY },
        { &ord_sql_sqlite3, 1, "no such table: orders", ORD_DB_FAILED },
        { &ord_sql_sqlite3, 1, NULL, ORD_DB_FAILED },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ord_db_fault_e got = cases[i].dialect->classify(cases[i].code,
                                                        cases[i].words);
        if (got != cases[i].fault) {
            fail_msg("case %u (%s, %d, %s): %s, expected %s", (unsigned)i,
                     cases[i].dialect->driver, cases[i].code,
                     cases[i].words ? cases[i].words : "(null)",
                     ord_sql_fault_name(got),
                     ord_sql_fault_name(cases[i].fault));
        }
    }
    assert_ptr_equal(ord_sql_for("pgsql"), &ord_sql_pgsql);
    assert_ptr_equal(ord_sql_for("sqlite3"), &ord_sql_sqlite3);
    assert_null(ord_sql_for("odbc"));
}

/* ---- one log line per incident ----------------------------------------- */

typedef struct {
    char event;             /* 'f': a failure of `kind`, 'o': a success */
    apr_uint32_t kind;
    apr_uint32_t expect;    /* failed(): 1 log it; ok(): failures ended */
} incident_step_t;

static void test_incident_logs_once_per_incident_and_kind(void **state)
{
    static const incident_step_t steps[] = {
        { 'o', 0, 0 },              /* healthy: nothing to say */
        { 'f', ORD_DB_LOST, 1 },    /* the first failure is news */
        { 'f', ORD_DB_LOST, 0 },
        { 'f', ORD_DB_LOST, 0 },
        { 'f', ORD_DB_FULL, 1 },    /* a new cause is news too */
        { 'f', ORD_DB_FULL, 0 },
        { 'o', 0, 5 },              /* the end of it, with its count */
        { 'o', 0, 0 },
        { 'f', ORD_DB_LOST, 1 },    /* a new incident */
        { 'f', ORD_DB_FULL, 1 },
        { 'f', ORD_DB_LOST, 0 },    /* kinds that alternate: said once */
        { 'f', ORD_DB_FULL, 0 },
        { 'o', 0, 4 },
    };
    ord_incident_t in = { 0, 0 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        apr_uint32_t got = steps[i].event == 'f'
                           ? (apr_uint32_t)ord_incident_failed(&in,
                                                               steps[i].kind)
                           : ord_incident_ok(&in);
        if (got != steps[i].expect) {
            fail_msg("step %u (%c): %u, expected %u", (unsigned)i,
                     steps[i].event, got, steps[i].expect);
        }
    }
}

#define DBTEST(f) cmocka_unit_test_setup_teardown(f, setup, \
                                                  unit_sqlite_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DBTEST(test_read_on_an_ended_session_runs_again_on_a_new_one),
        DBTEST(test_read_when_the_server_is_away_fails_with_the_cause),
        DBTEST(test_write_on_an_ended_session_is_not_run_twice),
        DBTEST(test_statements_missing_after_a_reset_are_prepared_again),
        DBTEST(test_missing_statement_in_a_transaction_fails_it_once),
        DBTEST(test_begin_on_an_ended_session_begins_on_a_new_one),
        DBTEST(test_full_disk_is_named_and_survives_the_rollback),
        DBTEST(test_writers_serialize_from_their_first_event),
        DBTEST(test_writer_begins_on_a_new_session_after_its_isolation_failed),
        DBTEST(test_writer_runs_a_batch_again_after_its_session_ended),
        DBTEST(test_writer_never_runs_a_batch_again_after_a_lost_commit),
        cmocka_unit_test(test_dialects_read_the_drivers_words),
        cmocka_unit_test(test_incident_logs_once_per_incident_and_kind),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
