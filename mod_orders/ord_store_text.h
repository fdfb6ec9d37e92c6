/*
 * ord_store_text: what the two halves of ord_store share: the columns of an
 * order, and integers as the text apr_dbd passes.  Private to ord_store*.c.
 */
#ifndef ORD_STORE_TEXT_H
#define ORD_STORE_TEXT_H

#include <apr_strings.h>

#define ORDER_COLUMNS \
    "order_id, order_id_int, user_id, user_id_int, item_ids, "            \
    "amount_cents, amount_scale, status, created_us, updated_us, "         \
    "started_us, completed_us"

static inline const char *int64_text(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static inline apr_int64_t text_int64(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

#endif /* ORD_STORE_TEXT_H */
