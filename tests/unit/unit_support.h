/*
 * Shared helpers of the unit tests: the APR pool every group runs in, a
 * bounded poll for things other threads do, and the one walker of the
 * tables of cases.
 *
 * Tables (DESIGN.md section 4): a case that repeats is a row of a static
 * const array of structs whose FIRST member is the row's name (const char
 * *).  One check function per kind of row says what differed (NULL when the
 * row holds); UNIT_WALK runs it on every row, reports each failing row by
 * its name with what differed, and fails the test at the UNIT_WALK line.
 * UNIT_TABLE (an entry of main()'s list, the check named check_<table>)
 * and UNIT_TABLE_TEST (a function) make a table a test of its own.
 *
 * Include after <cmocka.h> (and its prerequisites).  Everything here is
 * static inline so that a test file using only part of it still builds
 * under -Wall -Wextra -Werror.
 */
#ifndef UNIT_SUPPORT_H
#define UNIT_SUPPORT_H

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

/* How long a test waits for another thread before it calls it a failure. */
#define UNIT_WAIT_US      (5 * APR_USEC_PER_SEC)
#define UNIT_POLL_STEP_US 1000

/* The pool of the whole group.  It is not handed to the tests as *state:
 * cmocka gives a test the group's state over its own initial state, and a
 * table's test (UNIT_TABLE) needs that one. */
static apr_pool_t *unit_group_pool_;

/* Group setup: apr_initialize() and one pool for the whole group. */
static inline int unit_group_setup(void **state)
{
    if (apr_initialize() != APR_SUCCESS) {
        return -1;
    }
    if (apr_pool_create(&unit_group_pool_, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = NULL;
    return 0;
}

static inline int unit_group_teardown(void **state)
{
    (void)state;
    if (unit_group_pool_) {
        apr_pool_destroy(unit_group_pool_);
        unit_group_pool_ = NULL;
    }
    apr_terminate();
    return 0;
}

/* The group pool, whatever the test's state is. */
static inline apr_pool_t *unit_pool(void **state)
{
    (void)state;
    return unit_group_pool_;
}

/* Polls `*v` until it equals `want`, for at most UNIT_WAIT_US in
 * UNIT_POLL_STEP_US steps.  Returns 1 when it did, 0 on time-out. */
static inline int unit_wait_u32(volatile apr_uint32_t *v, apr_uint32_t want)
{
    apr_time_t until = apr_time_now() + UNIT_WAIT_US;

    for (;;) {
        if (apr_atomic_read32(v) == want) {
            return 1;
        }
        if (apr_time_now() > until) {
            return 0;
        }
        apr_sleep(UNIT_POLL_STEP_US);
    }
}

/* Asserts that `*v` reaches `want` within UNIT_WAIT_US; on time-out the
 * failure names the expression and the value last seen. */
#define assert_eventually_u32(v, want)                                       \
    do {                                                                     \
        if (!unit_wait_u32((v), (want))) {                                   \
            fail_msg("%s stayed %u, expected %u within %d ms", #v,           \
                     (unsigned)apr_atomic_read32(v), (unsigned)(want),       \
                     (int)(UNIT_WAIT_US / 1000));                            \
        }                                                                    \
    } while (0)

/* ---- texts ----------------------------------------------------------- */

/* A string of `n` copies of `unit` (which may be a multi-byte character). */
static inline char *unit_repeat(apr_pool_t *p, const char *unit, int n)
{
    apr_size_t ulen = strlen(unit);
    char *s = apr_palloc(p, ulen * (apr_size_t)n + 1);
    int i;

    for (i = 0; i < n; i++) {
        memcpy(s + ulen * (apr_size_t)i, unit, ulen);
    }
    s[ulen * (apr_size_t)n] = '\0';
    return s;
}

/* How a row spells a text too long to write out: each "<<unit*N>>" in
 * `text` stands for N copies of `unit` ("\"<<a*65>>\"" is a JSON string of
 * 65 a's).  A text without one is returned as it is (it may hold a NUL
 * within the row's length); NULL stays NULL. */
static inline const char *unit_spell(apr_pool_t *p, const char *text)
{
    const char *open, *close, *star;
    const char *out = "";

    if (!text || !strstr(text, "<<")) {
        return text;
    }
    while ((open = strstr(text, "<<")) != NULL
           && (close = strstr(open, ">>")) != NULL) {
        for (star = close; star > open && *star != '*'; star--) {
        }
        if (star == open) {
            break;
        }
        out = apr_pstrcat(p, out, apr_pstrndup(p, text,
                                               (apr_size_t)(open - text)),
                          unit_repeat(p, apr_pstrndup(p, open + 2,
                                                      (apr_size_t)(star
                                                                   - open
                                                                   - 2)),
                                      atoi(star + 1)), NULL);
        text = close + 2;
    }
    return apr_pstrcat(p, out, text, NULL);
}

/* A text for a message: NULL shows as NULL. */
static inline const char *unit_show(const char *s)
{
    return s ? s : "NULL";
}

/* Equal texts, NULL equal only to NULL. */
static inline int unit_same(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* ---- tables ---------------------------------------------------------- */

#define UNIT_ROWS(table) (sizeof(table) / sizeof((table)[0]))

/* What a row's check is given beside the row. */
typedef struct {
    apr_pool_t *pool;       /* for what the check allocates, its message too */
    const void *arg;        /* the table's own (limits, a fixture), or NULL */
} unit_ctx_t;

/* A row's check: NULL when the row holds, else what differed. */
typedef const char *unit_check_fn(const unit_ctx_t *c, const void *row);

static inline void unit_walk_(apr_pool_t *pool, const void *arg,
                              const void *rows, size_t n, size_t size,
                              unit_check_fn *check, const char *table,
                              const char *file, int line)
{
    const char *first = NULL, *first_why = NULL;
    unsigned failed = 0;
    unit_ctx_t c;
    size_t i;

    c.pool = pool;
    c.arg = arg;
    for (i = 0; i < n; i++) {
        const void *row = (const char *)rows + i * size;
        const char *name = *(const char *const *)row;
        const char *why = check(&c, row);

        if (why) {
            print_error("%s: row \"%s\": %s\n", table, name, why);
            if (failed++ == 0) {
                first = name;
                first_why = why;
            }
        }
    }
    if (failed) {
        print_error("%s: %u of %u rows failed, the first \"%s\": %s\n",
                    table, failed, (unsigned)n, first, first_why);
        _fail(file, line);
    }
}

/* Runs `check` on every row of the static array `table`, in `pool`, with
 * `arg` for the table. */
#define UNIT_WALK(pool, arg, table, check)                                   \
    unit_walk_((pool), (arg), (table), UNIT_ROWS(table), sizeof((table)[0]), \
               (check), #table, __FILE__, __LINE__)

/* Defines the test `test`: every row of `table` checked by `check` in the
 * group pool, with no arg. */
#define UNIT_TABLE_TEST(test, table, check)                                  \
    static void test(void **state)                                           \
    {                                                                        \
        UNIT_WALK(unit_pool(state), NULL, table, check);                     \
    }

/* A table as a test of its own, without a function for it (UNIT_TABLE). */
typedef struct {
    const void *rows;
    size_t n, size;
    unit_check_fn *check;
    const void *arg;
    const char *table;
    const char *file;
    int line;
} unit_table_t;

static inline void unit_table_run(void **state)
{
    const unit_table_t *t = *state;
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, unit_group_pool_) != APR_SUCCESS) {
        fail_msg("%s: no pool", t->table);
    }
    unit_walk_(p, t->arg, t->rows, t->n, t->size, t->check, t->table,
               t->file, t->line);
    apr_pool_destroy(p);
}

/* An entry of main()'s CMUnitTest list: the test "test_<table>", every row
 * of `table` checked by check_<table>() in a pool of its own, with no arg.
 * (The entry's state reaches the test because unit_group_setup leaves the
 * group's NULL.) */
#define UNIT_TABLE(table)                                                    \
    { "test_" #table, unit_table_run, NULL, NULL,                            \
      &(unit_table_t){ (table), UNIT_ROWS(table), sizeof((table)[0]),        \
                       check_##table, NULL, #table, __FILE__, __LINE__ } }

#endif /* UNIT_SUPPORT_H */
