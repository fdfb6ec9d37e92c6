#!/bin/sh
# Renders conf/orders-server.conf.in into VAR/httpd.conf and prepares VAR.
#   sh conf/render.sh VAR PORT DRIVER [DBDPARAMS]
# DRIVER is sqlite3 (DBDPARAMS defaults to VAR/db/orders.db), pgsql or
# mysql (MariaDB or MySQL; DBDPARAMS from the caller, e.g. "host=127.0.0.1
# port=3306 user=orders pass=... dbname=orders").
# Environment overrides: ORDERS_WORKERS, ORDERS_PROCESSING_TIME,
# ORDERS_RECOVERY_INTERVAL, ORDERS_LOGLEVEL, ORDERS_MODULE.
set -eu
var=$1 port=$2 driver=$3 params=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
module=${ORDERS_MODULE:-$top/mod_orders/.libs/mod_orders.so}
workers=${ORDERS_WORKERS:-8}
threads=128

mkdir -p "$var/run" "$var/log" "$var/db" "$var/htdocs" "$var/conf.d"
[ -f "$var/htdocs/static.txt" ] || head -c 200 /dev/zero | tr '\0' 'x' \
    > "$var/htdocs/static.txt"

user_group=""
if [ "$(id -u)" = 0 ]; then
    # Children run as www-data: they must be able to write the database
    # directory (SQLite adds its -wal and -shm files next to the database).
    user_group="User www-data
Group www-data"
    chown www-data:www-data "$var/db"
    chown -R www-data:www-data "$var/db"
    if ! runuser -u www-data -- test -w "$var/db"; then
        echo "render.sh: www-data cannot write $var/db (a parent directory" \
             "is closed to it); use VAR=/some/open/dir" >&2
        exit 1
    fi
fi

# The API docs are served from a copy in VAR: the children (www-data) may
# not be able to read the checkout itself (a clone under /root, say).
mkdir -p "$var/docs/dist"
cp "$here/openapi.yaml" "$here/docs/index.html" \
   "$here/docs/swagger-initializer.js" "$var/docs/"
ui="$here/docs/node_modules/swagger-ui-dist"
if [ -d "$ui" ]; then
    cp "$ui/swagger-ui.css" "$ui/swagger-ui-bundle.js" "$ui/swagger-ui.js" \
       "$ui/favicon-16x16.png" "$ui/favicon-32x32.png" "$var/docs/dist/"
fi

initsql=""
case $driver in
sqlite3)
    params=${params:-$var/db/orders.db}
    # Per connection: durable at each commit, and the WAL copied back into
    # the file every 10,000 pages rather than 1,000 (README, "SQLite").
    # WAL mode is the file's own, set once by mod_orders where it creates
    # the schema.
    initsql='DBDInitSQL "PRAGMA synchronous=FULL"
DBDInitSQL "PRAGMA wal_autocheckpoint=10000"' ;;
pgsql|mysql)
    # Nothing per connection: what the module needs of a session it sets
    # itself, so that an operator's configuration needs nothing more.
    if [ -z "$params" ]; then
        echo "render.sh: DRIVER $driver needs DBDPARAMS" >&2
        exit 1
    fi ;;
*)
    echo "render.sh: unknown DRIVER $driver (sqlite3, pgsql or mysql)" >&2
    exit 1 ;;
esac

sed -e "s|@VAR@|$var|g" \
    -e "s|@PORT@|$port|g" \
    -e "s|@MODDIR@|/usr/lib/apache2/modules|g" \
    -e "s|@DOCSDIR@|$var/docs|g" \
    -e "s|@MODULE@|$module|g" \
    -e "s|@LOGLEVEL@|${ORDERS_LOGLEVEL:-warn}|g" \
    -e "s|@DBDRIVER@|$driver|g" \
    -e "s|@DBDPARAMS@|$params|g" \
    -e "s|@DBDMAX@|$((threads + workers + 1))|g" \
    -e "s|@WORKERS@|$workers|g" \
    -e "s|@PROCESSING_TIME@|${ORDERS_PROCESSING_TIME:-2}|g" \
    -e "s|@RECOVERY_INTERVAL@|${ORDERS_RECOVERY_INTERVAL:-10}|g" \
    "$here/orders-server.conf.in" > "$var/httpd.conf.tmp"
# Multi-line values are put in with awk, which sed cannot do portably.
awk -v ug="$user_group" -v isql="$initsql" '
    /^@USER_GROUP@$/ { if (ug != "") print ug; next }
    /^@DBDINITSQL@$/ { if (isql != "") print isql; next }
    { print }' "$var/httpd.conf.tmp" > "$var/httpd.conf"
rm -f "$var/httpd.conf.tmp"
