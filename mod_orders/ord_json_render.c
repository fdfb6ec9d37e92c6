/*
 * ord_json_render: orders, lists, populate results and errors as JSON, with
 * json-c.  See ord_json.h.
 */
#include <apr_strings.h>
#include <json.h>

#include "ord_events.h"
#include "ord_json.h"

/* The text of `obj`, copied into the pool; `obj` is put. */
static const char *to_text(apr_pool_t *p, json_object *obj)
{
    const char *out = apr_pstrdup(p, json_object_to_json_string_ext(
                                         obj, ORD_JSON_OUT_FLAGS));
    json_object_put(obj);
    return out;
}

const char *ord_json_populate_result(apr_pool_t *p, const char *batch_id,
                                     int total_entries, int success_count,
                                     int failure_count,
                                     const apr_array_header_t *errors)
{
    json_object *obj = json_object_new_object();
    json_object *list = json_object_new_array();
    int i;

    for (i = 0; i < errors->nelts; i++) {
        json_object_array_add(list, json_object_new_string(
                                        APR_ARRAY_IDX(errors, i, const char *)));
    }
    json_object_object_add(obj, "batch_id", json_object_new_string(batch_id));
    json_object_object_add(obj, "total_entries",
                           json_object_new_int(total_entries));
    json_object_object_add(obj, "success_count",
                           json_object_new_int(success_count));
    json_object_object_add(obj, "failure_count",
                           json_object_new_int(failure_count));
    json_object_object_add(obj, "errors", list);
    return to_text(p, obj);
}

static json_object *id_to_json(ord_id_t id)
{
    if (!id.text) {
        return NULL;
    }
    return id.is_int ? json_object_new_int64(apr_atoi64(id.text))
                     : json_object_new_string(id.text);
}

/* Writes the JSON text a string object holds as it is, not as a string. */
static int write_stored_text(json_object *obj, struct printbuf *pb,
                             int level, int flags)
{
    return printbuf_memappend(pb, json_object_get_string(obj),
                              json_object_get_string_len(obj));
}

/* item_ids as they were stored: JSON text that the parser wrote with
 * ORD_JSON_OUT_FLAGS, so it goes out unchanged, without being parsed into
 * a tree again for every order rendered (measured: 2.75 % of a POST's CPU
 * on SQLite went to that parse). */
static json_object *stored_json(const char *text)
{
    json_object *obj;

    if (!text) {
        return NULL;
    }
    obj = json_object_new_string(text);
    json_object_set_serializer(obj, write_stored_text, NULL, NULL);
    return obj;
}

static json_object *time_to_json(apr_pool_t *p, apr_time_t t)
{
    return t ? json_object_new_string(ord_time_format(p, t)) : NULL;
}

/* Seconds with exactly six decimals, written from the integer microseconds
 * so that no rounding creeps in. */
static json_object *duration_to_json(apr_pool_t *p, apr_time_t from,
                                     apr_time_t to)
{
    apr_int64_t us;
    const char *sign = "";

    if (!from || !to) {
        return NULL;
    }
    us = to - from;
    if (us < 0) {
        sign = "-";
        us = -us;
    }
    return json_object_new_double_s(
        (double)(to - from) / APR_USEC_PER_SEC,
        apr_psprintf(p, "%s%" APR_INT64_T_FMT ".%06" APR_INT64_T_FMT, sign,
                     us / APR_USEC_PER_SEC, us % APR_USEC_PER_SEC));
}

static json_object *order_object(apr_pool_t *p, const ord_order_t *o)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "order_id", id_to_json(o->order_id));
    json_object_object_add(obj, "user_id", id_to_json(o->user_id));
    json_object_object_add(obj, "item_ids", stored_json(o->item_ids_json));
    json_object_object_add(
        obj, "total_amount",
        json_object_new_double_s((double)o->total_amount.cents / 100,
                                 ord_money_format(p, o->total_amount)));
    json_object_object_add(obj, "status",
                           json_object_new_string(ord_status_name(o->status)));
    json_object_object_add(obj, "created_at", time_to_json(p, o->created_at));
    json_object_object_add(obj, "updated_at", time_to_json(p, o->updated_at));
    json_object_object_add(obj, "processing_started_at",
                           time_to_json(p, o->processing_started_at));
    json_object_object_add(obj, "completed_at",
                           time_to_json(p, o->completed_at));
    json_object_object_add(obj, "pending_duration",
                           duration_to_json(p, o->created_at,
                                            o->processing_started_at));
    json_object_object_add(obj, "processing_duration",
                           duration_to_json(p, o->processing_started_at,
                                            o->completed_at));
    json_object_object_add(obj, "total_duration",
                           duration_to_json(p, o->created_at,
                                            o->completed_at));
    return obj;
}

const char *ord_json_order(apr_pool_t *p, const ord_order_t *o)
{
    return to_text(p, order_object(p, o));
}

/* {"<name>": [each element as `one` makes it], "next": next or null}. */
static const char *page(apr_pool_t *p, const char *name,
                        const apr_array_header_t *elts,
                        json_object *(*one)(apr_pool_t *, const void *),
                        const char *next)
{
    json_object *obj = json_object_new_object();
    json_object *list = json_object_new_array();
    int i;

    for (i = 0; i < elts->nelts; i++) {
        json_object_array_add(list, one(p, APR_ARRAY_IDX(elts, i,
                                                         const void *)));
    }
    json_object_object_add(obj, name, list);
    json_object_object_add(obj, "next",
                           next ? json_object_new_string(next) : NULL);
    return to_text(p, obj);
}

static json_object *one_order(apr_pool_t *p, const void *o)
{
    return order_object(p, o);
}

static json_object *one_event(apr_pool_t *p, const void *elt)
{
    const ord_event_t *e = elt;
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "id", json_object_new_string(
                                          ord_events_id(p, e->cursor.seq)));
    json_object_object_add(obj, "type", json_object_new_string(e->type));
    json_object_object_add(obj, "created_at", time_to_json(p, e->created_at));
    json_object_object_add(obj, "order", order_object(p, &e->order));
    if (e->delivery) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "state", json_object_new_string(e->delivery));
        json_object_object_add(d, "attempts", json_object_new_int(e->attempts));
        json_object_object_add(d, "last_status", e->last_status
                               ? json_object_new_int(e->last_status) : NULL);
        json_object_object_add(d, "next_attempt_at",
                               time_to_json(p, e->next_attempt_at));
        json_object_object_add(obj, "delivery", d);
    }
    return obj;
}

const char *ord_json_event(apr_pool_t *p, const ord_event_t *event)
{
    return to_text(p, one_event(p, event));
}

const char *ord_json_order_list(apr_pool_t *p,
                                const apr_array_header_t *orders,
                                const char *next)
{
    return page(p, "orders", orders, one_order, next);
}

const char *ord_json_event_page(apr_pool_t *p,
                                const apr_array_header_t *events,
                                const char *next)
{
    return page(p, "events", events, one_event, next);
}

const char *ord_json_error(apr_pool_t *p, const char *message,
                           const char *request_id)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "error", json_object_new_string(message));
    if (request_id) {
        json_object_object_add(obj, "request_id",
                               json_object_new_string(request_id));
    }
    return to_text(p, obj);
}
