/*
 * mod_orders glue: what the Apache-facing files share.
 *
 * The module record lives in mod_orders.c; directives in
 * mod_orders_config.c; the processing engine (queue, jobs, recovery) in
 * mod_orders_engine.c; the two handlers in mod_orders_handler.c and
 * mod_orders_metrics.c.  Everything with logic in it is in the ord_* units.
 */
#ifndef MOD_ORDERS_H
#define MOD_ORDERS_H

#include "apr_dbd.h"
#include "httpd.h"
#include "http_config.h"
#include "mod_dbd.h"

#include "ord_metrics.h"
#include "ord_order.h"
#include "ord_store.h"
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
} orders_server_conf_t;

/* Per directory: the collection's switches. */
typedef struct {
    int populate;                       /* OrdersPopulate */
    int bind_user;                      /* OrdersBindUser */
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

/* A connection of mod_dbd's, seen by the store (APR_ENOTIMPL: a driver
 * mod_orders does not speak). */
apr_status_t orders_store_conn(ap_dbd_t *dbd, ord_db_t *conn);
/* The driver's words for the connection's first failure, for the log. */
const char *orders_store_error(ord_db_t *conn);
/* Logs a failure of the database (conn NULL: no connection to be had)
 * under `tag`, with its kind and the driver's words: in full the first
 * time of an incident, at debug level while it lasts.  `r` may be NULL. */
void orders_db_failed(server_rec *s, request_rec *r, const char *tag,
                      const ord_db_t *conn);
/* A use of the database that worked: ends an incident, logging that. */
void orders_db_ok(server_rec *s);

/* Engine (mod_orders_engine.c). */
void orders_engine_register_mutex(apr_pool_t *pconf);
int orders_engine_post_config(apr_pool_t *pconf, server_rec *s);
void orders_engine_child_init(apr_pool_t *pchild, server_rec *s);
/* Hands a stored Pending order to this child's queue; when the queue is
 * full the order waits in the database for the recovery pass. */
void orders_engine_enqueue(server_rec *s, const char *order_id);
/* Runs one write through this child's writer (group commit) and returns
 * once it is committed; see ord_writer.h. */
apr_status_t orders_engine_write(server_rec *s, ord_write_fn *fn, void *arg);

/* Writes shared by the handler and the engine: each wraps one ord_store
 * call, reporting the store's own outcome (APR_NOTFOUND included) in `rv`
 * and failing the batch only when the database did. */
typedef struct {
    const ord_order_t *order;
    apr_time_t lease_until;
    int created;
} orders_insert_write_t;
apr_status_t orders_write_insert(ord_db_t *c, apr_pool_t *p,
                                 void *arg);

/* This child's metrics slot, to bracket transitions (NULL: no engine). */
ord_metrics_slot_t *orders_engine_slot(void);
/* How long the accepting child owns a new order before recovery may take
 * it. */
apr_interval_time_t orders_engine_intake_lease(server_rec *s);

/* Handlers, and the filter that keeps body errors JSON. */
void orders_register_filters(void);
int orders_handler(request_rec *r);
int orders_metrics_handler(request_rec *r);
void orders_metrics_register_hooks(void);

/* Sends `body` as application/json with `status`, and returns OK so that
 * Apache does not replace the body with its own HTML. */
int orders_send_json(request_rec *r, int status, const char *body);
int orders_send_error(request_rec *r, int status, const char *message);
/* 503 with Retry-After: the database cannot answer now. */
int orders_send_unavailable(request_rec *r);
/* The same, for a failure of `conn` (NULL: none to be had), logged under
 * `tag` through orders_db_failed: every 503 of a request goes here. */
int orders_send_db_failure(request_rec *r, const char *tag,
                           const ord_db_t *conn);

#endif /* MOD_ORDERS_H */
