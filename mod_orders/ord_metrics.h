/*
 * ord_metrics: the counter table behind GET /metrics, in shared memory.
 *
 * One table serves every child of a server: status counts and the sums the
 * averages come from, updated with 64-bit atomics as each transition
 * commits, loaded from one aggregate query of the database when a server
 * generation starts (so it agrees with the database after any restart), and
 * never computed by scanning orders.  Each child also owns one slot where its
 * queue publishes its gauges; a slot whose process is gone counts for
 * nothing and is taken over by the next child that needs one.
 *
 * A reload must not fall between a transition's commit and its counter
 * update (the update would be lost, or counted twice): each transition is
 * bracketed by ord_metrics_enter/leave, and a reload first stops new ones and
 * waits for those under way (in live children only, so a child killed in
 * the middle cannot block it).
 *
 * Thread- and process-safety: every update is one atomic operation or a
 * compare-and-swap loop; readers see each counter whole, not all counters at
 * one instant.  The counts are stepped without a floor and read as signed,
 * a negative one as 0: steps that land out of order still add up.
 */
#ifndef ORD_METRICS_H
#define ORD_METRICS_H

#include <apr_pools.h>

#include "ord_order.h"
#include "ord_queue.h"
#include <apr_tables.h>

#include "ord_request.h"
#include "ord_totals.h"
#include "ord_webhook.h"

typedef struct {
    volatile apr_uint32_t pid;      /* 0: free */
    volatile apr_uint32_t inflight; /* transitions between enter and leave */
    ord_queue_gauges_t gauges;
} ord_metrics_slot_t;

/* The webhook figures of GET /metrics.  The counters are this server's
 * attempts since its start (they survive graceful restarts, as the shared
 * memory does); the backlog is what a delivery thread last read from the
 * database between its rounds, and so the same for every server sharing
 * it. */
typedef struct {
    volatile apr_uint64_t delivered;    /* events answered 2xx */
    volatile apr_uint64_t failed;       /* events given up */
    volatile apr_uint64_t retried;      /* attempts to be tried again */
    volatile apr_uint64_t pending;      /* events not yet delivered */
    volatile apr_uint64_t oldest_pending_at;  /* its time; 0: none */
    volatile apr_uint64_t backlog_due_at;     /* next read of it, any child */
} ord_metrics_webhooks_t;

typedef struct {
    volatile apr_uint64_t count[ORD_STATUS_COUNT];
    volatile apr_uint64_t processing_us_sum;     /* over Completed */
    volatile apr_uint64_t from_creation_us_sum;  /* over Completed */
    volatile apr_uint64_t processing_buckets[ORD_PROCESSING_BUCKETS];
    ord_metrics_webhooks_t webhooks;
    /* The module's answers by outcome since the server started (like the
     * webhook counters, never reloaded from the database). */
    volatile apr_uint64_t answers[ORD_OUTCOME_COUNT];
    volatile apr_uint32_t loaded_generation;     /* generation + 1; 0: none */
    volatile apr_uint32_t reloader;              /* pid reloading; 0: none */
    apr_uint32_t nslots;
    apr_time_t started_at;
    ord_metrics_slot_t slots[1];                 /* nslots of them */
} ord_metrics_t;

/* Whether process `pid` still runs. */
typedef int ord_pid_alive_fn(apr_uint32_t pid);

/* What GET /metrics shows, read from the table at one moment. */
typedef struct {
    apr_uint64_t count[ORD_STATUS_COUNT];
    apr_uint64_t processing_us_sum;
    apr_uint64_t from_creation_us_sum;
    apr_uint64_t processing_buckets[ORD_PROCESSING_BUCKETS];
    apr_uint64_t queue_depth;
    apr_uint64_t workers_busy;
    apr_int64_t uptime_seconds;
    struct {
        apr_uint64_t delivered, failed, retried, pending;
        apr_uint64_t oldest_pending_us;     /* its age at the read */
    } webhooks;
    apr_uint64_t answers[ORD_OUTCOME_COUNT];
} ord_metrics_snapshot_t;

/* Bytes of a table with `nslots` child slots. */
apr_size_t ord_metrics_size(apr_uint32_t nslots);
/* Zeroes a table (fresh shared memory) and stamps its start. */
void ord_metrics_init(ord_metrics_t *m, apr_uint32_t nslots, apr_time_t now);
/* Replaces the counts with the database's. */
void ord_metrics_load(ord_metrics_t *m, const ord_store_totals_t *totals);

void ord_metrics_created(ord_metrics_t *m);
/* A claim: from Pending it moves one count; a takeover of an expired
 * Processing claim changes no count. */
void ord_metrics_claimed(ord_metrics_t *m, ord_status_e from);
void ord_metrics_completed(ord_metrics_t *m, apr_time_t processing_us,
                           apr_time_t from_creation_us);
/* Pending -> Cancelled. */
void ord_metrics_cancelled(ord_metrics_t *m);

/* One answer of the module's, by its outcome. */
void ord_metrics_answered(ord_metrics_t *m, ord_outcome_e outcome);

/* One webhook attempt whose outcome was recorded. */
void ord_metrics_delivery(ord_metrics_t *m, ord_webhook_verdict_e verdict);
/* The delivery backlog as just read from the database: `pending` events,
 * the oldest of them from `oldest_at` (ignored when none). */
void ord_metrics_delivery_backlog(ord_metrics_t *m, apr_uint64_t pending,
                                  apr_time_t oldest_at);

/* Whether the caller reads the delivery backlog now: true for one caller
 * of all the children once `now` reaches the time the last one set, which
 * it then sets to `now + every` (`every` at most
 * ORD_METRICS_BACKLOG_EVERY_MAX; a time set further ahead than that is a
 * clock that stepped back, and due).  One COUNT of the pending events a
 * round serves every child's /metrics alike. */
#define ORD_METRICS_BACKLOG_EVERY_MAX apr_time_from_sec(60)
int ord_metrics_backlog_turn(ord_metrics_t *m, apr_time_t now,
                             apr_interval_time_t every);

/* Brackets one transition (its commit and its counter update); waits while
 * a live process reloads the table.  A NULL slot (no engine in this child)
 * brackets nothing. */
void ord_metrics_enter(ord_metrics_t *m, ord_metrics_slot_t *slot,
                       ord_pid_alive_fn *alive);
void ord_metrics_leave(ord_metrics_slot_t *slot);

/* Stops new transitions and waits up to `wait` for those under way in live
 * processes.  APR_SUCCESS when they all ended, APR_TIMEUP when some did not
 * (the reload goes ahead; the table can then be off by those), APR_EBUSY
 * when another live process is reloading. */
apr_status_t ord_metrics_reload_begin(ord_metrics_t *m, apr_uint32_t pid,
                                      ord_pid_alive_fn *alive,
                                      apr_interval_time_t wait);
void ord_metrics_reload_end(ord_metrics_t *m);

/* Takes a slot for `pid`: a free one or one whose process is gone.  NULL
 * when every slot belongs to a live process. */
ord_metrics_slot_t *ord_metrics_slot_take(ord_metrics_t *m, apr_uint32_t pid,
                                          ord_pid_alive_fn *alive);
void ord_metrics_slot_release(ord_metrics_slot_t *slot);

/* kill(pid, 0): alive, or alive under another user. */
int ord_metrics_pid_alive(apr_uint32_t pid);

void ord_metrics_read(ord_metrics_t *m, ord_pid_alive_fn *alive,
                      apr_time_t now, ord_metrics_snapshot_t *snap);

/* Replaces a snapshot's counts and sums with the database's (the figures of
 * every server sharing it); the gauges stay this server's. */
void ord_metrics_use_totals(ord_metrics_snapshot_t *s,
                            const ord_store_totals_t *totals);

/* The JSON of API.md section 4, and section 6's "webhooks" member. */
const char *ord_metrics_json(apr_pool_t *p, const ord_metrics_snapshot_t *s);

/* ord_metrics_json with two more members (?order_ids=true):
 * "order_ids": {"Pending": [...], ...} with ids[st] (arrays of const char *,
 * oldest first; NULL for none) each cut to its first `max`, and
 * "order_ids_truncated": true when any of them had more than `max`, false
 * otherwise.  Ids are written as JSON strings. */
const char *ord_metrics_json_with_ids(apr_pool_t *p,
                                      const ord_metrics_snapshot_t *s,
                                      apr_array_header_t *const ids[],
                                      int max);

#endif /* ORD_METRICS_H */
