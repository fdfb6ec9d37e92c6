/*
 * mod_orders webhook delivery: one thread per child, where
 * OrdersWebhookURL is set, sends the events whose delivery is due with
 * libcurl's multi interface (at most DELIVERY_INFLIGHT at once), signed by
 * ord_webhook, and records each attempt's outcome in order_events.
 *
 * Nothing here runs on a request or job thread: a receiver that hangs
 * holds this thread's transfers (each cut off at OrdersWebhookTimeout) and
 * nothing else.  Each round reads the due events on a mod_dbd connection
 * (walking the backlog takes no write lock), then takes them through the
 * child's writer with a lease in the database, one conditional UPDATE each,
 * so with several children and servers each event is sent by one of them at
 * a time; a child that dies mid-attempt leaves its lease to run out, and
 * the event is sent again (at least once: a receiver deduplicates by
 * webhook-id).  Outcomes are counted in /metrics once their rows say so.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <curl/curl.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "http_log.h"

#include "mod_orders.h"
#include "ord_json.h"
#include "ord_webhook.h"

APLOG_USE_MODULE(orders);

#define DELIVERY_INFLIGHT 32
/* A lease covers the attempt and this much more. */
#define LEASE_SLACK       apr_time_from_sec(5)
/* How often the thread looks for due events when nothing wakes it. */
#define LOOK_AGAIN        apr_time_from_msec(250)
/* How often, at most, one of the children reads the backlog for /metrics:
 * one COUNT on the partial index of the pending events, so that /metrics
 * follows the deliveries closely without a query of its own.  The COUNT
 * reads every pending entry: with a large backlog (a receiver down for
 * hours) it is read at most a tenth of the time (BACKLOG_DUTY times as
 * long as the last read took, between reads). */
#define BACKLOG_EVERY     apr_time_from_msec(250)
#define BACKLOG_DUTY      10
#define ORDERS_VERSION    "0.3"
/* The delivery thread's nice value, above the request threads' 0: when
 * the cores are all busy, intake and processing get them, and the backlog
 * is sent once they are not (it waits in the database meanwhile). */
#define DELIVERY_NICE     10

struct orders_webhook_t {
    server_rec *s;
    orders_engine_t *engine;
    orders_server_conf_t conf;
    const char *holder;
    apr_thread_t *thread;
    volatile apr_uint32_t stopping;
    apr_pool_t *pool;           /* the thread's, per round */
};

/* One attempt under way. */
typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    const ord_event_t *event;
    const char *retry_after;
    apr_pool_t *pool;
} attempt_t;

/* The outcome of one attempt, as its row will say. */
typedef struct {
    apr_int64_t seq;
    ord_webhook_verdict_e verdict;
    const char *state;
    int status;
    apr_time_t next_attempt;
    int recorded;       /* the row took it: our lease still held */
} done_t;

/* One round of the thread: the due events it read, those of them it took
 * through the writer (under its lease, until `lease_until`), then the
 * outcomes of their attempts. */
typedef struct {
    const char *holder;
    apr_time_t now, lease_until;
    apr_array_header_t *due;    /* const ord_event_t *, as read */
    apr_array_header_t *taken;  /* const ord_event_t * */
    apr_array_header_t *done;   /* done_t */
} round_t;

static apr_status_t write_take(ord_db_t *c, apr_pool_t *p, void *arg)
{
    round_t *r = arg;
    int i, n = r->due->nelts;
    ord_store_take_t *takes = apr_pcalloc(p, sizeof(*takes) * (apr_size_t)n);
    apr_status_t rv;

    for (i = 0; i < n; i++) {
        const ord_event_t *e = APR_ARRAY_IDX(r->due, i, const ord_event_t *);
        takes[i].seq = e->cursor.seq;
        takes[i].attempts = e->attempts;
    }
    rv = ord_store_delivery_take_all(c, p, takes, n, r->holder, r->now,
                                     r->lease_until);
    /* From the start each time: the writer may run a batch again. */
    apr_array_clear(r->taken);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        if (takes[i].taken) {
            APR_ARRAY_PUSH(r->taken, const ord_event_t *) =
                APR_ARRAY_IDX(r->due, i, const ord_event_t *);
        }
    }
    return rv;
}

static apr_status_t write_done(ord_db_t *c, apr_pool_t *p, void *arg)
{
    round_t *r = arg;
    int i, n = r->done->nelts;
    ord_store_outcome_t *outcomes = apr_pcalloc(p, sizeof(*outcomes)
                                                   * (apr_size_t)n);
    apr_status_t rv;

    for (i = 0; i < n; i++) {
        const done_t *d = &APR_ARRAY_IDX(r->done, i, done_t);
        outcomes[i].seq = d->seq;
        outcomes[i].state = d->state;
        outcomes[i].status = d->status;
        outcomes[i].next_attempt = d->next_attempt;
    }
    rv = ord_store_delivery_done_all(c, p, outcomes, n, r->holder);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        APR_ARRAY_IDX(r->done, i, done_t).recorded = outcomes[i].changed;
    }
    return rv;
}

/* Keeps the Retry-After of the answer for the verdict. */
static size_t on_header(char *line, size_t size, size_t n, void *data)
{
    attempt_t *a = data;
    size_t len = size * n;

    if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        a->retry_after = apr_pstrndup(a->pool, line + 12, len - 12);
        a->retry_after = apr_pstrndup(a->pool, a->retry_after,
                                      strcspn(a->retry_after, "\r\n"));
    }
    return len;
}

static size_t discard(char *data, size_t size, size_t n, void *unused)
{
    return size * n;
}

/* The transfer of one event: its body and Standard Webhooks headers. */
static CURL *start_attempt(struct orders_webhook_t *w, attempt_t *a,
                           apr_pool_t *p)
{
    ord_event_t sent = *a->event;
    const char *body;
    ord_webhook_headers_t h;
    int i;

    /* The event as the feed shows it, without the feed's own view of its
     * delivery. */
    sent.delivery = NULL;
    body = ord_json_event(p, &sent);

    if (ord_webhook_headers(p, w->conf.webhook_keys,
                            ord_events_id(p, a->event->cursor.seq),
                            apr_time_now(), body, strlen(body),
                            ORDERS_VERSION, &h) != APR_SUCCESS) {
        return NULL;
    }
    a->curl = curl_easy_init();
    if (!a->curl) {
        return NULL;
    }
    for (i = 0; i < ORD_WEBHOOK_H_COUNT; i++) {
        a->headers = curl_slist_append(a->headers,
                                       apr_psprintf(p, "%s: %s",
                                                    h.field[i].name,
                                                    h.field[i].value));
    }
    a->headers = curl_slist_append(a->headers, "Expect:");
    curl_easy_setopt(a->curl, CURLOPT_URL, w->conf.webhook_url);
    curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, a->headers);
    curl_easy_setopt(a->curl, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS,
                     (long)apr_time_as_msec(w->conf.webhook_timeout));
    curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(a->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(a->curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(a->curl, CURLOPT_PRIVATE, a);
    return a->curl;
}

/* The verdict on a finished transfer, as the row's new delivery state. */
static void judge(struct orders_webhook_t *w, attempt_t *a, CURLcode result,
                  done_t *d)
{
    ord_webhook_outcome_t out;
    apr_uint32_t random = 0;
    apr_time_t now = apr_time_now();
    long status = 0;

    if (result == CURLE_OK) {
        curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    apr_generate_random_bytes((unsigned char *)&random, sizeof(random));
    ord_webhook_judge(&w->conf.webhook_retry, a->event->attempts + 1,
                      (int)status, a->retry_after, now, random, &out);
    d->seq = a->event->cursor.seq;
    d->verdict = out.verdict;
    d->status = (int)status;
    d->next_attempt = now + out.delay;
    d->state = out.verdict == ORD_WEBHOOK_DELIVERED ? "delivered"
               : out.verdict == ORD_WEBHOOK_RETRY ? "pending" : "failed";
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s, "ORD00080: event %s "
                 "attempt %d: %ld (%s): %s", ord_events_id(a->pool, d->seq),
                 a->event->attempts + 1, status,
                 result == CURLE_OK ? "answered" : curl_easy_strerror(result),
                 ord_webhook_verdict_name(out.verdict));
}

/* Sends the events of r->taken all at once and records the outcomes. */
static void send_taken(struct orders_webhook_t *w, CURLM *multi, round_t *r,
                       apr_pool_t *p)
{
    apr_array_header_t *held = r->taken;
    attempt_t *attempts;
    CURLMsg *msg;
    int i, running = 0, left;

    attempts = apr_pcalloc(p, held->nelts * sizeof(*attempts));
    for (i = 0; i < held->nelts; i++) {
        attempts[i].event = APR_ARRAY_IDX(held, i, const ord_event_t *);
        attempts[i].pool = p;
        if (start_attempt(w, &attempts[i], p)) {
            curl_multi_add_handle(multi, attempts[i].curl);
        }
    }
    r->done = apr_array_make(p, held->nelts, sizeof(done_t));
    do {
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left))) {
            attempt_t *a = NULL;
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&a);
            judge(w, a, msg->data.result, apr_array_push(r->done));
            curl_multi_remove_handle(multi, a->curl);
        }
        if (running) {
            curl_multi_poll(multi, NULL, 0, 100, NULL);
        }
    } while (running && !apr_atomic_read32(&w->stopping));
    for (i = 0; i < held->nelts; i++) {
        if (attempts[i].curl) {
            curl_multi_remove_handle(multi, attempts[i].curl);
            curl_easy_cleanup(attempts[i].curl);
        }
        curl_slist_free_all(attempts[i].headers);
    }
    /* Counted once committed, and only those whose row took them: an
     * outcome that did not land is sent and counted again later. */
    if (r->done->nelts > 0
        && orders_engine_write(w->engine, write_done, r) == APR_SUCCESS) {
        for (i = 0; i < r->done->nelts; i++) {
            done_t *d = &APR_ARRAY_IDX(r->done, i, done_t);
            if (d->recorded) {
                ord_metrics_delivery(orders_metrics, d->verdict);
            }
        }
    }
}

/* The events due now, read on a connection of mod_dbd's (no write lock
 * while it walks the backlog); none when the database does not answer. */
static apr_array_header_t *read_due(struct orders_webhook_t *w,
                                    apr_time_t now, apr_pool_t *p)
{
    apr_array_header_t *due = NULL;
    ap_dbd_t *dbd = ap_dbd_open(p, w->s);
    ord_db_t conn;

    if (!dbd) {
        return NULL;
    }
    if (orders_store_conn(dbd, &conn) != APR_SUCCESS
        || ord_store_deliveries_due(&conn, p, now, DELIVERY_INFLIGHT, &due)
           != APR_SUCCESS) {
        due = NULL;
    }
    orders_dbd_close(w->s, dbd);
    return due;
}

/* Publishes the delivery backlog for /metrics when it is this child's turn
 * (`*every`: how long the turn it takes lasts, from how long the last read
 * took). */
static void read_backlog(struct orders_webhook_t *w, apr_time_t now,
                         apr_interval_time_t *every, apr_pool_t *p)
{
    ap_dbd_t *dbd;
    ord_db_t conn;
    apr_uint64_t pending = 0;
    apr_time_t oldest_at = 0;

    if (!ord_metrics_backlog_turn(orders_metrics, now, *every)
        || !(dbd = ap_dbd_open(p, w->s))) {
        return;
    }
    if (orders_store_conn(dbd, &conn) == APR_SUCCESS
        && ord_store_deliveries_backlog(&conn, p, &pending, &oldest_at)
           == APR_SUCCESS) {
        ord_metrics_delivery_backlog(orders_metrics, pending, oldest_at);
    }
    orders_dbd_close(w->s, dbd);
    *every = (apr_time_now() - now) * BACKLOG_DUTY;
    if (*every < BACKLOG_EVERY) {
        *every = BACKLOG_EVERY;
    }
}

static void *APR_THREAD_FUNC delivery_main(apr_thread_t *thread, void *data)
{
    struct orders_webhook_t *w = data;
    CURLM *multi = curl_multi_init();
    apr_pool_t *p = w->pool;
    apr_interval_time_t backlog_every = BACKLOG_EVERY;
    int schema = 0;

    /* Linux gives each thread a nice value of its own (setpriority on the
     * thread's id); raising it needs no privilege.  A failure only costs
     * intake the cores deliveries take. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DELIVERY_NICE)
        != 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, APR_FROM_OS_ERROR(errno), w->s,
                     "the delivery thread keeps the request threads' "
                     "priority");
    }
    while (multi && !apr_atomic_read32(&w->stopping)) {
        round_t round;

        /* Not before the schema exists: the first child of the first
         * generation makes it (and loads the counters, so the first load
         * says so; a later reload of the counters changes nothing here). */
        if (!schema) {
            schema = apr_atomic_read32(&orders_metrics->loaded_generation)
                     != 0;
            if (!schema) {
                orders_engine_wait_change(LOOK_AGAIN);
                continue;
            }
        }
        round.holder = w->holder;
        round.now = apr_time_now();
        read_backlog(w, round.now, &backlog_every, p);
        round.lease_until = round.now + w->conf.webhook_timeout
                            + LEASE_SLACK;
        round.due = read_due(w, round.now, p);
        round.taken = apr_array_make(p, DELIVERY_INFLIGHT,
                                     sizeof(const ord_event_t *));
        if (round.due && round.due->nelts > 0
            && orders_engine_write(w->engine, write_take, &round)
               == APR_SUCCESS
            && round.taken->nelts > 0) {
            send_taken(w, multi, &round, p);
        }
        else {
            /* Nothing due, or another child or server took it first. */
            orders_engine_wait_change(LOOK_AGAIN);
        }
        apr_pool_clear(p);
    }
    if (multi) {
        curl_multi_cleanup(multi);
    }
    return NULL;
}

apr_status_t orders_webhook_start(struct orders_webhook_t **out,
                                  orders_engine_t *e, server_rec *s,
                                  apr_pool_t *pchild)
{
    struct orders_webhook_t *w = apr_pcalloc(pchild, sizeof(*w));
    apr_status_t rv;

    w->s = s;
    w->engine = e;
    w->conf = orders_server_settings(s);
    w->holder = orders_engine_holder(e);
    /* Made here, not on the thread: pchild's other users go on at once,
     * and a pool is not safe to use from two threads. */
    rv = apr_pool_create(&w->pool, pchild);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Not thread-safe, and once per process: here, before any thread. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return APR_EGENERAL;
    }
    rv = apr_thread_create(&w->thread, NULL, delivery_main, w, pchild);
    if (rv == APR_SUCCESS) {
        *out = w;
    }
    return rv;
}

apr_status_t orders_webhook_stop(struct orders_webhook_t *w)
{
    apr_status_t rv, trv = APR_SUCCESS;

    apr_atomic_set32(&w->stopping, 1);
    rv = apr_thread_join(&trv, w->thread);
    return rv != APR_SUCCESS ? rv : trv;
}
