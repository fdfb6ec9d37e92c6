/*
 * ord_incident: one log line per incident.  See ord_incident.h.
 */
#include <apr_atomic.h>

#include "ord_incident.h"

int ord_incident_failed(ord_incident_t *in, apr_uint32_t kind)
{
    apr_uint32_t bit = 1u << (kind & 31), seen;

    apr_atomic_inc32(&in->failures);
    do {
        seen = apr_atomic_read32(&in->kinds);
        if (seen & bit) {
            return 0;
        }
    } while (apr_atomic_cas32(&in->kinds, seen | bit, seen) != seen);
    return 1;
}

apr_uint32_t ord_incident_ok(ord_incident_t *in)
{
    /* The common case, a success while healthy, is one read. */
    if (apr_atomic_read32(&in->kinds) == 0
        || apr_atomic_xchg32(&in->kinds, 0) == 0) {
        return 0;
    }
    return apr_atomic_xchg32(&in->failures, 0);
}
