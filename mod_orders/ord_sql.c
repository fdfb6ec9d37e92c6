/*
 * ord_sql: the table of dialects.  See ord_sql.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_sql.h"

static const ord_sql_dialect_t *const dialects[] = {
    &ord_sql_sqlite3,
    &ord_sql_pgsql,
    &ord_sql_mysql,
    NULL
};

const ord_sql_dialect_t *ord_sql_for(const char *driver_name)
{
    int i;

    for (i = 0; driver_name && dialects[i]; i++) {
        if (strcmp(dialects[i]->driver, driver_name) == 0) {
            return dialects[i];
        }
    }
    return NULL;
}

const char *ord_sql_fault_name(ord_db_fault_e fault)
{
    switch (fault) {
    case ORD_DB_BUSY:  return "database busy";
    case ORD_DB_FULL:  return "disk full";
    case ORD_DB_STALE: return "prepared statement missing";
    case ORD_DB_LOST:  return "connection lost";
    case ORD_DB_CUT:   return "statement cut after OrdersDatabaseTimeout";
    case ORD_DB_CONFLICT:
        return "transaction lost to another at the same rows";
    default:           return "statement failed";
    }
}

const char *ord_sql_on_conflict_skip(apr_pool_t *p, const char *key)
{
    return apr_pstrcat(p, " ON CONFLICT (", key, ") DO NOTHING", NULL);
}
