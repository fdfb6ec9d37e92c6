/*
 * ord_cache: the answers to reads of finished orders.  See ord_cache.h.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "ord_cache.h"

/* Locks for the sets: enough that 128 request threads seldom share one. */
#define STRIPES 64

typedef struct {
    char *block;            /* order_id, user_id, etag, json, each ended by
                             * a NUL; NULL: the way is free */
    apr_size_t size;
    apr_uint32_t hash;
} way_t;

typedef struct {
    way_t way[ORD_CACHE_WAYS];
    int oldest;             /* the way a full set gives up next */
} set_t;

struct ord_cache_t {
    set_t *sets;
    apr_uint32_t nsets;
    apr_thread_mutex_t *stripe[STRIPES];
    apr_uint32_t count;
};

/* FNV-1a: order ids are short, and any of them may come from a client. */
static apr_uint32_t hash_of(const char *s)
{
    apr_uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static apr_status_t free_blocks(void *data)
{
    ord_cache_t *c = data;
    apr_uint32_t i;
    int w;

    for (i = 0; i < c->nsets; i++) {
        for (w = 0; w < ORD_CACHE_WAYS; w++) {
            free(c->sets[i].way[w].block);
            c->sets[i].way[w].block = NULL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ord_cache_create(ord_cache_t **cache, apr_pool_t *p,
                              int entries)
{
    ord_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv = APR_SUCCESS;
    int i;

    c->nsets = entries > 0 ? ((apr_uint32_t)entries + ORD_CACHE_WAYS - 1)
                                 / ORD_CACHE_WAYS
                           : 0;
    if (c->nsets) {
        c->sets = apr_pcalloc(p, sizeof(*c->sets) * c->nsets);
        for (i = 0; i < STRIPES && rv == APR_SUCCESS; i++) {
            rv = apr_thread_mutex_create(&c->stripe[i],
                                         APR_THREAD_MUTEX_DEFAULT, p);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        apr_pool_cleanup_register(p, c, free_blocks, apr_pool_cleanup_null);
    }
    *cache = c;
    return APR_SUCCESS;
}

/* The way of `set` that holds `order_id`, or -1. */
static int way_of(const set_t *set, const char *order_id, apr_uint32_t hash)
{
    int w;

    for (w = 0; w < ORD_CACHE_WAYS; w++) {
        if (set->way[w].block && set->way[w].hash == hash
            && strcmp(set->way[w].block, order_id) == 0) {
            return w;
        }
    }
    return -1;
}

int ord_cache_find(ord_cache_t *c, apr_pool_t *p, const char *order_id,
                   ord_cache_answer_t *answer)
{
    apr_uint32_t hash, i;
    char *copy = NULL;
    int w;

    if (!c->nsets) {
        return 0;
    }
    hash = hash_of(order_id);
    i = hash % c->nsets;
    apr_thread_mutex_lock(c->stripe[i % STRIPES]);
    w = way_of(&c->sets[i], order_id, hash);
    if (w >= 0) {
        copy = apr_pmemdup(p, c->sets[i].way[w].block,
                           c->sets[i].way[w].size);
    }
    apr_thread_mutex_unlock(c->stripe[i % STRIPES]);
    if (!copy) {
        return 0;
    }
    answer->user_id = copy + strlen(copy) + 1;
    answer->etag = answer->user_id + strlen(answer->user_id) + 1;
    answer->json = answer->etag + strlen(answer->etag) + 1;
    return 1;
}

void ord_cache_keep(ord_cache_t *c, const char *order_id,
                    const ord_cache_answer_t *answer)
{
    const char *parts[4];
    apr_size_t len[4], size = 0, at = 0;
    apr_uint32_t hash, i;
    char *block, *old = NULL;
    set_t *set;
    int k, w;

    if (!c->nsets) {
        return;
    }
    parts[0] = order_id;
    parts[1] = answer->user_id ? answer->user_id : "";
    parts[2] = answer->etag;
    parts[3] = answer->json;
    for (k = 0; k < 4; k++) {
        len[k] = strlen(parts[k]);
        size += len[k] + 1;
    }
    if (size > ORD_CACHE_ANSWER_MAX || !(block = malloc(size))) {
        return;
    }
    for (k = 0; k < 4; k++) {
        memcpy(block + at, parts[k], len[k] + 1);
        at += len[k] + 1;
    }
    hash = hash_of(order_id);
    i = hash % c->nsets;
    set = &c->sets[i];
    apr_thread_mutex_lock(c->stripe[i % STRIPES]);
    if (way_of(set, order_id, hash) >= 0) {
        old = block;            /* kept already: the same answer */
    }
    else {
        for (w = 0; w < ORD_CACHE_WAYS && set->way[w].block; w++) {
        }
        if (w == ORD_CACHE_WAYS) {
            w = set->oldest;
            set->oldest = (set->oldest + 1) % ORD_CACHE_WAYS;
            old = set->way[w].block;
        }
        else {
            apr_atomic_inc32(&c->count);
        }
        set->way[w].block = block;
        set->way[w].size = size;
        set->way[w].hash = hash;
    }
    apr_thread_mutex_unlock(c->stripe[i % STRIPES]);
    free(old);
}

int ord_cache_count(ord_cache_t *c)
{
    return (int)apr_atomic_read32(&c->count);
}
