/*
 * ord_metrics: counters in shared memory and their JSON.  See
 * ord_metrics.h.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <json.h>

#include "ord_metrics.h"

apr_size_t ord_metrics_size(apr_uint32_t nslots)
{
    return offsetof(ord_metrics_t, slots)
           + (apr_size_t)nslots * sizeof(ord_metrics_slot_t);
}

void ord_metrics_init(ord_metrics_t *m, apr_uint32_t nslots, apr_time_t now)
{
    memset(m, 0, ord_metrics_size(nslots));
    m->nslots = nslots;
    m->started_at = now;
}

void ord_metrics_load(ord_metrics_t *m, const ord_store_totals_t *t)
{
    int i;

    for (i = 0; i < ORD_STATUS_COUNT; i++) {
        apr_atomic_set64(&m->count[i], t->count[i]);
    }
    apr_atomic_set64(&m->processing_us_sum, t->processing_us_sum);
    apr_atomic_set64(&m->from_creation_us_sum, t->from_creation_us_sum);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        apr_atomic_set64(&m->processing_buckets[i],
                         t->processing_buckets[i]);
    }
}

/* Counts move by plain atomic steps, a decrement wrapping below zero, and
 * are read as signed (ord_metrics_read): each transition's steps are made after
 * its commit, so two children's can land in the other order.  A child
 * stopped between committing claims and counting them, while another took
 * the orders over and counted their completions, had Processing below zero
 * for a while; a decrement that stopped at zero then lost those steps for
 * good (test_hung_child.py, on MariaDB: 36 orders counted Processing that
 * the table had Completed).  With wrapping steps the sum is exact once every
 * step has landed. */
void ord_metrics_created(ord_metrics_t *m)
{
    apr_atomic_inc64(&m->count[ORD_PENDING]);
}

void ord_metrics_claimed(ord_metrics_t *m, ord_status_e from)
{
    if (from == ORD_PENDING) {
        apr_atomic_dec64(&m->count[ORD_PENDING]);
        apr_atomic_inc64(&m->count[ORD_PROCESSING]);
    }
}

void ord_metrics_completed(ord_metrics_t *m, apr_time_t processing_us,
                           apr_time_t from_creation_us)
{
    apr_atomic_dec64(&m->count[ORD_PROCESSING]);
    apr_atomic_inc64(&m->count[ORD_COMPLETED]);
    apr_atomic_add64(&m->processing_us_sum,
                     processing_us > 0 ? (apr_uint64_t)processing_us : 0);
    apr_atomic_add64(&m->from_creation_us_sum,
                     from_creation_us > 0 ? (apr_uint64_t)from_creation_us
                                          : 0);
    apr_atomic_inc64(&m->processing_buckets[ord_processing_bucket(
                         processing_us)]);
}

void ord_metrics_cancelled(ord_metrics_t *m)
{
    apr_atomic_dec64(&m->count[ORD_PENDING]);
    apr_atomic_inc64(&m->count[ORD_CANCELLED]);
}

void ord_metrics_answered(ord_metrics_t *m, ord_outcome_e outcome)
{
    if (outcome >= 0 && outcome < ORD_OUTCOME_COUNT) {
        apr_atomic_inc64(&m->answers[outcome]);
    }
}

void ord_metrics_delivery(ord_metrics_t *m, ord_webhook_verdict_e verdict)
{
    switch (verdict) {
    case ORD_WEBHOOK_DELIVERED:
        apr_atomic_inc64(&m->webhooks.delivered);
        break;
    case ORD_WEBHOOK_RETRY:
        apr_atomic_inc64(&m->webhooks.retried);
        break;
    case ORD_WEBHOOK_GIVE_UP:
        apr_atomic_inc64(&m->webhooks.failed);
        break;
    }
}

void ord_metrics_delivery_backlog(ord_metrics_t *m, apr_uint64_t pending,
                                  apr_time_t oldest_at)
{
    /* Two stores, not one: a reader between them sees the new count with
     * the old time for a moment, which the next read puts right. */
    apr_atomic_set64(&m->webhooks.pending, pending);
    apr_atomic_set64(&m->webhooks.oldest_pending_at,
                     pending > 0 && oldest_at > 0 ? (apr_uint64_t)oldest_at
                                                  : 0);
}

int ord_metrics_backlog_turn(ord_metrics_t *m, apr_time_t now,
                             apr_interval_time_t every)
{
    apr_uint64_t due = apr_atomic_read64(&m->webhooks.backlog_due_at);

    if (every > ORD_METRICS_BACKLOG_EVERY_MAX) {
        every = ORD_METRICS_BACKLOG_EVERY_MAX;
    }
    return ((apr_uint64_t)now >= due
            || due - (apr_uint64_t)now
               > (apr_uint64_t)ORD_METRICS_BACKLOG_EVERY_MAX)
           && apr_atomic_cas64(&m->webhooks.backlog_due_at,
                               (apr_uint64_t)(now + every), due) == due;
}

/* Polling step while a reload runs or waits: reloads are rare and short. */
#define RELOAD_POLL apr_time_from_msec(1)

/* The reloading process, or 0; a reloader that died is forgotten. */
static apr_uint32_t live_reloader(ord_metrics_t *m, ord_pid_alive_fn *alive)
{
    apr_uint32_t pid = apr_atomic_read32(&m->reloader);

    if (pid != 0 && !alive(pid)) {
        apr_atomic_cas32(&m->reloader, 0, pid);
        return 0;
    }
    return pid;
}

void ord_metrics_enter(ord_metrics_t *m, ord_metrics_slot_t *slot,
                       ord_pid_alive_fn *alive)
{
    if (!slot) {
        return;
    }
    for (;;) {
        while (live_reloader(m, alive) != 0) {
            apr_sleep(RELOAD_POLL);
        }
        apr_atomic_inc32(&slot->inflight);
        /* A reload that began meanwhile waits for us unless we step back. */
        if (apr_atomic_read32(&m->reloader) == 0) {
            return;
        }
        apr_atomic_dec32(&slot->inflight);
    }
}

void ord_metrics_leave(ord_metrics_slot_t *slot)
{
    if (slot) {
        apr_atomic_dec32(&slot->inflight);
    }
}

static apr_uint32_t inflight_in_live_slots(ord_metrics_t *m,
                                           ord_pid_alive_fn *alive)
{
    apr_uint32_t i, n = 0;

    for (i = 0; i < m->nslots; i++) {
        apr_uint32_t owner = apr_atomic_read32(&m->slots[i].pid);
        if (owner != 0 && alive(owner)) {
            n += apr_atomic_read32(&m->slots[i].inflight);
        }
    }
    return n;
}

apr_status_t ord_metrics_reload_begin(ord_metrics_t *m, apr_uint32_t pid,
                                      ord_pid_alive_fn *alive,
                                      apr_interval_time_t wait)
{
    apr_time_t until = apr_time_now() + wait;

    live_reloader(m, alive);
    if (apr_atomic_cas32(&m->reloader, pid, 0) != 0) {
        return APR_EBUSY;
    }
    while (inflight_in_live_slots(m, alive) != 0) {
        if (apr_time_now() >= until) {
            return APR_TIMEUP;
        }
        apr_sleep(RELOAD_POLL);
    }
    return APR_SUCCESS;
}

void ord_metrics_reload_end(ord_metrics_t *m)
{
    apr_atomic_set32(&m->reloader, 0);
}

int ord_metrics_pid_alive(apr_uint32_t pid)
{
    return pid != 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

ord_metrics_slot_t *ord_metrics_slot_take(ord_metrics_t *m, apr_uint32_t pid,
                                          ord_pid_alive_fn *alive)
{
    apr_uint32_t i;

    for (i = 0; i < m->nslots; i++) {
        ord_metrics_slot_t *slot = &m->slots[i];
        apr_uint32_t owner = apr_atomic_read32(&slot->pid);
        if ((owner == 0 || owner == pid || !alive(owner))
            && apr_atomic_cas32(&slot->pid, pid, owner) == owner) {
            apr_atomic_set32(&slot->inflight, 0);
            apr_atomic_set32(&slot->gauges.held, 0);
            apr_atomic_set32(&slot->gauges.running, 0);
            return slot;
        }
    }
    return NULL;
}

void ord_metrics_slot_release(ord_metrics_slot_t *slot)
{
    apr_atomic_set32(&slot->inflight, 0);
    apr_atomic_set32(&slot->gauges.held, 0);
    apr_atomic_set32(&slot->gauges.running, 0);
    apr_atomic_set32(&slot->pid, 0);
}

void ord_metrics_read(ord_metrics_t *m, ord_pid_alive_fn *alive,
                      apr_time_t now, ord_metrics_snapshot_t *s)
{
    apr_uint64_t oldest;
    apr_uint32_t i;
    int st;

    memset(s, 0, sizeof(*s));
    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        apr_int64_t n = (apr_int64_t)apr_atomic_read64(&m->count[st]);

        /* Below zero while another child's steps are still to come (or for
         * good, if that child died between its commit and its steps, until
         * the next load): no count of orders is negative. */
        s->count[st] = n > 0 ? (apr_uint64_t)n : 0;
    }
    s->processing_us_sum = apr_atomic_read64(&m->processing_us_sum);
    s->from_creation_us_sum = apr_atomic_read64(&m->from_creation_us_sum);
    for (st = 0; st < ORD_PROCESSING_BUCKETS; st++) {
        s->processing_buckets[st] =
            apr_atomic_read64(&m->processing_buckets[st]);
    }
    for (i = 0; i < m->nslots; i++) {
        apr_uint32_t owner = apr_atomic_read32(&m->slots[i].pid);
        /* A crashed child never cleared its gauges: skip them. */
        if (owner != 0 && alive(owner)) {
            s->queue_depth += apr_atomic_read32(&m->slots[i].gauges.held);
            s->workers_busy += apr_atomic_read32(&m->slots[i].gauges.running);
        }
    }
    s->uptime_seconds = apr_time_sec(now - m->started_at);
    s->webhooks.delivered = apr_atomic_read64(&m->webhooks.delivered);
    s->webhooks.failed = apr_atomic_read64(&m->webhooks.failed);
    s->webhooks.retried = apr_atomic_read64(&m->webhooks.retried);
    s->webhooks.pending = apr_atomic_read64(&m->webhooks.pending);
    for (st = 0; st < ORD_OUTCOME_COUNT; st++) {
        s->answers[st] = apr_atomic_read64(&m->answers[st]);
    }
    oldest = apr_atomic_read64(&m->webhooks.oldest_pending_at);
    s->webhooks.oldest_pending_us =
        oldest > 0 && (apr_uint64_t)now > oldest ? (apr_uint64_t)now - oldest
                                                 : 0;
}

void ord_metrics_use_totals(ord_metrics_snapshot_t *s,
                            const ord_store_totals_t *t)
{
    memcpy(s->count, t->count, sizeof(s->count));
    s->processing_us_sum = t->processing_us_sum;
    s->from_creation_us_sum = t->from_creation_us_sum;
    memcpy(s->processing_buckets, t->processing_buckets,
           sizeof(s->processing_buckets));
}

/* Seconds with six decimals from integer microseconds: no float on the way
 * to the text. */
static json_object *seconds(apr_pool_t *p, apr_uint64_t us)
{
    return json_object_new_double_s(
        (double)us / APR_USEC_PER_SEC,
        apr_psprintf(p, "%" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT,
                     us / APR_USEC_PER_SEC, us % APR_USEC_PER_SEC));
}

static json_object *average_seconds(apr_pool_t *p, apr_uint64_t sum_us,
                                    apr_uint64_t n)
{
    return seconds(p, n ? sum_us / n : 0);
}

const char *ord_metrics_json(apr_pool_t *p, const ord_metrics_snapshot_t *s)
{
    json_object *obj = json_object_new_object();
    json_object *counts = json_object_new_object();
    json_object *hooks = json_object_new_object();
    apr_uint64_t total = 0;
    const char *out;
    int st;

    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        total += s->count[st];
        json_object_object_add(counts, ord_status_name((ord_status_e)st),
                               json_object_new_uint64(s->count[st]));
    }
    json_object_object_add(obj, "total_orders", json_object_new_uint64(total));
    json_object_object_add(obj, "total_processed",
                           json_object_new_uint64(s->count[ORD_COMPLETED]));
    json_object_object_add(obj, "average_processing_time",
                           average_seconds(p, s->processing_us_sum,
                                           s->count[ORD_COMPLETED]));
    json_object_object_add(obj, "average_processing_time_from_creation",
                           average_seconds(p, s->from_creation_us_sum,
                                           s->count[ORD_COMPLETED]));
    json_object_object_add(obj, "status_counts", counts);
    json_object_object_add(obj, "queue_depth",
                           json_object_new_uint64(s->queue_depth));
    json_object_object_add(obj, "workers_busy",
                           json_object_new_uint64(s->workers_busy));
    json_object_object_add(obj, "uptime_seconds",
                           json_object_new_int64(s->uptime_seconds));
    json_object_object_add(hooks, "delivered",
                           json_object_new_uint64(s->webhooks.delivered));
    json_object_object_add(hooks, "failed",
                           json_object_new_uint64(s->webhooks.failed));
    json_object_object_add(hooks, "retried",
                           json_object_new_uint64(s->webhooks.retried));
    json_object_object_add(hooks, "pending",
                           json_object_new_uint64(s->webhooks.pending));
    json_object_object_add(hooks, "oldest_pending_seconds",
                           seconds(p, s->webhooks.oldest_pending_us));
    json_object_object_add(obj, "webhooks", hooks);
    out = apr_pstrdup(p, json_object_to_json_string_ext(
                             obj, JSON_C_TO_STRING_PLAIN));
    json_object_put(obj);
    return out;
}

const char *ord_metrics_json_with_ids(apr_pool_t *p,
                                      const ord_metrics_snapshot_t *s,
                                      apr_array_header_t *const ids[],
                                      int max)
{
    const char *base = ord_metrics_json(p, s);
    json_object *extra = json_object_new_object();
    json_object *lists = json_object_new_object();
    const char *more, *out;
    int st, i, truncated = 0;

    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        json_object *list = json_object_new_array();
        int n = ids[st] ? ids[st]->nelts : 0;
        if (n > max) {
            n = max;
            truncated = 1;
        }
        for (i = 0; i < n; i++) {
            json_object_array_add(list, json_object_new_string(
                                      APR_ARRAY_IDX(ids[st], i,
                                                    const char *)));
        }
        json_object_object_add(lists, ord_status_name((ord_status_e)st),
                               list);
    }
    json_object_object_add(extra, "order_ids", lists);
    json_object_object_add(extra, "order_ids_truncated",
                           json_object_new_boolean(truncated));
    more = json_object_to_json_string_ext(extra, JSON_C_TO_STRING_PLAIN);
    /* Both are objects, "{...}": the figures' members, then these, so that
     * the figures stay written by ord_metrics_json alone. */
    out = apr_pstrcat(p, apr_pstrndup(p, base, strlen(base) - 1), ",",
                      more + 1, NULL);
    json_object_put(extra);
    return out;
}
