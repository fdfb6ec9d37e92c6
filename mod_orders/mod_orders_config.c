/*
 * mod_orders directives: one table, setters that check and name the
 * accepted range, create/merge of server and directory configs.  The
 * documentation of every directive is conf/orders.conf; a test compares it
 * with this table.
 */
#include <stdlib.h>

#include "httpd.h"
#include "apr_strings.h"
#include "apr_uri.h"
#include "http_config.h"

#include "mod_orders.h"

/* Defaults and ranges: the same macros feed the setters and the help text
 * that `apache2 -L` prints, which a test compares with conf/orders.conf. */
#define DEFAULT_WORKERS             8
#define DEFAULT_QUEUE_SIZE          10000
#define DEFAULT_PROCESSING_SECONDS  2
#define DEFAULT_RECOVERY_SECONDS    10
#define DEFAULT_MAX_ITEMS           1000
#define DEFAULT_EVENT_RETENTION     604800
#define DEFAULT_MAX_WAITERS         16
#define DEFAULT_CACHE_ENTRIES       16384
#define DEFAULT_WEBHOOK_TIMEOUT     10
#define DEFAULT_DATABASE_TIMEOUT    5
#define DEFAULT_WEBHOOK_RETRY_MIN   5
#define DEFAULT_WEBHOOK_RETRY_MAX   3600
#define DEFAULT_WEBHOOK_ATTEMPTS    15

#define MAX_WORKERS             1024
#define MAX_QUEUE_SIZE          10000000
#define MAX_PROCESSING_SECONDS  3600
#define MAX_RECOVERY_SECONDS    3600
#define MAX_ITEMS               100000
#define MAX_EVENT_RETENTION     315360000  /* ten years */
#define MAX_WAITERS             100000
#define MAX_CACHE_ENTRIES       10000000
#define MAX_WEBHOOK_TIMEOUT     300
#define MAX_DATABASE_TIMEOUT    300
#define MAX_WEBHOOK_RETRY       86400
#define MAX_WEBHOOK_ATTEMPTS    1000

#define S(x) APR_STRINGIFY(x)

void *orders_create_server_conf(apr_pool_t *p, server_rec *s)
{
    orders_server_conf_t *c = apr_palloc(p, sizeof(*c));

    c->workers = ORDERS_UNSET;
    c->queue_size = ORDERS_UNSET;
    c->processing_min = ORDERS_UNSET;
    c->processing_max = ORDERS_UNSET;
    c->recovery = ORDERS_UNSET;
    c->max_items = ORDERS_UNSET;
    c->event_retention = ORDERS_UNSET;
    c->max_waiters = ORDERS_UNSET;
    c->cache_entries = ORDERS_UNSET;
    c->webhook_url = NULL;
    c->webhook_keys = NULL;
    c->webhook_timeout = ORDERS_UNSET;
    c->database_timeout = ORDERS_UNSET;
    c->webhook_retry.min = ORDERS_UNSET;
    c->webhook_retry.max = ORDERS_UNSET;
    c->webhook_retry.attempts = ORDERS_UNSET;
    return c;
}

#define MERGED(field) (add->field != ORDERS_UNSET ? add->field : base->field)

void *orders_merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
    orders_server_conf_t *base = base_, *add = add_;
    orders_server_conf_t *c = apr_palloc(p, sizeof(*c));

    c->workers = MERGED(workers);
    c->queue_size = MERGED(queue_size);
    c->processing_min = MERGED(processing_min);
    c->processing_max = MERGED(processing_max);
    c->recovery = MERGED(recovery);
    c->max_items = MERGED(max_items);
    c->event_retention = MERGED(event_retention);
    c->max_waiters = MERGED(max_waiters);
    c->cache_entries = MERGED(cache_entries);
    c->webhook_url = add->webhook_url ? add->webhook_url : base->webhook_url;
    c->webhook_keys = add->webhook_keys ? add->webhook_keys
                                        : base->webhook_keys;
    c->webhook_timeout = MERGED(webhook_timeout);
    c->database_timeout = MERGED(database_timeout);
    c->webhook_retry = add->webhook_retry.min != ORDERS_UNSET
                       ? add->webhook_retry : base->webhook_retry;
    if (add->webhook_retry.attempts != ORDERS_UNSET) {
        c->webhook_retry.attempts = add->webhook_retry.attempts;
    }
    else {
        c->webhook_retry.attempts = base->webhook_retry.attempts;
    }
    return c;
}

void *orders_create_dir_conf(apr_pool_t *p, char *dir)
{
    orders_dir_conf_t *c = apr_palloc(p, sizeof(*c));

    c->populate = ORDERS_UNSET;
    c->bind_user = ORDERS_UNSET;
    c->webhook_admin = ORDERS_UNSET;
    return c;
}

void *orders_merge_dir_conf(apr_pool_t *p, void *base_, void *add_)
{
    orders_dir_conf_t *base = base_, *add = add_;
    orders_dir_conf_t *c = apr_palloc(p, sizeof(*c));

    c->populate = MERGED(populate);
    c->bind_user = MERGED(bind_user);
    c->webhook_admin = MERGED(webhook_admin);
    return c;
}

orders_server_conf_t orders_server_settings(server_rec *s)
{
    orders_server_conf_t c = *(orders_server_conf_t *)ap_get_module_config(
                                 s->module_config, &orders_module);

    if (c.workers == ORDERS_UNSET) {
        c.workers = DEFAULT_WORKERS;
    }
    if (c.queue_size == ORDERS_UNSET) {
        c.queue_size = DEFAULT_QUEUE_SIZE;
    }
    if (c.processing_min == ORDERS_UNSET) {
        c.processing_min = apr_time_from_sec(DEFAULT_PROCESSING_SECONDS);
        c.processing_max = c.processing_min;
    }
    if (c.recovery == ORDERS_UNSET) {
        c.recovery = apr_time_from_sec(DEFAULT_RECOVERY_SECONDS);
    }
    if (c.max_items == ORDERS_UNSET) {
        c.max_items = DEFAULT_MAX_ITEMS;
    }
    if (c.event_retention == ORDERS_UNSET) {
        c.event_retention = apr_time_from_sec(DEFAULT_EVENT_RETENTION);
    }
    if (c.max_waiters == ORDERS_UNSET) {
        c.max_waiters = DEFAULT_MAX_WAITERS;
    }
    if (c.cache_entries == ORDERS_UNSET) {
        c.cache_entries = DEFAULT_CACHE_ENTRIES;
    }
    if (c.webhook_timeout == ORDERS_UNSET) {
        c.webhook_timeout = apr_time_from_sec(DEFAULT_WEBHOOK_TIMEOUT);
    }
    if (c.database_timeout == ORDERS_UNSET) {
        c.database_timeout = apr_time_from_sec(DEFAULT_DATABASE_TIMEOUT);
    }
    if (c.webhook_retry.min == ORDERS_UNSET) {
        c.webhook_retry.min = apr_time_from_sec(DEFAULT_WEBHOOK_RETRY_MIN);
        c.webhook_retry.max = apr_time_from_sec(DEFAULT_WEBHOOK_RETRY_MAX);
    }
    if (c.webhook_retry.attempts == ORDERS_UNSET) {
        c.webhook_retry.attempts = DEFAULT_WEBHOOK_ATTEMPTS;
    }
    return c;
}

static orders_server_conf_t *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &orders_module);
}

/* A whole number in [min, max], or the message that names the directive
 * and the range. */
static const char *parse_count(cmd_parms *cmd, const char *arg, int min,
                               int max, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (end == arg || *end != '\0' || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s must be a whole number from %d to "
                            "%d, not '%s'", cmd->cmd->name, min, max, arg);
    }
    *out = (int)v;
    return NULL;
}

/* Seconds, fractions allowed (to the microsecond), in [min, max]. */
static const char *parse_seconds(cmd_parms *cmd, const char *arg,
                                 double min, double max,
                                 apr_interval_time_t *out)
{
    char *end;
    double v = strtod(arg, &end);

    if (end == arg || *end != '\0' || !(v >= min && v <= max)) {
        return apr_psprintf(cmd->pool, "%s takes seconds from %g to %g "
                            "(fractions allowed), not '%s'", cmd->cmd->name,
                            min, max, arg);
    }
    *out = (apr_interval_time_t)(v * APR_USEC_PER_SEC + 0.5);
    return NULL;
}

/* Settings of the per-child engine: one engine serves every virtual host of
 * a child, so they belong to the main server config. */
static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_workers(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_count(cmd, arg, 1, MAX_WORKERS,
                                   &server_conf(cmd)->workers);
}

static const char *set_queue_size(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_count(cmd, arg, 1, MAX_QUEUE_SIZE,
                                   &server_conf(cmd)->queue_size);
}

static const char *set_processing_time(cmd_parms *cmd, void *dc,
                                       const char *min_arg,
                                       const char *max_arg)
{
    orders_server_conf_t *c = server_conf(cmd);
    apr_interval_time_t min, max;
    const char *err = global_only(cmd);

    if (!err) {
        err = parse_seconds(cmd, min_arg, 0, MAX_PROCESSING_SECONDS, &min);
    }
    if (!err) {
        max = min;
        if (max_arg) {
            err = parse_seconds(cmd, max_arg, 0, MAX_PROCESSING_SECONDS,
                                &max);
        }
    }
    if (!err && max < min) {
        err = apr_psprintf(cmd->pool, "%s MIN MAX: MAX (%s) must not be "
                           "less than MIN (%s)", cmd->cmd->name, max_arg,
                           min_arg);
    }
    if (!err) {
        c->processing_min = min;
        c->processing_max = max;
    }
    return err;
}

static const char *set_recovery(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_seconds(cmd, arg, 1, MAX_RECOVERY_SECONDS,
                                     &server_conf(cmd)->recovery);
}

static const char *set_max_items(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_count(cmd, arg, 1, MAX_ITEMS, &server_conf(cmd)->max_items);
}

static const char *set_event_retention(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_seconds(cmd, arg, 1, MAX_EVENT_RETENTION,
                                     &server_conf(cmd)->event_retention);
}

static const char *set_webhook_url(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    apr_uri_t uri;

    if (err) {
        return err;
    }
    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme
        || (strcasecmp(uri.scheme, "http") != 0
            && strcasecmp(uri.scheme, "https") != 0)
        || !uri.hostname || !*uri.hostname) {
        return apr_psprintf(cmd->pool, "%s takes an http:// or https:// URL "
                            "with a host, not '%s'", cmd->cmd->name, arg);
    }
    server_conf(cmd)->webhook_url = arg;
    return NULL;
}

static const char *set_webhook_secret(cmd_parms *cmd, void *dc,
                                      const char *first, const char *second)
{
    ord_webhook_keys_t *keys = apr_pcalloc(cmd->pool, sizeof(*keys));
    const char *err = global_only(cmd), *why = NULL;

    if (err) {
        return err;
    }
    if (ord_webhook_keys_parse(cmd->pool, first, second, keys, &why)
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s (whsec_ and the base64 of "
                            "at least %d bytes; two during a rotation)",
                            cmd->cmd->name, why,
                            ORD_WEBHOOK_SECRET_MIN_BYTES);
    }
    server_conf(cmd)->webhook_keys = keys;
    return NULL;
}

static const char *set_webhook_timeout(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_seconds(cmd, arg, 0.1, MAX_WEBHOOK_TIMEOUT,
                                     &server_conf(cmd)->webhook_timeout);
}

static const char *set_database_timeout(cmd_parms *cmd, void *dc,
                                        const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_seconds(cmd, arg, 0.1, MAX_DATABASE_TIMEOUT,
                                     &server_conf(cmd)->database_timeout);
}

static const char *set_webhook_retry(cmd_parms *cmd, void *dc,
                                     const char *min_arg, const char *max_arg)
{
    ord_webhook_policy_t *r = &server_conf(cmd)->webhook_retry;
    apr_interval_time_t min, max;
    const char *err = global_only(cmd);

    if (!err) {
        err = parse_seconds(cmd, min_arg, 0.01, MAX_WEBHOOK_RETRY, &min);
    }
    if (!err) {
        err = parse_seconds(cmd, max_arg, 0.01, MAX_WEBHOOK_RETRY, &max);
    }
    if (!err && max < min) {
        err = apr_psprintf(cmd->pool, "%s MIN MAX: MAX (%s) must not be "
                           "less than MIN (%s)", cmd->cmd->name, max_arg,
                           min_arg);
    }
    if (!err) {
        r->min = min;
        r->max = max;
    }
    return err;
}

static const char *set_webhook_attempts(cmd_parms *cmd, void *dc,
                                        const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_count(cmd, arg, 1, MAX_WEBHOOK_ATTEMPTS,
                                   &server_conf(cmd)->webhook_retry.attempts);
}

static const char *set_max_waiters(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_count(cmd, arg, 0, MAX_WAITERS,
                                   &server_conf(cmd)->max_waiters);
}

static const char *set_cache_entries(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : parse_count(cmd, arg, 0, MAX_CACHE_ENTRIES,
                                   &server_conf(cmd)->cache_entries);
}

const command_rec orders_cmds[] = {
    AP_INIT_TAKE1("OrdersWorkers", set_workers, NULL, RSRC_CONF,
                  "threads of each child's processing pool (1-"
                  S(MAX_WORKERS) ", default " S(DEFAULT_WORKERS) ")"),
    AP_INIT_TAKE1("OrdersQueueSize", set_queue_size, NULL, RSRC_CONF,
                  "orders each child holds in memory at most (1-"
                  S(MAX_QUEUE_SIZE) ", default " S(DEFAULT_QUEUE_SIZE) ")"),
    AP_INIT_TAKE12("OrdersProcessingTime", set_processing_time, NULL,
                   RSRC_CONF, "simulated processing time in seconds: MIN "
                   "[MAX] (0-" S(MAX_PROCESSING_SECONDS) ", default "
                   S(DEFAULT_PROCESSING_SECONDS) ")"),
    AP_INIT_TAKE1("OrdersRecoveryInterval", set_recovery, NULL, RSRC_CONF,
                  "seconds between passes that take over orders nobody is "
                  "processing (1-" S(MAX_RECOVERY_SECONDS) ", default "
                  S(DEFAULT_RECOVERY_SECONDS) ")"),
    AP_INIT_TAKE1("OrdersMaxItems", set_max_items, NULL, RSRC_CONF,
                  "most entries in item_ids (1-" S(MAX_ITEMS) ", default "
                  S(DEFAULT_MAX_ITEMS) ")"),
    AP_INIT_TAKE1("OrdersEventRetention", set_event_retention, NULL,
                  RSRC_CONF, "seconds events are kept (1-"
                  S(MAX_EVENT_RETENTION) ", default "
                  S(DEFAULT_EVENT_RETENTION) ")"),
    AP_INIT_TAKE1("OrdersMaxWaiters", set_max_waiters, NULL, RSRC_CONF,
                  "waiting reads (wait=, Prefer: wait) each child holds at "
                  "once (0-" S(MAX_WAITERS) ", default "
                  S(DEFAULT_MAX_WAITERS) ")"),
    AP_INIT_TAKE1("OrdersCacheEntries", set_cache_entries, NULL, RSRC_CONF,
                  "finished orders whose answers each child keeps, so that "
                  "reading one again does not ask the database (0-"
                  S(MAX_CACHE_ENTRIES) ", default " S(DEFAULT_CACHE_ENTRIES)
                  ")"),
    AP_INIT_TAKE1("OrdersDatabaseTimeout", set_database_timeout, NULL,
                  RSRC_CONF, "seconds a statement may wait on PostgreSQL or "
                  "MariaDB before its connection is cut and what it was "
                  "for answers 503 (0.1-" S(MAX_DATABASE_TIMEOUT) ", default "
                  S(DEFAULT_DATABASE_TIMEOUT) ")"),
    AP_INIT_TAKE1("OrdersWebhookURL", set_webhook_url, NULL, RSRC_CONF,
                  "http:// or https:// URL every event is POSTed to "
                  "(default none)"),
    AP_INIT_TAKE12("OrdersWebhookSecret", set_webhook_secret, NULL,
                   RSRC_CONF, "whsec_ secret(s) the webhooks are signed "
                   "with: one, or two during a rotation (default none)"),
    AP_INIT_TAKE1("OrdersWebhookTimeout", set_webhook_timeout, NULL,
                  RSRC_CONF, "seconds one webhook attempt may take (0.1-"
                  S(MAX_WEBHOOK_TIMEOUT) ", default "
                  S(DEFAULT_WEBHOOK_TIMEOUT) ")"),
    AP_INIT_TAKE2("OrdersWebhookRetry", set_webhook_retry, NULL, RSRC_CONF,
                  "MIN MAX seconds between webhook attempts, doubling with "
                  "jitter (0.01-" S(MAX_WEBHOOK_RETRY) ", default "
                  S(DEFAULT_WEBHOOK_RETRY_MIN) " " S(DEFAULT_WEBHOOK_RETRY_MAX)
                  ")"),
    AP_INIT_TAKE1("OrdersWebhookAttempts", set_webhook_attempts, NULL,
                  RSRC_CONF, "attempts before an event's delivery is given "
                  "up (1-" S(MAX_WEBHOOK_ATTEMPTS) ", default "
                  S(DEFAULT_WEBHOOK_ATTEMPTS) ")"),
    AP_INIT_FLAG("OrdersPopulate", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(orders_dir_conf_t, populate),
                 ACCESS_CONF, "On enables POST .../populate here (default "
                 "Off)"),
    AP_INIT_FLAG("OrdersWebhookAdmin", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(orders_dir_conf_t, webhook_admin),
                 ACCESS_CONF, "On enables POST .../events/{id}/redeliver "
                 "here (default Off)"),
    AP_INIT_FLAG("OrdersBindUser", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(orders_dir_conf_t, bind_user),
                 ACCESS_CONF, "On makes orders here belong to the "
                 "authenticated user (REMOTE_USER) (default Off)"),
    {NULL}
};
