/*
 * ord_dbparams: DBDParams read as apr_dbd's drivers read them, so that the
 * module can refuse at start-up (apachectl configtest included) what would
 * make a driver's connections wrong for it, rather than refusing each
 * connection later.
 *
 * Only the mysql driver's reading is here (apr-util 1.6's
 * dbd/apr_dbd_mysql.c, dbd_mysql_open): it is quirky enough that a reading
 * of our own would disagree with it, so it is followed step by step.
 *
 * Pure C and APR, no httpd header; no allocation, no state: callable from
 * any thread.  A value found points into the `params` given.
 */
#ifndef ORD_DBPARAMS_H
#define ORD_DBPARAMS_H

#include <apr_errno.h>
#include <apr_general.h>

/* The value the mysql driver takes for its parameter `field` ("host",
 * "user", "pass", "dbname", "port", "sock", "flags", "fldsz", "group",
 * "reconnect") from `params`: `*value` (not NUL-terminated, in `params`)
 * and `*len`, set only on APR_SUCCESS.  As the driver reads it: every `=`
 * ends a key, the letters just before it (spaces between are skipped),
 * compared without case as a prefix of the driver's names in their order
 * ("f=" is flags, "=" alone is host); the value starts after any spaces and
 * ends at the first of " \r\n\t;|,"; a later occurrence wins.
 * APR_NOTFOUND when the driver would leave `field` unset; APR_EINVAL when
 * `field` is not one of the driver's or `params` is NULL. */
apr_status_t ord_dbparams_mysql_value(const char *params, const char *field,
                                      const char **value, apr_size_t *len);

/* Whether mysql `params` ask for the client flag CLIENT_FOUND_ROWS: the
 * value of flags (above) is exactly CLIENT_FOUND_ROWS, the one flag name the
 * driver knows (case matters: it compares with strcmp), or names it among
 * a list of flags separated by `,` or `|` (the driver reads only the first
 * of a list today; a list that names the flag still asks for it, and a
 * driver that reads lists would honour it).  0 for NULL. */
int ord_dbparams_mysql_found_rows(const char *params);

#endif /* ORD_DBPARAMS_H */
