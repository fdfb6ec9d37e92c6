/*
 * ord_watch: statements enter and leave; the overdue ones are cut once,
 * those within the limit never; a socket is cut for real (a socketpair's
 * peer reads the end); a full watch lets statements run unwatched; a
 * statement that left is never cut; time the process did not run (a gap
 * between looks) counts only up to the cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "unit_support.h"

#include "ord_watch.h"

#define SEC(s) apr_time_from_sec(s)
/* No cap on a look's step: age is the time since the start. */
#define FOREVER SEC(1000000)

typedef struct {
    int fds[8];
    apr_interval_time_t ran[8];
    int n;
} cuts_t;

static void record_cut(int fd, apr_interval_time_t ran, void *baton)
{
    cuts_t *cuts = baton;

    cuts->fds[cuts->n] = fd;
    cuts->ran[cuts->n] = ran;
    cuts->n++;
}

static ord_watch_t *new_watch(void **state, int slots)
{
    ord_watch_t *w = NULL;

    assert_int_equal(ord_watch_create(&w, unit_pool(state), slots),
                     APR_SUCCESS);
    return w;
}

static void test_only_the_overdue_are_cut_and_each_once(void **state)
{
    ord_watch_t *w = new_watch(state, 8);
    cuts_t cuts = { .n = 0 };
    int old = ord_watch_enter(w, 10, SEC(100));
    int young = ord_watch_enter(w, 11, SEC(104));

    assert_true(old >= 0 && young >= 0 && old != young);
    /* At 105 with a limit of 5: only the one from 100. */
    assert_int_equal(ord_watch_cut_overdue(w, SEC(105), SEC(5), FOREVER, record_cut,
                                           &cuts), 1);
    assert_int_equal(cuts.n, 1);
    assert_int_equal(cuts.fds[0], 10);
    assert_true(cuts.ran[0] == SEC(5));
    /* Not twice; the other in its turn. */
    assert_int_equal(ord_watch_cut_overdue(w, SEC(109), SEC(5), FOREVER, record_cut,
                                           &cuts), 1);
    assert_int_equal(cuts.fds[1], 11);
    assert_int_equal(ord_watch_leave(w, old), 1);
    assert_int_equal(ord_watch_leave(w, young), 1);
}

static void test_a_statement_that_left_is_never_cut(void **state)
{
    ord_watch_t *w = new_watch(state, 2);
    cuts_t cuts = { .n = 0 };
    int slot = ord_watch_enter(w, 7, SEC(1));

    assert_int_equal(ord_watch_leave(w, slot), 0);
    assert_int_equal(ord_watch_cut_overdue(w, SEC(1000), SEC(5), FOREVER, record_cut,
                                           &cuts), 0);
    assert_int_equal(cuts.n, 0);
    /* Its slot serves the next statement, watched from its own start. */
    slot = ord_watch_enter(w, 8, SEC(999));
    assert_int_equal(ord_watch_cut_overdue(w, SEC(1000), SEC(5), FOREVER, record_cut,
                                           &cuts), 0);
    assert_int_equal(ord_watch_leave(w, slot), 0);
}

static void test_a_full_watch_lets_statements_run_unwatched(void **state)
{
    ord_watch_t *w = new_watch(state, 2);
    cuts_t cuts = { .n = 0 };
    int a = ord_watch_enter(w, 1, SEC(1));
    int b = ord_watch_enter(w, 2, SEC(1));
    int c = ord_watch_enter(w, 3, SEC(1));

    assert_true(a >= 0 && b >= 0);
    assert_int_equal(c, -1);
    assert_int_equal(ord_watch_leave(w, c), 0);     /* ignored */
    assert_int_equal(ord_watch_cut_overdue(w, SEC(10), SEC(5), FOREVER, record_cut,
                                           &cuts), 2);
    /* No socket, no slot. */
    assert_int_equal(ord_watch_enter(w, -1, SEC(1)), -1);
    ord_watch_leave(w, a);
    ord_watch_leave(w, b);
}

static void test_time_the_process_did_not_run_does_not_count(void **state)
{
    ord_watch_t *w = new_watch(state, 2);
    cuts_t cuts = { .n = 0 };
    apr_interval_time_t step = apr_time_from_msec(500);
    apr_time_t t;
    int slot = ord_watch_enter(w, 5, SEC(100));

    /* A look a second later counts half a second (the cap). */
    assert_int_equal(ord_watch_cut_overdue(w, SEC(101), SEC(5), step,
                                           record_cut, &cuts), 0);
    /* Stopped for 99 s (no look): the next look counts half a second. */
    assert_int_equal(ord_watch_cut_overdue(w, SEC(200), SEC(5), step,
                                           record_cut, &cuts), 0);
    /* Then looks every 100 ms: 0.5 + 0.5 + 4 s of age at 204. */
    for (t = SEC(200); cuts.n == 0 && t < SEC(210);) {
        t += apr_time_from_msec(100);
        ord_watch_cut_overdue(w, t, SEC(5), step, record_cut, &cuts);
    }
    assert_int_equal(cuts.n, 1);
    assert_int_equal(t, SEC(204));
    assert_true(cuts.ran[0] == SEC(5));
    ord_watch_leave(w, slot);
}

static void shut_down(int fd, apr_interval_time_t ran, void *baton)
{
    (void)ran;
    (void)baton;
    shutdown(fd, SHUT_RDWR);
}

static void test_a_cut_socket_ends_the_wait_on_it(void **state)
{
    ord_watch_t *w = new_watch(state, 4);
    int pair[2];
    char byte;
    int slot;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    slot = ord_watch_enter(w, pair[0], SEC(1));
    assert_int_equal(ord_watch_cut_overdue(w, SEC(7), SEC(5), FOREVER, shut_down, NULL),
                     1);
    /* The statement's read (and the server's side) see the end at once. */
    assert_int_equal(read(pair[0], &byte, 1), 0);
    assert_int_equal(read(pair[1], &byte, 1), 0);
    assert_int_equal(ord_watch_leave(w, slot), 1);
    close(pair[0]);
    close(pair[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_the_overdue_are_cut_and_each_once),
        cmocka_unit_test(test_a_statement_that_left_is_never_cut),
        cmocka_unit_test(test_a_full_watch_lets_statements_run_unwatched),
        cmocka_unit_test(test_time_the_process_did_not_run_does_not_count),
        cmocka_unit_test(test_a_cut_socket_ends_the_wait_on_it),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
