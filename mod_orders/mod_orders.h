/*
 * mod_orders glue: what the Apache-facing files share.
 *
 * The module record lives in mod_orders.c; directives in
 * mod_orders_config.c; mod_dbd's connections in mod_orders_dbd.c; the
 * per-child engine and its domain calls in mod_orders_engine.c; the schema
 * load and the recovery pass in mod_orders_recovery.c; answers, bodies and
 * the mount in mod_orders_http.c; request ids, notes and outcomes in
 * mod_orders_request.c; the two handlers in mod_orders_handler.c and
 * mod_orders_metrics.c.  Everything with logic in it is in the ord_*
 * units.
 */
#ifndef MOD_ORDERS_H
#define MOD_ORDERS_H

#include "apr_dbd.h"
#include "httpd.h"
#include "http_config.h"
#include "mod_dbd.h"

#include "ord_cache.h"
#include "ord_metrics.h"
#include "ord_order.h"
#include "ord_request.h"
#include "ord_store.h"
#include "ord_webhook.h"
#include "ord_writer.h"

extern module AP_MODULE_DECLARE_DATA orders_module;

#define ORDERS_UNSET (-1)

/* Per server (main server and virtual hosts). */
typedef struct {
    int workers;                        /* OrdersWorkers */
    int queue_size;                     /* OrdersQueueSize */
    apr_interval_time_t processing_min; /* OrdersProcessingTime MIN */
    apr_interval_time_t processing_max; /* ... MAX */
    apr_interval_time_t recovery;       /* OrdersRecoveryInterval */
    int max_items;                      /* OrdersMaxItems */
    apr_interval_time_t event_retention; /* OrdersEventRetention */
    int max_waiters;                    /* OrdersMaxWaiters */
    int cache_entries;                  /* OrdersCacheEntries */
    const char *webhook_url;            /* OrdersWebhookURL, NULL: none */
    const ord_webhook_keys_t *webhook_keys; /* OrdersWebhookSecret */
    apr_interval_time_t webhook_timeout; /* OrdersWebhookTimeout */
    apr_interval_time_t database_timeout; /* OrdersDatabaseTimeout */
    ord_webhook_policy_t webhook_retry; /* OrdersWebhookRetry, ...Attempts */
} orders_server_conf_t;

/* Per directory: the collection's switches. */
typedef struct {
    int populate;                       /* OrdersPopulate */
    int bind_user;                      /* OrdersBindUser */
    int webhook_admin;                  /* OrdersWebhookAdmin */
} orders_dir_conf_t;

extern const command_rec orders_cmds[];
void *orders_create_server_conf(apr_pool_t *p, server_rec *s);
void *orders_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *orders_create_dir_conf(apr_pool_t *p, char *dir);
void *orders_merge_dir_conf(apr_pool_t *p, void *base, void *add);
/* The server's settings with defaults filled in where unset. */
orders_server_conf_t orders_server_settings(server_rec *s);

/* The counter table every child shares (set in post_config). */
extern ord_metrics_t *orders_metrics;

/* mod_orders_dbd.c: mod_dbd's connections as ord_db connections. */
void orders_dbd_register_mutex(apr_pool_t *pconf);
apr_status_t orders_dbd_post_config(apr_pool_t *pconf, server_rec *s);
/* 0 when no DBDriver is configured anywhere (logged once, ORD00003). */
int orders_dbd_configured(void);
apr_status_t orders_dbd_child_init(apr_pool_t *pchild);
/* A connection of mod_dbd's, seen by the store (APR_ENOTIMPL: a driver
 * mod_orders does not speak). */
apr_status_t orders_store_conn(ap_dbd_t *dbd, ord_db_t *conn);
/* mod_orders_mysql.c: a mysql connection's auto-reconnect off and its
 * check renewing a broken session (other drivers: nothing).  APR_ENOTIMPL
 * when that cannot be done: the connection is not used. */
void orders_mysql_child_init(server_rec *s);
/* The ops of an adopted mysql connection (set up by its child_init). */
const ord_db_ops_t *orders_mysql_ops(void);
/* check_config hook: refuses to start (configtest too) when a server's
 * DBDriver mysql has DBDParams asking for flags=CLIENT_FOUND_ROWS. */
int orders_mysql_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s);

/* The watch on statements that the database does not answer
 * (mod_orders_watch.c): registered with mod_watchdog in post_config, set
 * up in each child, and put on every connection orders_store_conn hands
 * out. */
apr_status_t orders_watch_post_config(apr_pool_t *pconf, server_rec *s);
void orders_watch_child_init(server_rec *s);
void orders_watch_adopt(ord_db_t *conn);
apr_status_t orders_mysql_adopt(ord_db_t *c, server_rec *s);
/* Reconnect on again, for mod_dbd's check when it hands `dbd` out next. */
void orders_mysql_release(ap_dbd_t *dbd);
/* ap_dbd_acquire, and ap_dbd_close for what ap_dbd_open gave: each gives
 * the connection back ready for mod_dbd's check (orders_mysql_release). */
ap_dbd_t *orders_dbd_acquire(request_rec *r);
void orders_dbd_close(server_rec *s, ap_dbd_t *dbd);
/* The request's connection (ap_dbd_acquire), NULL when there is none. */
ord_db_t *orders_request_conn(request_rec *r);
/* Logs a failure of the database (conn NULL: no connection to be had)
 * under `tag`, with its kind and the driver's words: in full the first
 * time of an incident, at debug level while it lasts.  `r` may be NULL. */
void orders_db_failed(server_rec *s, request_rec *r, const char *tag,
                      const ord_db_t *conn);
/* A use of the database that worked: ends an incident, logging that. */
void orders_db_ok(server_rec *s);
/* The writer's connection for one batch (ord_writer_open_fn/close_fn; the
 * context is the server_rec). */
ord_db_t *orders_dbd_writer_open(void *ctx, apr_pool_t *p);
void orders_dbd_writer_close(void *ctx, ord_db_t *conn, apr_status_t outcome);

/* mod_orders_engine.c: this child's engine and its domain calls.  Each
 * returns APR_EINIT when the child has no engine (nothing was written). */
typedef struct orders_engine_t orders_engine_t;
void orders_engine_child_init(apr_pool_t *pchild, server_rec *s);
/* Stores a new order (durable once this returns) and starts its processing
 * here: *created 1, or 0 when its order_id exists already (nothing
 * written).  Otherwise a failure: APR_INCOMPLETE when the COMMIT's answer
 * was lost (it may be stored: the client's retry tells). */
apr_status_t orders_engine_create(const ord_order_t *order, int *created);
/* Pending -> Cancelled: APR_SUCCESS, APR_NOTFOUND when no longer Pending,
 * or a failure. */
apr_status_t orders_engine_cancel(const char *order_id);
/* Records the batch (APR_EEXIST: used before), then stores `total` random
 * orders in chunks (each all or none) and queues them: *stored of them;
 * a sentence in `errors` (const char *) per chunk that failed
 * (mod_orders_populate.c). */
apr_status_t orders_engine_populate(apr_pool_t *p, const char *batch_id,
                                    int total, int *stored,
                                    apr_array_header_t *errors);
/* Queues event `seq` for webhook delivery again (APR_NOTFOUND: no such
 * event, or written without a webhook) (mod_orders_populate.c). */
apr_status_t orders_engine_redeliver(apr_int64_t seq);
/* A stored Pending order to this engine's queue; when the queue is full
 * (or the child stopping) it waits in the database for the recovery pass. */
void orders_engine_enqueue(orders_engine_t *e, const char *order_id);
server_rec *orders_engine_server(orders_engine_t *e);
/* Waiting reads of this child: a place among OrdersMaxWaiters (1) or none
 * (0: answer at once); a wait of at most `at_most` for a batch of this
 * child's writer to commit (an order or event of this child changed) --
 * a waiter looks at the database again after it either way, to see other
 * children's and servers' changes. */
int orders_engine_wait_begin(void);
void orders_engine_wait_end(void);
void orders_engine_wait_change(apr_interval_time_t at_most);
/* A waiting read's wait for a change until `until`: at most a second at a
 * time, since other children's and servers' changes wake nobody here, so
 * the caller looks at the database again after each. */
void orders_engine_wait_until(apr_time_t until);
/* This child's metrics slot (NULL: no engine). */
ord_metrics_slot_t *orders_engine_slot(void);
/* For the recovery pass: the engine, held until _release (NULL when there
 * is none or it is stopping); its holder name (token prefix, unique to
 * this child across servers); the room left in its queue; a write through
 * its writer (waits for the commit); an orphan's job started. */
orders_engine_t *orders_engine_acquire(void);
void orders_engine_release(void);
const char *orders_engine_holder(orders_engine_t *e);
int orders_engine_room(orders_engine_t *e);
apr_status_t orders_engine_write(orders_engine_t *e, ord_write_fn *fn,
                                 void *arg);
apr_status_t orders_engine_take_over(orders_engine_t *e, const char *order_id,
                                     ord_status_e from);

/* mod_orders_webhook.c: this child's webhook delivery thread (where
 * OrdersWebhookURL is set); stopped before the engine's writer. */
typedef struct orders_webhook_t orders_webhook_t;
apr_status_t orders_webhook_start(orders_webhook_t **w, orders_engine_t *e,
                                  server_rec *s, apr_pool_t *pchild);
apr_status_t orders_webhook_stop(orders_webhook_t *w);

/* mod_orders_recovery.c: the schema and counter load, the recovery pass. */
void orders_recovery_register_mutex(apr_pool_t *pconf);
int orders_recovery_post_config(apr_pool_t *pconf, server_rec *s);
apr_status_t orders_recovery_child_init(apr_pool_t *pchild);
/* Makes sure the schema exists and the shared counters hold the table's
 * figures for this server generation (the first child of a generation
 * does it; the others find it done). */
apr_status_t orders_recovery_load(server_rec *s, apr_pool_t *p);
/* The load at a child's start: at the first start the other children may
 * hold the database while they switch it to WAL, so it tries for a few
 * seconds before leaving it to the recovery pass. */
void orders_recovery_first_load(apr_pool_t *pchild, server_rec *s);

/* mod_orders_request.c: who a request is and what came of it.  The
 * request's id, made the first time it is asked for (mod_unique_id's
 * UNIQUE_ID, a valid X-Request-ID, or random), sent as Request-Id and used
 * as the error_log's log id; every handler asks for it first. */
const char *orders_request_id(request_rec *r);
/* The orders-order-id and orders-user-id notes (NULL: not known). */
void orders_request_note_order(request_rec *r, const char *order_id,
                               const char *user_id);
/* The orders-outcome note and the answers counter, from r->status and the
 * request's route (`metrics` 1 for the metrics handler); returns
 * `answer`, the handler's return value. */
int orders_request_end(request_rec *r, ord_route_action_e action,
                       int metrics, int answer);

/* Handlers (mod_orders_handler.c, mod_orders_metrics.c). */
/* mod_orders_cache.c: the answers of finished orders this child read
 * (OrdersCacheEntries, ord_cache). */
void orders_cache_child_init(apr_pool_t *pchild, server_rec *s);
/* The answer kept for a finished order: 1, or 0 when it must be read. */
int orders_cache_find(apr_pool_t *p, const char *order_id,
                      ord_cache_answer_t *answer);
/* Keeps the answer (ETag, JSON) just read of `order`, which the caller
 * found finished (ord_status_final). */
void orders_cache_keep(const ord_order_t *order, const char *etag,
                       const char *json);

/* The names SetHandler gives the two handlers. */
#define ORDERS_HANDLER         "orders"
#define ORDERS_METRICS_HANDLER "orders-metrics"

int orders_handler(request_rec *r);
int orders_metrics_handler(request_rec *r);
void orders_metrics_register_hooks(void);
/* mod_orders_map.c: no file-system walk for the handlers' URLs. */
void orders_map_register_hooks(void);
/* The handler a SetHandler of the section `config` names for `r` (NULL:
 * none, or its expression failed). */
const char *orders_handler_set_in(request_rec *r, ap_conf_vector_t *config);

/* mod_orders_http.c: answers, bodies, the mount.  The filter keeps body
 * errors JSON. */
void orders_register_filters(void);
/* Takes the request's JSON body: APR_SUCCESS with *body set, or an error
 * already answered, whose handler return value is *answer. */
apr_status_t orders_receive_json_body(request_rec *r, const char **body,
                                      apr_size_t *len, int *answer);
/* Before an answer that does not read the body: a small body (a declared
 * length within the module's limit) is read and dropped, so that an HTTP/2
 * client is not sent RST_STREAM after the answer (curl 7.88 then drops
 * the answer); any other ends the connection after the answer. */
void orders_discard_body(request_rec *r);
/* Where the collection is mounted (the <Location> that set the handler). */
const char *orders_mount_of(request_rec *r);
/* Under OrdersBindUser, the authenticated user every order belongs to ("":
 * none signed in); NULL when orders are not bound to users. */
const char *orders_bound_user(request_rec *r);
/* 304 Not Modified, no body (the headers set so far go out). */
int orders_send_not_modified(request_rec *r);
/* GET {mount}/events (mod_orders_events.c). */
int orders_handle_events(request_rec *r, const char *mount);

/* Sends `body` as application/json with `status`, and returns OK so that
 * Apache does not replace the body with its own HTML. */
int orders_send_json(request_rec *r, int status, const char *body);
int orders_send_error(request_rec *r, int status, const char *message);
/* 503 with Retry-After: the database cannot answer now. */
int orders_send_unavailable(request_rec *r);
/* 503: no database is configured (ORD00003 said so at start). */
int orders_send_no_database(request_rec *r);
/* The same, for a failure of `conn` (NULL: none to be had), logged under
 * `tag` through orders_db_failed: every 503 of a read goes here. */
int orders_send_db_failure(request_rec *r, const char *tag,
                           const ord_db_t *conn);
/* The same for a write through the engine that failed with `rv` (the
 * writer logged the database's words). */
int orders_send_write_failure(request_rec *r, const char *tag,
                              apr_status_t rv);

#endif /* MOD_ORDERS_H */
