/*
 * mod_orders_map: the URLs under a `SetHandler orders` or `orders-metrics`
 * are not files, so Apache's walk of the file system for them (core's
 * map_to_storage: a stat of every path segment under DocumentRoot, then
 * <Directory> and .htaccess) is skipped, as mod_proxy does for its URLs.
 * Measured under make bench's POST load on SQLite: 3.3 % of the children's
 * CPU went to that walk, most of it apr_stat.  <Location> sections still
 * apply: Apache walks them again after map_to_storage.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_request.h>
#include <ap_expr.h>

#include "mod_orders.h"

/* The note translate_name leaves for map_to_storage: the request is one
 * of ours. */
#define ORDERS_MAPPED_NOTE "orders-mapped"

const char *orders_handler_set_in(request_rec *r, ap_conf_vector_t *config)
{
    core_dir_config *d = ap_get_core_module_config(config);
    const char *err = NULL, *val;

    if (!d || !d->expr_handler) {
        return NULL;
    }
    val = ap_expr_str_exec(r, d->expr_handler, &err);
    return err ? NULL : val;
}

/* Runs after the translate_name hooks of mod_alias, mod_rewrite and the
 * like, which keep their say: one that maps the URL returns OK first and
 * this one does not run. */
static int orders_translate_name(request_rec *r)
{
    /* After Apache's first walk of <Location> sections (core's fixups set
     * r->handler from the same expression later). */
    const char *handler = orders_handler_set_in(r, r->per_dir_config);

    if (handler && (strcmp(handler, ORDERS_HANDLER) == 0
                    || strcmp(handler, ORDERS_METRICS_HANDLER) == 0)) {
        apr_table_setn(r->notes, ORDERS_MAPPED_NOTE, "1");
    }
    return DECLINED;
}

/* TRACE goes on to Apache's own answer, which http_core gives in this same
 * hook (ap_send_http_trace, after this one). */
static int orders_map_to_storage(request_rec *r)
{
    if (r->method_number == M_TRACE
        || !apr_table_get(r->notes, ORDERS_MAPPED_NOTE)) {
        return DECLINED;
    }
    return OK;
}

void orders_map_register_hooks(void)
{
    ap_hook_translate_name(orders_translate_name, NULL, NULL, APR_HOOK_LAST);
    ap_hook_map_to_storage(orders_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
}
