/*
 * ord_incident: one log line per incident.  See ord_incident.h.
 */
#include <apr_atomic.h>

#include "ord_incident.h"

int ord_incident_failed(ord_incident_t *in, apr_uint32_t kind)
{
    apr_atomic_inc32(&in->failures);
    return apr_atomic_xchg32(&in->kind, kind) != kind;
}

apr_uint32_t ord_incident_ok(ord_incident_t *in)
{
    /* The common case, a success while healthy, is one read. */
    if (apr_atomic_read32(&in->kind) == 0
        || apr_atomic_xchg32(&in->kind, 0) == 0) {
        return 0;
    }
    return apr_atomic_xchg32(&in->failures, 0);
}
