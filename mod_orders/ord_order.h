/*
 * ord_order: the order model, its field rules and its canonical form.
 *
 * Owns what an order is independent of any transport or store: identifiers
 * with the JSON type they were sent with, money as integer hundredths plus the
 * number of decimals the client wrote, the status life cycle and timestamps in
 * integer microseconds (UTC).  Pure C and APR: no httpd header, no json-c.
 *
 * Thread-safety: every function is reentrant; results are allocated from the
 * pool passed in and live as long as it does.
 */
#ifndef ORD_ORDER_H
#define ORD_ORDER_H

#include <apr_pools.h>
#include <apr_time.h>

/* Limits of API.md section 2. */
#define ORD_ID_MAX_CHARS      64
#define ORD_INT_ID_MAX        APR_INT64_C(9007199254740991)   /* 2^53 - 1 */
#define ORD_AMOUNT_MAX_CENTS  APR_INT64_C(100000000000000)    /* 1e12 * 100 */
#define ORD_AMOUNT_MAX_SCALE  2
/* The one valid order id no order may take: it names {mount}/populate. */
#define ORD_RESERVED_ORDER_ID "populate"
/* ... and the one that names {mount}/events. */
#define ORD_RESERVED_EVENTS_ID "events"

typedef enum {
    ORD_PENDING = 0,
    ORD_PROCESSING,
    ORD_COMPLETED,
    ORD_CANCELLED,
    ORD_STATUS_COUNT
} ord_status_e;

/* An identifier as the client sent it: `text` is what appears in URLs and the
 * store's key; `is_int` remembers that it arrived as a JSON integer, so that
 * it goes back out as one. */
typedef struct {
    const char *text;
    int is_int;
} ord_id_t;

/* Money kept exact: `cents` hundredths, `scale` decimals written (0..2), so
 * that 149.99 goes out as 149.99 and 60.0 as 60.0. */
typedef struct {
    apr_int64_t cents;
    int scale;
} ord_money_t;

typedef struct {
    ord_id_t order_id;
    ord_id_t user_id;
    const char *item_ids_json;  /* canonical JSON array, e.g. [101,"a-2"] */
    ord_money_t total_amount;
    ord_status_e status;
    apr_time_t created_at;      /* microseconds since the epoch, UTC */
    apr_time_t updated_at;
    apr_time_t processing_started_at;  /* 0: not reached yet */
    apr_time_t completed_at;           /* 0: not reached yet */
} ord_order_t;

/* Status names exactly as the API spells them. */
const char *ord_status_name(ord_status_e status);
/* APR_SUCCESS and *status set, or APR_EINVAL for an unknown name. */
apr_status_t ord_status_parse(const char *name, ord_status_e *status);
/* Whether no transition leaves `status` (Completed, Cancelled): an order
 * in it never changes again. */
int ord_status_final(ord_status_e status);

/* order_id as a string: 1..64 chars of [A-Za-z0-9._:-]. */
int ord_order_id_text_valid(const char *text, apr_size_t len);
/* user_id as a string: 1..64 printable UTF-8 characters (no C0/C1 controls,
 * no DEL). `len` is in bytes; the text is valid UTF-8 already. */
int ord_user_id_text_valid(const char *text, apr_size_t len);
/* An item id given as a string: 1..64 UTF-8 characters, none of them a
 * control character. */
int ord_item_text_valid(const char *text, apr_size_t len);
/* An integer identifier: 0..2^53-1. */
int ord_int_id_valid(apr_int64_t value);

/* Parses a JSON number's text exactly (no binary floating point): sign,
 * digits, fraction and exponent.  APR_SUCCESS with *money set when
 * 0 <= value <= 1e12 with at most 2 decimals after the exponent is applied;
 * otherwise APR_EINVAL and *why (static text) says which rule failed.
 * "-0" is zero. */
apr_status_t ord_money_parse(const char *text, ord_money_t *money,
                             const char **why);
/* "59.99", "60", "60.0": exactly `scale` decimals. */
const char *ord_money_format(apr_pool_t *p, ord_money_t money);

/* A new order id, a random (version 4) UUID: fits the order_id rules. */
const char *ord_order_new_id(apr_pool_t *p);

/* A random order for the load simulation (POST {mount}/populate): user
 * 1..1000, one to five items 1..10000, 1.00 to 999.99.  `rng` is the state
 * of a xorshift generator, seeded non-zero by the caller; not for secrets. */
void ord_order_random(apr_pool_t *p, apr_uint64_t *rng, const char *order_id,
                      ord_order_t *order);

/* True when two orders carry the same client content (ids with their JSON
 * types, items, amount with its decimals): a safe retry, not a conflict. */
int ord_order_same_content(const ord_order_t *a, const ord_order_t *b);

/* ISO 8601 UTC with microseconds and Z: 2026-11-23T15:00:17.000000Z. */
const char *ord_time_format(apr_pool_t *p, apr_time_t t);

#endif /* ORD_ORDER_H */
