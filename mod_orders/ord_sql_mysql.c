/*
 * ord_sql_mysql: MariaDB and MySQL through apr_dbd's mysql driver (MariaDB
 * Connector/C on Debian).  See ord_sql.h.
 *
 * The driver's code is the client library's error number (mysql_errno, or
 * mysql_stmt_errno for a prepared statement), which is reliable; its words
 * are the connection's mysql_error(), which a prepared statement's failure
 * does not always set: the number decides, the words only back it up.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_schema.h"
#include "ord_sql.h"

/* The numbers this file reads (mysqld_error.h, errmsg.h). */
enum {
    ER_DISK_FULL = 1021,
    ER_SERVER_SHUTDOWN = 1053,
    ER_RECORD_FILE_FULL = 1114,
    ER_LOCK_WAIT_TIMEOUT = 1205,
    ER_LOCK_DEADLOCK = 1213,
    ER_UNKNOWN_STMT_HANDLER = 1243,
    ER_NEED_REPREPARE = 1615,
    ER_CONNECTION_KILLED = 1927,
    CR_CONNECTION_ERROR = 2002,
    CR_CONN_HOST_ERROR = 2003,
    CR_SERVER_GONE_ERROR = 2006,
    CR_SERVER_LOST = 2013,
    CR_COMMANDS_OUT_OF_SYNC = 2014,
    CR_NO_PREPARE_STMT = 2030,
    CR_SERVER_LOST_EXTENDED = 2055,
    ER_CLIENT_INTERACTION_TIMEOUT = 4031
};

static ord_db_fault_e classify(int code, const char *message)
{
    switch (code) {
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case ER_CLIENT_INTERACTION_TIMEOUT:
    /* The session's protocol state is unknown: only a new one is safe. */
    case CR_COMMANDS_OUT_OF_SYNC:
        return ORD_DB_LOST;
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_NEED_REPREPARE:
    case CR_NO_PREPARE_STMT:
        return ORD_DB_STALE;
    case ER_LOCK_WAIT_TIMEOUT:
        return ORD_DB_BUSY;
    case ER_LOCK_DEADLOCK:
        return ORD_DB_CONFLICT;
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
        return ORD_DB_FULL;
    default:
        break;
    }
    if (message && (strstr(message, "has gone away")
                    || strstr(message, "Lost connection"))) {
        return ORD_DB_LOST;
    }
    return ORD_DB_FAILED;
}

/* Without CLIENT_FOUND_ROWS (which mod_orders does not want) the row of
 * an existing key counts as unchanged: 0 rows, as DO NOTHING gives. */
static const char *skip_duplicate(apr_pool_t *p, const char *key)
{
    return apr_pstrcat(p, " ON DUPLICATE KEY UPDATE ", key, " = ", key, NULL);
}

const ord_sql_dialect_t ord_sql_mysql = {
    "mysql",
    ord_schema_mysql,
    "BEGIN",
    /* Writers one after another (sql/mysql.sql): seq order is commit
     * order, as with SQLite's one writer. */
    "SELECT until_us FROM order_leases WHERE name = 'event-writer' "
    "FOR UPDATE",
    /* REPEATABLE READ locks every row an INSERT ... SELECT reads, and on a
     * small table the optimizer reads all of orders for the events: the
     * writer holding 'event-writer' then waited for the rows another
     * writer had inserted, which waited for 'event-writer' (deadlocks of
     * two servers' writers).  READ COMMITTED reads them without locks. */
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    0,
    skip_duplicate,
    NULL,
    NULL,
    "e.xid = %lld AND e.seq > %lld",
    "",
    "e.seq",
    classify,
    NULL,
    NULL,
    " FOR UPDATE",
};
