/*
 * mod_orders: an order intake service inside Apache httpd.
 *
 * The module record and its hooks: the shared counter table (kept across
 * restarts as retained data), the engine's start in each child, the two
 * handlers.  See README.md for how it is used and DESIGN.md for why it is
 * built this way.
 */
#include "httpd.h"
#include "apr_shm.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_orders.h"


#define RETAINED_KEY "mod_orders-metrics"

ord_metrics_t *orders_metrics;

/* Lives in the process pool: the same table across graceful restarts, so
 * children of the old generation that are still finishing orders and those
 * of the new one count into one place. */
typedef struct {
    apr_shm_t *shm;
    apr_size_t size;
} orders_retained_t;

static int orders_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    orders_dbd_register_mutex(pconf);
    orders_recovery_register_mutex(pconf);
    return OK;
}

static apr_status_t attach_metrics(server_rec *s)
{
    orders_retained_t *retained = ap_retained_data_get(RETAINED_KEY);
    int limit = 0;
    apr_uint32_t nslots;
    apr_size_t size;
    apr_status_t rv;

    /* Children of two generations can run at once during a graceful
     * restart: room for twice the most children there can be. */
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit);
    nslots = (apr_uint32_t)(limit > 0 ? limit : 1) * 2;
    size = ord_metrics_size(nslots);
    if (!retained) {
        retained = ap_retained_data_create(RETAINED_KEY, sizeof(*retained));
    }
    if (!retained->shm || retained->size < size) {
        rv = apr_shm_create(&retained->shm, size, NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00001: cannot "
                         "create the shared memory for the metrics");
            return rv;
        }
        retained->size = size;
        ord_metrics_init(apr_shm_baseaddr_get(retained->shm), nslots,
                         apr_time_now());
    }
    orders_metrics = apr_shm_baseaddr_get(retained->shm);
    return APR_SUCCESS;
}

static int orders_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (attach_metrics(s) != APR_SUCCESS
        || orders_dbd_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (orders_watch_post_config(pconf, s) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ORD00032: cannot "
                     "register the statement watch with mod_watchdog: "
                     "OrdersDatabaseTimeout is not enforced");
    }
    return orders_recovery_post_config(pconf, s);
}

/* What apachectl configtest refuses beyond each directive's own range. */
static int orders_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    orders_server_conf_t c = orders_server_settings(s);

    if (c.webhook_url && !c.webhook_keys) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ORD00002: "
                     "OrdersWebhookURL needs OrdersWebhookSecret (whsec_ and "
                     "the base64 of at least %d bytes)",
                     ORD_WEBHOOK_SECRET_MIN_BYTES);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void orders_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!orders_metrics || !orders_dbd_configured()) {
        return;     /* nothing to serve, or no database to serve it from */
    }
    orders_mysql_child_init(s);
    orders_watch_child_init(s);
    rv = orders_dbd_child_init(pchild);
    if (rv == APR_SUCCESS) {
        rv = orders_recovery_child_init(pchild);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00040: cannot "
                     "attach the orders mutexes in this child");
        return;
    }
    orders_cache_child_init(pchild, s);
    orders_engine_child_init(pchild, s);
    orders_recovery_first_load(pchild, s);
}

static void orders_register_hooks(apr_pool_t *p)
{
    /* mod_dbd builds each child's connection pool in its child_init. */
    static const char *const after_dbd[] = { "mod_dbd.c", NULL };

    ap_hook_pre_config(orders_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(orders_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(orders_mysql_check_config, NULL, NULL,
                         APR_HOOK_MIDDLE);
    ap_hook_post_config(orders_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(orders_child_init, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(orders_handler, NULL, NULL, APR_HOOK_MIDDLE);
    orders_register_filters();
    ap_hook_handler(orders_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    orders_metrics_register_hooks();
    orders_map_register_hooks();
}

AP_DECLARE_MODULE(orders) = {
    STANDARD20_MODULE_STUFF,
    orders_create_dir_conf,
    orders_merge_dir_conf,
    orders_create_server_conf,
    orders_merge_server_conf,
    orders_cmds,
    orders_register_hooks,
    AP_MODULE_FLAG_NONE
};
