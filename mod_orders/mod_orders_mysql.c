/*
 * mod_orders and apr_dbd's mysql driver: the one client setting that
 * correctness needs.  The driver turns MariaDB Connector/C's auto-reconnect
 * on; a reconnect inside a transaction would silently drop what the
 * transaction had done and run the rest of it in autocommit mode, half a
 * batch committed.  So every connection mod_orders uses has it switched
 * off while mod_orders holds it, and on again when it goes back to mod_dbd:
 * the connection checks (mod_dbd's as it hands one out, ord_db's before
 * it runs a read again) are the only places a session is renewed, outside
 * any transaction, where nothing can be lost.
 *
 * mysql_options is looked up in the process (the driver's shared object
 * brought the client library in): mod_orders does not link against it, so
 * that a server without MariaDB needs nothing of it.
 *
 * The other setting, flags=CLIENT_FOUND_ROWS in DBDParams, would make the
 * row counts lie to mod_orders: the server refuses to start with it (the
 * check_config hook, so apachectl configtest says it too), and a connection
 * that counts found rows all the same is refused as the backstop.
 */
#include <dlfcn.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cfgtree.h"

#include "mod_orders.h"
#include "ord_dbparams.h"

APLOG_USE_MODULE(orders);

/* enum mysql_option's MYSQL_OPT_RECONNECT (mysql.h of MariaDB Connector/C
 * and of MySQL alike), my_bool, and MariaDB's enum mariadb_value
 * MARIADB_CONNECTION_CLIENT_CAPABILITIES with the flag CLIENT_FOUND_ROWS
 * (mariadb_com.h). */
#define MYSQL_OPT_RECONNECT 20
#define MARIADB_CONNECTION_CLIENT_CAPABILITIES 33
#define CLIENT_FOUND_ROWS 2UL
typedef char my_bool_t;
typedef int mysql_options_fn(void *mysql, int option, const void *arg);
typedef int mysql_ping_fn(void *mysql);
typedef my_bool_t mariadb_get_info_fn(void *mysql, int value, void *arg);

static mysql_options_fn *volatile options_fn;
static mysql_ping_fn *volatile ping_fn;
static mariadb_get_info_fn *volatile get_info_fn;
static volatile apr_uint32_t said_no_client, said_found_rows,
                             said_reconnect_off;

/* The client library's two functions, found once; 0 when they are not in
 * the process. */
static int client_found(void)
{
    if (!options_fn || !ping_fn) {
        options_fn = (mysql_options_fn *)dlsym(RTLD_DEFAULT, "mysql_options");
        ping_fn = (mysql_ping_fn *)dlsym(RTLD_DEFAULT, "mysql_ping");
        /* MariaDB Connector/C only (Debian's driver is built on it). */
        get_info_fn = (mariadb_get_info_fn *)dlsym(RTLD_DEFAULT,
                                                   "mariadb_get_info");
    }
    return options_fn && ping_fn;
}

static int set_reconnect_of(const apr_dbd_driver_t *driver,
                            apr_dbd_t *handle, my_bool_t on)
{
    void *mysql = apr_dbd_native_handle(driver, handle);

    return mysql && options_fn(mysql, MYSQL_OPT_RECONNECT, &on) == 0;
}

static int set_reconnect(ord_db_t *c, my_bool_t on)
{
    return set_reconnect_of(c->driver, c->handle, on);
}

/* The connection check: a session that broke is renewed here, and only
 * here (the transaction it had, if any, is gone with it: the caller never
 * checks inside one). */
static apr_status_t renew_if_broken(ord_db_t *c, apr_pool_t *p)
{
    void *mysql = apr_dbd_native_handle(c->driver, c->handle);
    int broken;

    (void)p;
    if (!mysql || !set_reconnect(c, 1)) {
        return APR_EGENERAL;
    }
    broken = ping_fn(mysql) != 0;
    if (!set_reconnect(c, 0)) {
        return APR_EGENERAL;
    }
    return broken ? APR_EGENERAL : APR_SUCCESS;
}

/* In random-access mode (every read of ord_db's) the driver takes row
 * numbers only: -1, "the next row", is no row. */
static int numbered_row(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t *res,
                        apr_dbd_row_t **row, int n)
{
    return apr_dbd_get_row(c->driver, p, res, row, n);
}

/* flags=CLIENT_FOUND_ROWS in DBDParams makes a row an UPDATE matched but
 * left as it was count as changed: an INSERT of an order_id that exists
 * (ON DUPLICATE KEY UPDATE order_id = order_id) would then look like a new
 * order, its event written twice.  orders_mysql_check_config refuses to
 * start with it; a connection that counts found rows all the same (a
 * driver that reads DBDParams otherwise) is refused here. */
static int counts_found_rows(ord_db_t *c)
{
    void *mysql = apr_dbd_native_handle(c->driver, c->handle);
    unsigned long flags = 0;

    return mysql && get_info_fn
           && get_info_fn(mysql, MARIADB_CONNECTION_CLIENT_CAPABILITIES,
                          &flags) == 0
           && (flags & CLIENT_FOUND_ROWS);
}

/* A server's DBDriver and DBDParams directives: the last of each in its
 * scope (each takes one argument; a later one replaces it). */
typedef struct {
    const ap_directive_t *driver, *params;
} dbd_directives_t;

static void read_scope(const ap_directive_t *d, dbd_directives_t *out)
{
    out->driver = out->params = NULL;
    for (; d; d = d->next) {
        if (ap_cstr_casecmp(d->directive, "DBDriver") == 0) {
            out->driver = d;
        }
        else if (ap_cstr_casecmp(d->directive, "DBDParams") == 0) {
            out->params = d;
        }
    }
}

/* The one argument of `d`, unquoted as httpd gives it to mod_dbd. */
static const char *argument_of(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args;

    return ap_getword_conf(p, &args);
}

/* The DBDParams that a server of scope `own` hands the mysql driver, if
 * they ask for CLIENT_FOUND_ROWS; else NULL.  As mod_dbd merges them: a
 * virtual host's own DBDriver and (non-empty) DBDParams, else the main
 * server's. */
static const ap_directive_t *found_rows_params(apr_pool_t *p,
                                               const dbd_directives_t *own,
                                               const dbd_directives_t *top)
{
    const ap_directive_t *driver = own->driver ? own->driver : top->driver;
    const ap_directive_t *params = own->params;

    if (!params || !*argument_of(p, params)) {
        params = top->params;
    }
    if (!driver || !params || strcmp(argument_of(p, driver), "mysql") != 0
        || !ord_dbparams_mysql_found_rows(argument_of(p, params))) {
        return NULL;
    }
    return params;
}

int orders_mysql_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    dbd_directives_t top, vhost;
    const ap_directive_t *d, *bad;

    /* mod_dbd keeps its configuration to itself: the parsed tree is where
     * to look.  <IfModule>, <IfDefine> and Include are spliced into it
     * already; mod_dbd's directives live at the top and in <VirtualHost>. */
    read_scope(ap_conftree, &top);
    bad = found_rows_params(ptemp, &top, &top);
    for (d = ap_conftree; d && !bad; d = d->next) {
        if (ap_cstr_casecmp(d->directive, "<VirtualHost") == 0) {
            read_scope(d->first_child, &vhost);
            bad = found_rows_params(ptemp, &vhost, &top);
        }
    }
    if (!bad) {
        return OK;
    }
    /* One line, the first such DBDParams: the next, if any, is named once
     * this one is fixed. */
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ORD00007: DBDParams "
                 "(%s:%d) asks the mysql driver for flags=CLIENT_FOUND_ROWS: "
                 "mod_orders reads the rows an UPDATE changed, not those it "
                 "found (an order_id sent again would look new), and does "
                 "not start with it; remove the flag from DBDParams",
                 bad->filename, bad->line_num);
    return HTTP_INTERNAL_SERVER_ERROR;
}

static ord_db_ops_t mysql_ops;

void orders_mysql_child_init(server_rec *s)
{
    /* Copied before any thread runs; the check and the rows differ. */
    mysql_ops = ord_db_apr_ops;
    mysql_ops.check = renew_if_broken;
    mysql_ops.get_row = numbered_row;
}

const ord_db_ops_t *orders_mysql_ops(void)
{
    return &mysql_ops;
}

/* Logs `what` the first time `*said` is set, and no more. */
static void say_once(volatile apr_uint32_t *said, server_rec *s, int level,
                     const char *what)
{
    if (apr_atomic_cas32(said, 1, 0) == 0) {
        ap_log_error(APLOG_MARK, level, 0, s, "%s", what);
    }
}

apr_status_t orders_mysql_adopt(ord_db_t *c, server_rec *s)
{
    if (strcmp(apr_dbd_name(c->driver), "mysql") != 0) {
        return APR_SUCCESS;
    }
    if (!client_found() || !set_reconnect(c, 0)) {
        say_once(&said_no_client, s, APLOG_ERR, "ORD00004: cannot switch off "
                 "the mysql driver's auto-reconnect (mysql_options not found "
                 "in the process): mod_orders does not use MariaDB/MySQL "
                 "connections that could reconnect inside a transaction");
        return APR_ENOTIMPL;
    }
    if (counts_found_rows(c)) {
        say_once(&said_found_rows, s, APLOG_ERR, "ORD00006: DBDParams sets "
                 "flags=CLIENT_FOUND_ROWS: mod_orders counts the rows an "
                 "UPDATE changed, not those it found, and does not use these "
                 "connections; remove the flag");
        return APR_ENOTIMPL;
    }
    say_once(&said_reconnect_off, s, APLOG_NOTICE, "ORD00005: MariaDB/MySQL "
             "connections of mod_orders run with the driver's auto-reconnect "
             "off (a reconnect inside a transaction would commit half of "
             "it); a broken session is renewed between transactions");
    c->ops = &mysql_ops;
    return APR_SUCCESS;
}

void orders_mysql_release(ap_dbd_t *dbd)
{
    if (strcmp(apr_dbd_name(dbd->driver), "mysql") == 0 && client_found()) {
        set_reconnect_of(dbd->driver, dbd->handle, 1);
    }
}
