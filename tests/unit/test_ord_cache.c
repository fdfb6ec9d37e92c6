/*
 * ord_cache: an answer kept is found whole, under its own id only; a full
 * set gives up the answer it was given first, never another set's; an
 * answer kept twice stays one; too long an answer and a cache of no entries
 * keep nothing; many threads keeping and finding at once find only what
 * was kept for the id they ask (run under SANITIZE for the races).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit_support.h"

#include "ord_cache.h"

static ord_cache_t *new_cache(void **state, int entries)
{
    ord_cache_t *c = NULL;

    assert_int_equal(ord_cache_create(&c, unit_pool(state), entries),
                     APR_SUCCESS);
    return c;
}

static ord_cache_answer_t answer_of(apr_pool_t *p, const char *id)
{
    ord_cache_answer_t a;

    a.user_id = apr_pstrcat(p, "user-of-", id, NULL);
    a.etag = apr_pstrcat(p, "\"etag-of-", id, "\"", NULL);
    a.json = apr_pstrcat(p, "{\"order_id\":\"", id, "\"}", NULL);
    return a;
}

/* Whether the cache holds exactly the answer of `id`. */
static int holds(ord_cache_t *c, apr_pool_t *p, const char *id)
{
    ord_cache_answer_t want = answer_of(p, id), got;

    if (!ord_cache_find(c, p, id, &got)) {
        return 0;
    }
    assert_string_equal(got.user_id, want.user_id);
    assert_string_equal(got.etag, want.etag);
    assert_string_equal(got.json, want.json);
    return 1;
}

static void test_an_answer_kept_is_found_whole_under_its_id_only(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_cache_t *c = new_cache(state, 64);
    ord_cache_answer_t a = answer_of(p, "order-1"), got;

    assert_false(ord_cache_find(c, p, "order-1", &got));
    ord_cache_keep(c, "order-1", &a);
    assert_true(holds(c, p, "order-1"));
    /* A prefix, a longer id, another id: nothing. */
    assert_false(ord_cache_find(c, p, "order-", &got));
    assert_false(ord_cache_find(c, p, "order-10", &got));
    assert_false(ord_cache_find(c, p, "order-2", &got));
    assert_int_equal(ord_cache_count(c), 1);
}

static void test_an_answer_kept_twice_stays_one(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_cache_t *c = new_cache(state, 64);
    ord_cache_answer_t a = answer_of(p, "twice");

    ord_cache_keep(c, "twice", &a);
    ord_cache_keep(c, "twice", &a);
    assert_int_equal(ord_cache_count(c), 1);
    assert_true(holds(c, p, "twice"));
}

/* One set (entries = ways): the fifth answer gives up the first, the sixth
 * the second. */
static void test_a_full_set_gives_up_its_first_answer(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_cache_t *c = new_cache(state, ORD_CACHE_WAYS);
    const char *ids[] = { "a", "b", "c", "d", "e", "f" };
    ord_cache_answer_t a;
    int i;

    for (i = 0; i < 6; i++) {
        a = answer_of(p, ids[i]);
        ord_cache_keep(c, ids[i], &a);
    }
    assert_false(holds(c, p, "a"));
    assert_false(holds(c, p, "b"));
    for (i = 2; i < 6; i++) {
        assert_true(holds(c, p, ids[i]));
    }
    assert_int_equal(ord_cache_count(c), ORD_CACHE_WAYS);
}

/* Room for every answer kept, in many sets: all of them are found (a set
 * gives up answers only when it is full, and none other's). */
static void test_answers_within_room_are_all_found(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_cache_t *c = new_cache(state, 4096);
    ord_cache_answer_t a;
    int i, found = 0;

    for (i = 0; i < 256; i++) {
        const char *id = apr_psprintf(p, "bench-%d", i);

        a = answer_of(p, id);
        ord_cache_keep(c, id, &a);
    }
    for (i = 0; i < 256; i++) {
        found += holds(c, p, apr_psprintf(p, "bench-%d", i));
    }
    /* 256 ids in 1,024 sets of 4: a set would have to draw 5 of them. */
    assert_int_equal(found, 256);
}

typedef struct {
    const char *name;
    int entries;
    apr_size_t json_len;
    int kept;
} keep_case_t;

static const keep_case_t keep_cases[] = {
    { "a short answer", 16, 100, 1 },
    { "an answer just within the bound", 16,
      ORD_CACHE_ANSWER_MAX - 64, 1 },
    { "an answer past the bound", 16, ORD_CACHE_ANSWER_MAX, 0 },
    { "a cache of no entries", 0, 100, 0 },
};

static const char *check_keep(const unit_ctx_t *ctx, const void *row)
{
    const keep_case_t *k = row;
    ord_cache_t *c = NULL;
    ord_cache_answer_t a, got;
    char *json;
    int kept;

    if (ord_cache_create(&c, ctx->pool, k->entries) != APR_SUCCESS) {
        return "no cache";
    }
    json = apr_palloc(ctx->pool, k->json_len + 1);
    memset(json, 'x', k->json_len);
    json[k->json_len] = '\0';
    a.user_id = "u";
    a.etag = "\"e\"";
    a.json = json;
    ord_cache_keep(c, "id", &a);
    kept = ord_cache_find(c, ctx->pool, "id", &got);
    if (kept != k->kept) {
        return apr_psprintf(ctx->pool, "kept %d, expected %d", kept,
                            k->kept);
    }
    if (kept && strcmp(got.json, json) != 0) {
        return "another json came back";
    }
    return NULL;
}

UNIT_TABLE_TEST(test_what_is_kept, keep_cases, check_keep)

/* Threads that keep and find ids of their own and shared ones at once. */
#define THREADS 8
#define ROUNDS  2000

typedef struct {
    ord_cache_t *cache;
    int index;
    int wrong;
} racer_t;

static void *APR_THREAD_FUNC race(apr_thread_t *t, void *data)
{
    racer_t *r = data;
    apr_pool_t *p = NULL;
    char id[32], json[64];
    ord_cache_answer_t a, got;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < ROUNDS; i++) {
        /* Half the ids are shared by all threads, half are this one's. */
        snprintf(id, sizeof(id), i % 2 ? "shared-%d" : "own-%d-%d",
                 i % 2 ? i % 97 : r->index, i % 97);
        snprintf(json, sizeof(json), "{\"order_id\":\"%s\"}", id);
        a.user_id = id;
        a.etag = id;
        a.json = json;
        ord_cache_keep(r->cache, id, &a);
        if (ord_cache_find(r->cache, p, id, &got)
            && (strcmp(got.user_id, id) != 0 || strcmp(got.json, json) != 0)) {
            r->wrong++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads_find_only_what_was_kept_for_their_id(void **state)
{
    /* Few entries, so that sets are replaced while others read them. */
    ord_cache_t *c = new_cache(state, 64);
    apr_thread_t *threads[THREADS];
    racer_t racers[THREADS];
    apr_status_t rv;
    int i;

    for (i = 0; i < THREADS; i++) {
        racers[i].cache = c;
        racers[i].index = i;
        racers[i].wrong = 0;
        assert_int_equal(apr_thread_create(&threads[i], NULL, race,
                                           &racers[i], unit_pool(state)),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, threads[i]);
        assert_int_equal(racers[i].wrong, 0);
    }
    assert_true(ord_cache_count(c) <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_answer_kept_is_found_whole_under_its_id_only),
        cmocka_unit_test(test_an_answer_kept_twice_stays_one),
        cmocka_unit_test(test_a_full_set_gives_up_its_first_answer),
        cmocka_unit_test(test_answers_within_room_are_all_found),
        cmocka_unit_test(test_what_is_kept),
        cmocka_unit_test(test_threads_find_only_what_was_kept_for_their_id),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
