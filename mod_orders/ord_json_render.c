/*
 * ord_json_render: orders, lists, populate results and errors as JSON, with
 * json-c.  See ord_json.h.
 */
#include <string.h>

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

/* Writes the JSON text a string object holds as it is, not as a string. */
static int write_stored_text(json_object *obj, struct printbuf *pb,
                             int level, int flags)
{
    return printbuf_memappend(pb, json_object_get_string(obj),
                              json_object_get_string_len(obj));
}

/* JSON text made already (an order, as ord_json_order wrote it) as a node
 * of a json-c tree, written out unchanged rather than parsed again. */
static json_object *stored_json(const char *text)
{
    json_object *obj = json_object_new_string(text);

    json_object_set_serializer(obj, write_stored_text, NULL, NULL);
    return obj;
}

static json_object *time_to_json(apr_pool_t *p, apr_time_t t)
{
    return t ? json_object_new_string(ord_time_format(p, t)) : NULL;
}

/* An order is rendered by hand, not through json-c's tree: it is the answer
 * of every POST and of most GETs, and building and walking the tree (a hash
 * table, a copy of each key) was 6.4 % of a POST's CPU on SQLite.  The text
 * is byte for byte what json-c writes with ORD_JSON_OUT_FLAGS (the unit
 * tests compare the two): keys in this order, no spaces, strings escaped
 * as json-c escapes them. */

/* `s` as a JSON string, escaped as json-c escapes (no "/" escape). */
static const char *json_string(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t len = strlen(s), i, n = 0;
    char *out = apr_palloc(p, len * 6 + 3);

    out[n++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;

        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            out[n++] = esc[0];
            out[n++] = esc[1];
        }
        else if (c < ' ') {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 0xf];
            n += 6;
        }
        else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

static const char *id_text(apr_pool_t *p, ord_id_t id)
{
    if (!id.text) {
        return "null";
    }
    return id.is_int ? apr_psprintf(p, "%" APR_INT64_T_FMT, apr_atoi64(id.text))
                     : json_string(p, id.text);
}

static const char *time_text(apr_pool_t *p, apr_time_t t)
{
    return t ? apr_pstrcat(p, "\"", ord_time_format(p, t), "\"", NULL)
             : "null";
}

/* Seconds with exactly six decimals, written from the integer microseconds
 * so that no rounding creeps in. */
static const char *duration_text(apr_pool_t *p, apr_time_t from,
                                 apr_time_t to)
{
    apr_int64_t us;
    const char *sign = "";

    if (!from || !to) {
        return "null";
    }
    us = to - from;
    if (us < 0) {
        sign = "-";
        us = -us;
    }
    return apr_psprintf(p, "%s%" APR_INT64_T_FMT ".%06" APR_INT64_T_FMT, sign,
                        us / APR_USEC_PER_SEC, us % APR_USEC_PER_SEC);
}

const char *ord_json_order(apr_pool_t *p, const ord_order_t *o)
{
    return apr_pstrcat(
        p, "{\"order_id\":", id_text(p, o->order_id),
        ",\"user_id\":", id_text(p, o->user_id),
        ",\"item_ids\":", o->item_ids_json ? o->item_ids_json : "null",
        ",\"total_amount\":", ord_money_format(p, o->total_amount),
        ",\"status\":\"", ord_status_name(o->status),
        "\",\"created_at\":", time_text(p, o->created_at),
        ",\"updated_at\":", time_text(p, o->updated_at),
        ",\"processing_started_at\":", time_text(p, o->processing_started_at),
        ",\"completed_at\":", time_text(p, o->completed_at),
        ",\"pending_duration\":",
        duration_text(p, o->created_at, o->processing_started_at),
        ",\"processing_duration\":",
        duration_text(p, o->processing_started_at, o->completed_at),
        ",\"total_duration\":",
        duration_text(p, o->created_at, o->completed_at), "}", NULL);
}

/* The order inside a larger json-c tree (a list, an event): its text as
 * ord_json_order writes it. */
static json_object *order_object(apr_pool_t *p, const ord_order_t *o)
{
    return stored_json(ord_json_order(p, o));
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
