/*
 * mod_orders cache: the answers of the finished orders this child read
 * (OrdersCacheEntries), so that reading one again asks no database.  The
 * logic is ord_cache's; this file gives it the child's lifetime.
 *
 * Lifetime: made in child_init in the child's pool, which goes after the
 * request threads have ended.  Without it (a failed start) every read asks
 * the database.
 */
#include "httpd.h"
#include "http_log.h"

#include "mod_orders.h"

APLOG_USE_MODULE(orders);

static ord_cache_t *finished;

void orders_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    orders_server_conf_t conf = orders_server_settings(s);
    apr_status_t rv = ord_cache_create(&finished, pchild, conf.cache_entries);

    if (rv != APR_SUCCESS) {
        finished = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00039: cannot make "
                     "the cache of finished orders");
    }
}

int orders_cache_find(apr_pool_t *p, const char *order_id,
                      ord_cache_answer_t *answer)
{
    return finished && ord_cache_find(finished, p, order_id, answer);
}

void orders_cache_keep(const ord_order_t *order, const char *etag,
                       const char *json)
{
    ord_cache_answer_t answer;

    if (!finished) {
        return;
    }
    answer.user_id = order->user_id.text;
    answer.etag = etag;
    answer.json = json;
    ord_cache_keep(finished, order->order_id.text, &answer);
}
