/*
 * ord_writer: one writer thread with group commit.  See ord_writer.h.
 */
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ord_writer.h"

/* What one submitter sleeps on.  Each has its own, so that the end of a
 * batch wakes exactly its submitters, and each wakes to a mutex nobody else
 * wants: with one shared condition every waiter woke at once and queued
 * again on the writer's lock (the profile of POST showed that herd as the
 * largest cost after the commit itself).  Reused through a free list. */
typedef struct waiter_t waiter_t;
struct waiter_t {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    waiter_t *next_free;
};

typedef struct ticket_t ticket_t;
struct ticket_t {
    ord_write_fn *fn;
    void *arg;
    apr_status_t rv;
    int done;                   /* under waiter->lock */
    waiter_t *waiter;           /* of ord_writer_submit, or NULL */
    ord_write_done_fn *done_fn; /* of ord_writer_post, or NULL */
    ticket_t *next;
};

typedef struct {
    ticket_t *head, *tail;
} ticket_fifo_t;

/* Moves up to `room` tickets from the front of `from` to the end of the
 * batch (*first .. *last); returns how many. */
static int take_tickets(ticket_fifo_t *from, int room, ticket_t **first,
                        ticket_t **last)
{
    int n = 0;

    while (from->head && n < room) {
        ticket_t *t = from->head;

        from->head = t->next;
        t->next = NULL;
        if (*last) {
            (*last)->next = t;
        }
        else {
            *first = t;
        }
        *last = t;
        n++;
    }
    if (!from->head) {
        from->tail = NULL;
    }
    return n;
}

struct ord_writer_t {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *work;        /* a ticket arrived, or stop */
    /* Waiting tickets, oldest first: those a thread waits for (a request
     * holding its client) go into a batch before the posted ones (claims
     * and completions, which wait for nobody), so that a request waits for
     * at most the batch under way and its own. */
    ticket_fifo_t waited, posted;
    waiter_t *free_waiters;         /* under lock */
    apr_pool_t *waiter_pool;        /* their memory; used under lock */
    apr_pool_t *scratch;            /* the writer thread's, per batch */
    int stopping;
    int max_batch;
    apr_time_t busy_until;          /* the writer thread's only */
    ord_writer_open_fn *open;
    ord_writer_close_fn *close;
    void *ctx;
    apr_thread_t *thread;
    apr_pool_t *pool;
};

/* What a batch that failed does next, by the database's reading of the
 * failure.  A batch runs at most twice: once more, on the session the next
 * connection has, when its session had ended (or lost its statements)
 * before COMMIT, or when it lost to another transaction at the same rows
 * (PostgreSQL and MariaDB roll the loser of a deadlock back, and it is to
 * run again).  One that was cut for running too long (ORD_DB_CUT) does not:
 * it would most likely wait as long again. */
typedef struct {
    ord_db_fault_e fault;
    /* Before it runs again.  A deadlock's winner was waiting for the
     * loser's rows and gets them at its rollback; a batch run again at once
     * can take them back first and close the same cycle (test_deadlock.py
     * on PostgreSQL, once under .ci/run: both tries lost, the populate
     * failed). */
    apr_interval_time_t pause;
    /* Whether the connection is sound after it: then it goes back with
     * APR_EAGAIN for its outcome (no incident of the database's) rather
     * than the failure. */
    int connection_sound;
} retry_t;

static const retry_t retries[] = {
    { ORD_DB_STALE, 0, 0 },
    { ORD_DB_LOST, 0, 0 },
    { ORD_DB_CONFLICT, apr_time_from_msec(100), 1 },
};

/* The retry of a batch that failed with `rv` and `fault`, or NULL: it does
 * not run again (it committed, its COMMIT's answer was lost, or the fault
 * is none of those above). */
static const retry_t *retry_of(apr_status_t rv, ord_db_fault_e fault)
{
    size_t i;

    if (rv == APR_SUCCESS || rv == APR_INCOMPLETE) {
        return NULL;
    }
    for (i = 0; i < sizeof(retries) / sizeof(retries[0]); i++) {
        if (retries[i].fault == fault) {
            return &retries[i];
        }
    }
    return NULL;
}

/* Runs the batch once in one transaction.  APR_SUCCESS when it committed;
 * otherwise the failure, with *fault the database's reading of it (0: no
 * connection) and *at_begin set when BEGIN itself failed.  On the `first`
 * try the connection of a failure whose retry leaves it sound goes back
 * with APR_EAGAIN (retry_t). */
static apr_status_t try_batch(ord_writer_t *w, ticket_t *batch, apr_pool_t *p,
                              int first, ord_db_fault_e *fault, int *at_begin)
{
    ord_db_t *conn = w->open(w->ctx, p);
    const retry_t *retry;
    apr_status_t rv;
    ticket_t *t;

    *fault = 0;
    *at_begin = 0;
    if (!conn) {
        return APR_EGENERAL;
    }
    rv = ord_db_begin_writes(conn, p);
    *at_begin = rv != APR_SUCCESS;
    /* The writes gather what they can, and the flush runs it as a few
     * multi-row statements (ord_store_batch_*). */
    ord_store_batch_begin(conn, p);
    for (t = batch; rv == APR_SUCCESS && t; t = t->next) {
        t->rv = t->fn(conn, p, t->arg);
        if (t->rv != APR_SUCCESS) {
            /* The transaction is lost: the rest need not run. */
            rv = APR_EGENERAL;
        }
    }
    if (rv == APR_SUCCESS) {
        rv = ord_store_batch_flush(conn, p);
    }
    ord_store_batch_discard(conn);
    if (rv == APR_SUCCESS) {
        /* A COMMIT whose answer did not come (the session was lost) may
         * have committed: never run again, and say that it is unknown.  A
         * COMMIT the database refused (a full disk) committed nothing. */
        if (ord_db_commit(conn) != APR_SUCCESS) {
            ord_db_fault_e why = ord_db_fault(conn);

            rv = why == ORD_DB_LOST || why == ORD_DB_CUT ? APR_INCOMPLETE
                                                         : APR_EGENERAL;
        }
    }
    else if (conn->in_transaction) {
        ord_db_rollback(conn);      /* keeps the first failure */
    }
    if (rv != APR_SUCCESS) {
        *fault = ord_db_fault(conn);
    }
    retry = retry_of(rv, *fault);
    w->close(w->ctx, conn, first && retry && retry->connection_sound
                           ? APR_EAGAIN : rv);
    return rv;
}

/* After BEGIN found the database locked by another process (SQLite's
 * BEGIN IMMEDIATE, after the driver's own 1.6 s of retries), batches that
 * nobody waits for (claims, completions: their jobs try again later) fail
 * at once for this long instead of each waiting as long again, so that a
 * request's batch does not queue behind them while the lock lasts. */
#define BUSY_BACKOFF apr_time_from_msec(500)

/* Whether a thread waits for this batch (a request's write). */
static int waited_for(const ticket_t *batch)
{
    for (; batch; batch = batch->next) {
        if (!batch->done_fn) {
            return 1;
        }
    }
    return 0;
}

/* Runs one batch and sets every ticket's outcome.  A batch that failed
 * in a way `retries` names runs once more: a database restart, a killed
 * connection or a deadlock then costs the requests of that batch
 * nothing. */
static void run_batch(ord_writer_t *w, ticket_t *batch, apr_pool_t *p)
{
    apr_status_t failed = APR_EAGAIN;
    ord_db_fault_e fault = ORD_DB_BUSY;
    int at_begin = 0;
    ticket_t *t;

    if (apr_time_now() >= w->busy_until || waited_for(batch)) {
        const retry_t *retry;

        failed = try_batch(w, batch, p, 1, &fault, &at_begin);
        retry = retry_of(failed, fault);
        if (retry) {
            for (t = batch; t; t = t->next) {
                t->rv = APR_SUCCESS;
            }
            if (retry->pause) {
                apr_sleep(retry->pause);
            }
            failed = try_batch(w, batch, p, 0, &fault, &at_begin);
        }
        if (failed != APR_SUCCESS && fault == ORD_DB_BUSY && at_begin) {
            w->busy_until = apr_time_now() + BUSY_BACKOFF;
        }
    }
    for (t = batch; t; t = t->next) {
        if (failed != APR_SUCCESS && t->rv == APR_SUCCESS) {
            t->rv = failed;
        }
    }
}

static void *APR_THREAD_FUNC writer_main(apr_thread_t *thread, void *data)
{
    ord_writer_t *w = data;
    apr_pool_t *scratch = w->scratch;

    apr_thread_mutex_lock(w->lock);
    for (;;) {
        ticket_t *batch = NULL, *last = NULL, *t, *next;
        int n;

        while (!w->waited.head && !w->posted.head && !w->stopping) {
            apr_thread_cond_wait(w->work, w->lock);
        }
        if (!w->waited.head && !w->posted.head) {
            break;      /* stopping, and nothing left */
        }
        /* Up to max_batch tickets; later ones wait for the next.  A quarter
         * is kept for posted ones, so that requests never starve them. */
        n = take_tickets(&w->waited, w->max_batch - w->max_batch / 4, &batch,
                         &last);
        n += take_tickets(&w->posted, w->max_batch - n, &batch, &last);
        take_tickets(&w->waited, w->max_batch - n, &batch, &last);
        apr_thread_mutex_unlock(w->lock);

        for (t = batch; t; t = t->next) {
            t->rv = APR_SUCCESS;
        }
        run_batch(w, batch, scratch);
        apr_pool_clear(scratch);

        for (t = batch; t; t = next) {
            /* Read before the wake: the ticket lives on the submitter's
             * stack, gone once it returns. */
            next = t->next;
            if (t->done_fn) {
                t->done_fn(t->rv, t->arg);
                continue;
            }
            apr_thread_mutex_lock(t->waiter->lock);
            t->done = 1;
            apr_thread_cond_signal(t->waiter->wake);
            apr_thread_mutex_unlock(t->waiter->lock);
        }
        apr_thread_mutex_lock(w->lock);
    }
    apr_thread_mutex_unlock(w->lock);
    /* `scratch` was made in ord_writer_create and goes with w->pool.
     * Return rather than apr_thread_exit(): its pthread_exit() unwinds past
     * this frame without unpoisoning it, which ASan then reports as a
     * stack-buffer-underflow when the thread ends.  Nobody reads the exit
     * status, and the thread's empty APR sub-pool goes with w->pool. */
    return NULL;
}

static apr_status_t writer_cleanup(void *data)
{
    return ord_writer_stop(data);
}

apr_status_t ord_writer_create(ord_writer_t **writer, apr_pool_t *p,
                               int max_batch, ord_writer_open_fn *open,
                               ord_writer_close_fn *close, void *ctx)
{
    ord_writer_t *w = apr_pcalloc(p, sizeof(*w));
    apr_status_t rv;

    w->max_batch = max_batch > 0 ? max_batch : 1;
    w->open = open;
    w->close = close;
    w->ctx = ctx;
    w->pool = p;
    rv = apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&w->work, p);
    }
    /* Both made here, not on the writer's thread: the caller goes on using
     * `p`, and a pool is not safe to use from two threads at once. */
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&w->waiter_pool, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&w->scratch, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_create(&w->thread, NULL, writer_main, w, p);
    }
    if (rv == APR_SUCCESS) {
        /* A pre-cleanup: it runs before the pool's subpools go (mod_dbd's
         * connections among them, in a child), while the thread may still
         * be using them. */
        apr_pool_pre_cleanup_register(p, w, writer_cleanup);
        *writer = w;
    }
    return rv;
}

/* A waiter from the free list, or a new one; called under w->lock. */
static waiter_t *take_waiter(ord_writer_t *w)
{
    waiter_t *wt = w->free_waiters;

    if (wt) {
        w->free_waiters = wt->next_free;
        return wt;
    }
    wt = apr_palloc(w->waiter_pool, sizeof(*wt));
    if (apr_thread_mutex_create(&wt->lock, APR_THREAD_MUTEX_DEFAULT,
                                w->waiter_pool) != APR_SUCCESS
        || apr_thread_cond_create(&wt->wake, w->waiter_pool) != APR_SUCCESS) {
        return NULL;
    }
    return wt;
}

/* Appends `t` for the next batch and wakes the writer; called under
 * w->lock. */
static void append_ticket(ord_writer_t *w, ticket_t *t)
{
    ticket_fifo_t *fifo = t->done_fn ? &w->posted : &w->waited;

    t->next = NULL;
    if (fifo->tail) {
        fifo->tail->next = t;
    }
    else {
        fifo->head = t;
    }
    fifo->tail = t;
    apr_thread_cond_signal(w->work);
}

apr_status_t ord_writer_post(ord_writer_t *w, apr_pool_t *ticket_pool,
                             ord_write_fn *fn, void *arg,
                             ord_write_done_fn *done)
{
    ticket_t *t = apr_pcalloc(ticket_pool, sizeof(*t));

    t->fn = fn;
    t->arg = arg;
    t->rv = APR_EOF;
    t->done_fn = done;
    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        apr_thread_mutex_unlock(w->lock);
        return APR_EOF;
    }
    append_ticket(w, t);
    apr_thread_mutex_unlock(w->lock);
    return APR_SUCCESS;
}

apr_status_t ord_writer_submit(ord_writer_t *w, ord_write_fn *fn, void *arg)
{
    ticket_t t;

    t.fn = fn;
    t.arg = arg;
    t.rv = APR_EOF;
    t.done = 0;
    t.done_fn = NULL;
    t.next = NULL;
    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        apr_thread_mutex_unlock(w->lock);
        return APR_EOF;
    }
    t.waiter = take_waiter(w);
    if (!t.waiter) {
        apr_thread_mutex_unlock(w->lock);
        return APR_ENOMEM;
    }
    append_ticket(w, &t);
    apr_thread_mutex_unlock(w->lock);

    apr_thread_mutex_lock(t.waiter->lock);
    while (!t.done) {
        apr_thread_cond_wait(t.waiter->wake, t.waiter->lock);
    }
    apr_thread_mutex_unlock(t.waiter->lock);

    apr_thread_mutex_lock(w->lock);
    t.waiter->next_free = w->free_waiters;
    w->free_waiters = t.waiter;
    apr_thread_mutex_unlock(w->lock);
    return t.rv;
}

apr_status_t ord_writer_stop(ord_writer_t *w)
{
    apr_status_t rv, trv = APR_SUCCESS;

    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        apr_thread_mutex_unlock(w->lock);
        return APR_SUCCESS;
    }
    w->stopping = 1;
    apr_thread_cond_signal(w->work);
    apr_thread_mutex_unlock(w->lock);
    /* The thread drains what is queued, then ends. */
    rv = apr_thread_join(&trv, w->thread);
    return rv != APR_SUCCESS ? rv : trv;
}
