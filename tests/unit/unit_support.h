/*
 * Shared helpers of the unit tests: the APR pool every group runs in, and a
 * bounded poll for things other threads do.
 *
 * Include after <cmocka.h> (and its prerequisites).  Everything here is
 * static inline so that a test file using only part of it still builds
 * under -Wall -Wextra -Werror.
 */
#ifndef UNIT_SUPPORT_H
#define UNIT_SUPPORT_H

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_time.h>

/* How long a test waits for another thread before it calls it a failure. */
#define UNIT_WAIT_US      (5 * APR_USEC_PER_SEC)
#define UNIT_POLL_STEP_US 1000

/* Group setup: apr_initialize() and one pool for the whole group, handed to
 * every test as *state. */
static inline int unit_group_setup(void **state)
{
    apr_pool_t *p = NULL;

    if (apr_initialize() != APR_SUCCESS) {
        return -1;
    }
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int unit_group_teardown(void **state)
{
    if (*state) {
        apr_pool_destroy((apr_pool_t *)*state);
        *state = NULL;
    }
    apr_terminate();
    return 0;
}

/* The group pool. */
static inline apr_pool_t *unit_pool(void **state)
{
    return (apr_pool_t *)*state;
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

#endif /* UNIT_SUPPORT_H */
