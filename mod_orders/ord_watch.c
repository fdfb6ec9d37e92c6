/*
 * ord_watch: the statements under way, and the cut of the overdue.  See
 * ord_watch.h.
 */
#include <apr_thread_mutex.h>

#include "ord_watch.h"

typedef struct {
    int fd;             /* -1: free */
    int cut;
    apr_time_t since;
    apr_interval_time_t age;    /* what the looks have counted */
    int next_free;      /* index, -1: none */
} slot_t;

struct ord_watch_t {
    apr_thread_mutex_t *lock;
    slot_t *slots;
    int nslots;
    int free_head;
    int busy;           /* how many are in use: the scan stops early */
    apr_time_t last_look;
};

apr_status_t ord_watch_create(ord_watch_t **watch, apr_pool_t *p, int slots)
{
    ord_watch_t *w = apr_pcalloc(p, sizeof(*w));
    apr_status_t rv;
    int i;

    w->nslots = slots > 0 ? slots : 1;
    w->slots = apr_palloc(p, sizeof(*w->slots) * (apr_size_t)w->nslots);
    for (i = 0; i < w->nslots; i++) {
        w->slots[i].fd = -1;
        w->slots[i].cut = 0;
        w->slots[i].since = 0;
        w->slots[i].next_free = i + 1 < w->nslots ? i + 1 : -1;
    }
    w->free_head = 0;
    rv = apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        *watch = w;
    }
    return rv;
}

int ord_watch_enter(ord_watch_t *w, int fd, apr_time_t now)
{
    int i;

    if (fd < 0) {
        return -1;
    }
    apr_thread_mutex_lock(w->lock);
    i = w->free_head;
    if (i >= 0) {
        w->free_head = w->slots[i].next_free;
        w->slots[i].fd = fd;
        w->slots[i].cut = 0;
        w->slots[i].since = now;
        w->slots[i].age = 0;
        w->busy++;
    }
    apr_thread_mutex_unlock(w->lock);
    return i;
}

int ord_watch_leave(ord_watch_t *w, int i)
{
    int cut;

    if (i < 0 || i >= w->nslots) {
        return 0;
    }
    apr_thread_mutex_lock(w->lock);
    cut = w->slots[i].cut;
    w->slots[i].fd = -1;
    w->slots[i].next_free = w->free_head;
    w->free_head = i;
    w->busy--;
    apr_thread_mutex_unlock(w->lock);
    return cut;
}

int ord_watch_cut_overdue(ord_watch_t *w, apr_time_t now,
                          apr_interval_time_t limit,
                          apr_interval_time_t max_step, ord_watch_cut_fn *cut,
                          void *baton)
{
    int i, seen = 0, n = 0;

    apr_thread_mutex_lock(w->lock);
    for (i = 0; i < w->nslots && seen < w->busy; i++) {
        slot_t *s = &w->slots[i];
        apr_interval_time_t step;

        if (s->fd < 0) {
            continue;
        }
        seen++;
        step = now - (s->since > w->last_look ? s->since : w->last_look);
        s->age += step < 0 ? 0 : step > max_step ? max_step : step;
        if (!s->cut && s->age >= limit) {
            s->cut = 1;
            cut(s->fd, s->age, baton);
            n++;
        }
    }
    w->last_look = now;
    apr_thread_mutex_unlock(w->lock);
    return n;
}
