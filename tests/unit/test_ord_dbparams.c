/*
 * Unit tests of ord_dbparams (mod_orders/ord_dbparams.h): DBDParams read as
 * apr-util's mysql driver reads them (dbd/apr_dbd_mysql.c, dbd_mysql_open),
 * and which of them ask for CLIENT_FOUND_ROWS, the flag mod_orders refuses
 * to start with.
 *
 * Each row's expectation is what the driver's loop does with the string,
 * traced by hand: the spacing and the case it accepts, its prefix keys, the
 * value that ends at a delimiter, the last occurrence that wins.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_strings.h>

#include "unit_support.h"
#include "ord_dbparams.h"

/* ------------------------------------------------------------------ */
/* CLIENT_FOUND_ROWS asked for or not                                  */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name, *params;
    int found_rows;
} found_rows_case_t;

#define BASE "host=127.0.0.1 port=3306 user=orders pass=secret dbname=orders"

static const found_rows_case_t found_rows_cases[] = {
    /* absent */
    { "no params", "", 0 },
    { "no flags", BASE, 0 },
    { "flags empty at the end", BASE " flags=", 0 },
    { "the name as another key's value", BASE " pass=CLIENT_FOUND_ROWS", 0 },
    { "the name alone, no key", BASE " CLIENT_FOUND_ROWS", 0 },
    { "a key that only ends in flags", BASE " xflags=CLIENT_FOUND_ROWS", 0 },
    { "flags with more letters", BASE " flagsx=CLIENT_FOUND_ROWS", 0 },
    /* alone */
    { "alone", "flags=CLIENT_FOUND_ROWS", 1 },
    { "after the others", BASE " flags=CLIENT_FOUND_ROWS", 1 },
    { "before the others", "flags=CLIENT_FOUND_ROWS " BASE, 1 },
    { "between the others", "host=db flags=CLIENT_FOUND_ROWS dbname=o", 1 },
    /* spacing and separators the driver accepts */
    { "spaces around =", BASE " flags = CLIENT_FOUND_ROWS", 1 },
    { "tab and newline around =", BASE "\tflags\t=\nCLIENT_FOUND_ROWS", 1 },
    { "separated by ;", "host=db;flags=CLIENT_FOUND_ROWS;dbname=o", 1 },
    { "separated by ,", "host=db,flags=CLIENT_FOUND_ROWS,dbname=o", 1 },
    { "after an underscore (not a letter of the key)",
      BASE " x_flags=CLIENT_FOUND_ROWS", 1 },
    /* case: the key's is free, the flag's is not (strcmp) */
    { "key in capitals", BASE " FLAGS=CLIENT_FOUND_ROWS", 1 },
    { "key in mixed case", BASE " Flags=CLIENT_FOUND_ROWS", 1 },
    { "flag in lower case", BASE " flags=client_found_rows", 0 },
    { "flag in mixed case", BASE " flags=Client_Found_Rows", 0 },
    /* prefixes of flags are flags to the driver */
    { "key f", BASE " f=CLIENT_FOUND_ROWS", 1 },
    { "key fl (flags before fldsz)", BASE " fl=CLIENT_FOUND_ROWS", 1 },
    { "key flag", BASE " flag=CLIENT_FOUND_ROWS", 1 },
    { "key fld is fldsz", BASE " fld=CLIENT_FOUND_ROWS", 0 },
    /* other flags */
    { "another flag", BASE " flags=CLIENT_COMPRESS", 0 },
    { "a longer name", BASE " flags=CLIENT_FOUND_ROWSX", 0 },
    { "a shorter name", BASE " flags=CLIENT_FOUND_ROW", 0 },
    { "a prefixed name", BASE " flags=XCLIENT_FOUND_ROWS", 0 },
    { "others in a list", BASE " flags=CLIENT_COMPRESS,CLIENT_SSL", 0 },
    /* in a list */
    { "first of a list with ,", BASE " flags=CLIENT_FOUND_ROWS,CLIENT_COMPRESS", 1 },
    { "first of a list with |", BASE " flags=CLIENT_FOUND_ROWS|CLIENT_COMPRESS", 1 },
    { "last of a list with ,", BASE " flags=CLIENT_COMPRESS,CLIENT_FOUND_ROWS", 1 },
    { "last of a list with |", BASE " flags=CLIENT_COMPRESS|CLIENT_FOUND_ROWS", 1 },
    { "middle of a list", BASE " flags=A|CLIENT_FOUND_ROWS|B", 1 },
    { "a list with spaces", BASE " flags=CLIENT_COMPRESS , CLIENT_FOUND_ROWS", 1 },
    { "a list, then the next param", "flags=A,CLIENT_FOUND_ROWS dbname=o", 1 },
    { "a list ends at a space", BASE " flags=A CLIENT_FOUND_ROWS", 0 },
    { "a list ends at ;", BASE " flags=A;CLIENT_FOUND_ROWS", 0 },
    { "a list ends at the next key", "flags=A,dbname=CLIENT_FOUND_ROWS", 0 },
    /* the last flags= wins, as in the driver */
    { "set, then set otherwise", "flags=CLIENT_FOUND_ROWS flags=CLIENT_SSL", 0 },
    { "set otherwise, then set", "flags=CLIENT_SSL flags=CLIENT_FOUND_ROWS", 1 },
    /* values the driver reads past */
    { "inside a password with =", "pass=a=flags=CLIENT_FOUND_ROWS", 0 },
    { "after a password with =", "pass=a=b flags=CLIENT_FOUND_ROWS", 1 },
    { "an empty flags takes the next param", "flags= dbname=CLIENT_FOUND_ROWS", 0 },
    { "an = that opens the string", "=x flags=CLIENT_FOUND_ROWS", 1 },
};

static const char *check_found_rows_cases(const unit_ctx_t *c, const void *r)
{
    const found_rows_case_t *row = r;
    int got = ord_dbparams_mysql_found_rows(row->params);

    return got == row->found_rows ? NULL
           : apr_psprintf(c->pool, "\"%s\" gives %d, want %d", row->params,
                          got, row->found_rows);
}

/* ------------------------------------------------------------------ */
/* The value of one field                                              */
/* ------------------------------------------------------------------ */

/* `want` NULL: the field is unset (APR_NOTFOUND). */
typedef struct {
    const char *name, *params, *field, *want;
} value_case_t;

static const value_case_t value_cases[] = {
    { "a plain value", BASE, "dbname", "orders" },
    { "the first field", BASE, "host", "127.0.0.1" },
    { "unset", BASE, "sock", NULL },
    { "ends at a delimiter", "sock=/run/x.sock;port=1", "sock", "/run/x.sock" },
    { "may hold =", "pass=a=b port=1", "pass", "a=b" },
    { "spaces before it", "user =   orders", "user", "orders" },
    { "empty at the end", "user=", "user", "" },
    { "empty before a delimiter", "user=;port=1", "user", "" },
    { "the last wins", "port=1 port=2", "port", "2" },
    { "a key of no letters is host", "host=a 9=b", "host", "b" },
    { "prefix d is dbname", "d=x", "dbname", "x" },
    { "prefix re is reconnect", "re=0", "reconnect", "0" },
    { "prefix g is group", "g=client", "group", "client" },
    { "an unknown key sets nothing", "server=x", "host", NULL },
};

static const char *check_value_cases(const unit_ctx_t *c, const void *r)
{
    const value_case_t *row = r;
    const char *value = "(unset)";
    apr_size_t len = 0;
    apr_status_t rv = ord_dbparams_mysql_value(row->params, row->field,
                                               &value, &len);

    if (!row->want) {
        return rv == APR_NOTFOUND && strcmp(value, "(unset)") == 0 ? NULL
               : apr_psprintf(c->pool, "%s: status %d, want APR_NOTFOUND "
                              "and the output untouched", row->field, rv);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(c->pool, "%s: status %d", row->field, rv);
    }
    return len == strlen(row->want) && memcmp(value, row->want, len) == 0
           ? NULL : apr_psprintf(c->pool, "%s is \"%.*s\", want \"%s\"",
                                 row->field, (int)len, value, row->want);
}

static void test_bad_arguments_are_refused(void **state)
{
    const char *value = NULL;
    apr_size_t len = 0;

    (void)state;
    assert_int_equal(ord_dbparams_mysql_value(BASE, "hostname", &value, &len),
                     APR_EINVAL);
    assert_int_equal(ord_dbparams_mysql_value(NULL, "host", &value, &len),
                     APR_EINVAL);
    assert_null(value);
    assert_int_equal(ord_dbparams_mysql_found_rows(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TABLE(found_rows_cases),
        UNIT_TABLE(value_cases),
        cmocka_unit_test(test_bad_arguments_are_refused),
    };

    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
