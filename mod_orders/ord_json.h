/*
 * ord_json: the JSON faces of an order, through json-c.
 *
 * Parsing is strict (API.md section 2): one object, known fields only, no
 * duplicate key, valid UTF-8, nothing but whitespace after it, each field
 * checked by ord_order's rules.  Every error message names the field and is
 * fit to show to the client.  Rendering produces the order object of API.md
 * and the {"error": ...} body of every failure.
 *
 * Thread-safety: reentrant.  json-c objects never outlive a call; results
 * come from the pool passed in.
 */
#ifndef ORD_JSON_H
#define ORD_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ord_events.h"
#include "ord_order.h"

typedef struct {
    int max_items;          /* OrdersMaxItems */
    int user_id_optional;   /* OrdersBindUser: the user comes from the login */
} ord_parse_limits_t;

/* The body of POST {mount}/populate. */
typedef struct {
    int total_entries;      /* 1..ORD_POPULATE_MAX */
    const char *batch_id;   /* NULL when the client sent none */
} ord_populate_t;

#define ORD_POPULATE_MAX 100000
/* "{batch_id}-{n}" must be a valid order id: room for "-100000". */
#define ORD_BATCH_ID_MAX_CHARS (ORD_ID_MAX_CHARS - 7)

/* Parses a POST /orders body into *order (status Pending, times 0, order_id
 * NULL text when the client sent none).  APR_SUCCESS, or APR_EINVAL with
 * *error a sentence naming the field. */
apr_status_t ord_json_parse_order(apr_pool_t *p, const char *body,
                                  apr_size_t len,
                                  const ord_parse_limits_t *limits,
                                  ord_order_t **order, const char **error);

/* Parses a POST {mount}/populate body: {"total_entries": N, "batch_id":
 * "optional"}, as strictly as an order. */
apr_status_t ord_json_parse_populate(apr_pool_t *p, const char *body,
                                     apr_size_t len, ord_populate_t *req,
                                     const char **error);

/* The answer of populate. */
const char *ord_json_populate_result(apr_pool_t *p, const char *batch_id,
                                     int total_entries, int success_count,
                                     int failure_count,
                                     const apr_array_header_t *errors);

/* {"orders": [...], "next": "<link>" or null}. */
const char *ord_json_order_list(apr_pool_t *p,
                                const apr_array_header_t *orders,
                                const char *next);

/* The order as API.md section 2 shows it, with durations derived from the
 * timestamps (null where a time is not reached). */
const char *ord_json_order(apr_pool_t *p, const ord_order_t *order);

/* {"error": "<message>", "request_id": "<id>"} with both escaped as JSON
 * requires; without "request_id" when `request_id` is NULL. */
const char *ord_json_error(apr_pool_t *p, const char *message,
                           const char *request_id);

/* {"events": [{"id", "type", "created_at", "order"}, ...], "next": ...}
 * of the events feed (ord_event_t * in `events`). */
const char *ord_json_event_page(apr_pool_t *p,
                                const apr_array_header_t *events,
                                const char *next);

/* One event, as the feed shows it and a webhook sends it. */
const char *ord_json_event(apr_pool_t *p, const ord_event_t *event);

/* How every JSON text is written (by ord_json_render.c, and item_ids and
 * amounts by the parser): compact, "/" not escaped.  json-c's flags: the
 * user includes <json.h>. */
#define ORD_JSON_OUT_FLAGS \
    (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#endif /* ORD_JSON_H */
