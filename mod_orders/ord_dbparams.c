/*
 * ord_dbparams: DBDParams as the mysql driver reads them (see the header).
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ord_dbparams.h"

/* dbd_mysql_open's fields, in its order: a key matches the first one it is
 * a prefix of, so the order decides what a short key means. */
static const char *const mysql_fields[] = {
    "host", "user", "pass", "dbname", "port", "sock", "flags", "fldsz",
    "group", "reconnect", NULL
};
/* Where the driver's values end. */
static const char mysql_delims[] = " \r\n\t;|,";
#define FOUND_ROWS "CLIENT_FOUND_ROWS"

apr_status_t ord_dbparams_mysql_value(const char *params, const char *field,
                                      const char **value, apr_size_t *len)
{
    const char *eq, *found = NULL, *v;
    apr_size_t found_len = 0, klen, vlen, start, end;
    int want = -1, i;
    apr_status_t rv = APR_EINVAL;

    for (i = 0; params && mysql_fields[i]; i++) {
        if (strcmp(mysql_fields[i], field) == 0) {
            want = i;
        }
    }
    if (want < 0) {
        goto leave;
    }
    for (eq = strchr(params, '='); eq; eq = strchr(eq, '=')) {
        /* The driver skips a `=` that opens the string, as no key. */
        if (eq == params) {
            eq++;
            continue;
        }
        /* The key: the letters before `=`, spaces between skipped.  The
         * driver's own loop can step before the string when only spaces
         * precede the `=`; here that is a key of no letters, which is what
         * it then compares. */
        end = (apr_size_t)(eq - params);
        while (end > 0 && apr_isspace(params[end - 1])) {
            end--;
        }
        start = end;
        while (start > 0 && apr_isalpha(params[start - 1])) {
            start--;
        }
        klen = end - start;
        for (v = eq + 1; apr_isspace(*v); v++) {
        }
        vlen = strcspn(v, mysql_delims);
        /* strncasecmp over the key's length: a key is a prefix of a name,
         * and one of no letters is the first name, host. */
        for (i = 0; mysql_fields[i]; i++) {
            if (strncasecmp(mysql_fields[i], params + start, klen) == 0) {
                break;
            }
        }
        if (i == want) {
            found = v;
            found_len = vlen;
        }
        /* A value may hold `=` (a password): the next key comes after it. */
        eq = v + vlen;
    }
    rv = found ? APR_SUCCESS : APR_NOTFOUND;
    if (found) {
        *value = found;
        *len = found_len;
    }
leave:
    return rv;
}

static int is_found_rows(const char *item, apr_size_t len)
{
    return len == sizeof(FOUND_ROWS) - 1
           && memcmp(item, FOUND_ROWS, len) == 0;
}

int ord_dbparams_mysql_found_rows(const char *params)
{
    const char *item, *next;
    apr_size_t len;
    int listed;

    if (ord_dbparams_mysql_value(params, "flags", &item, &len)
        != APR_SUCCESS) {
        return 0;
    }
    for (;;) {
        if (is_found_rows(item, len)) {
            return 1;
        }
        /* The next item of a list: `,` or `|`, with spaces around it or
         * not.  Spaces alone or `;` separate parameters, not flags. */
        listed = 0;
        for (next = item + len; *next == ',' || *next == '|'
                                || apr_isspace(*next); next++) {
            listed |= *next == ',' || *next == '|';
        }
        if (!listed) {
            return 0;
        }
        item = next;
        len = strcspn(item, mysql_delims);
    }
}
