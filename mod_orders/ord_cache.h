/*
 * ord_cache: the answers to reads of finished orders, kept in the child.
 *
 * An order that is Completed or Cancelled never changes again: every
 * UPDATE of an order names the status it leaves, and none leaves those
 * two.  Its JSON and its ETag, once read from the database, are therefore
 * the answer for good, on every server that shares the database, and a read
 * of it need not ask the database again.  Orders that may still change
 * (Pending, Processing) are never put here: they are read each time.
 *
 * Bounded: at most `entries` answers, in sets of ORD_CACHE_WAYS chosen by a
 * hash of the order_id; a full set gives up the answer it was given first.
 * An answer longer than ORD_CACHE_ANSWER_MAX bytes (an order with very many
 * items) is not kept.  Each answer is one malloc'd block, freed when it is
 * replaced and when the pool of ord_cache_create is destroyed.
 *
 * Thread-safety: every call may come from any thread; sets are locked in
 * stripes, so that readers of different orders seldom meet.
 */
#ifndef ORD_CACHE_H
#define ORD_CACHE_H

#include <apr_pools.h>

#define ORD_CACHE_WAYS       4
#define ORD_CACHE_ANSWER_MAX 4096

typedef struct ord_cache_t ord_cache_t;

/* What is kept of a finished order: whose it is, its ETag, its JSON. */
typedef struct {
    const char *user_id;
    const char *etag;
    const char *json;
} ord_cache_answer_t;

/* A cache of `entries` answers (rounded up to whole sets); 0 keeps none. */
apr_status_t ord_cache_create(ord_cache_t **cache, apr_pool_t *p,
                              int entries);

/* The answer kept for `order_id`, copied into `p`: 1, or 0 when there is
 * none. */
int ord_cache_find(ord_cache_t *cache, apr_pool_t *p, const char *order_id,
                   ord_cache_answer_t *answer);

/* Keeps `answer` for `order_id` (the caller has checked that the order is
 * finished).  An answer already kept for it is left as it is. */
void ord_cache_keep(ord_cache_t *cache, const char *order_id,
                    const ord_cache_answer_t *answer);

/* How many answers are kept now (for tests and /metrics). */
int ord_cache_count(ord_cache_t *cache);

#endif /* ORD_CACHE_H */
