/* Resource claims (db/migrations/0002_compute.sql: instance_claim and
 * compute_node's *_used columns; docs/compute-flow.md "The claim"). The
 * scheduler takes a claim when it places an instance; the API (delete, the
 * agent's `deleted` event) and the scheduler (a failed build) give it back.
 * Both sides use these statements, so the figures a claim adds are exactly
 * the ones its release subtracts. */
#ifndef NUBE_DB_CLAIM_H
#define NUBE_DB_CLAIM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* What an instance asks of a host. */
struct db_claim {
    const char *instance_id;
    const char *host;
    int vcpus;
    int64_t memory_mb;
    int64_t disk_gb;
};

enum db_claim_result {
    DB_CLAIM_OK,      /* claimed: the instance's host/node set, task_state spawning */
    DB_CLAIM_NO_ROOM, /* the host is disabled, unknown or has no room left */
    DB_CLAIM_GONE,    /* the instance no longer waits for a host (deleted, claimed) */
};

/* One statement (a transaction of its own, or part of the caller's): lock
 * the instance row while it still waits for a host, the guarded compute_node
 * UPDATE (room under the allocation ratios, host enabled), the instance_claim
 * row, and the instance's host, node, task_state 'spawning', attempts + 1.
 * Under READ COMMITTED the guarded UPDATE waits for a concurrent claim on the
 * same host and re-checks its WHERE clause on the row that claim left, so
 * concurrent schedulers never over-commit a host. A db_claim_result, or -1
 * with @err. */
int db_claim_take(PGconn *conn, const struct db_claim *claim, struct err *err);

/* For a member of a hard server group, inside the caller's transaction: lock
 * the group row (its members are claimed one at a time) and check where the
 * other live members are now. 1 when @host is allowed (also when the group
 * is gone), 0 when the policy forbids it, -1 with @err. @affinity: every
 * member on one host; else none two on the same host. */
int db_claim_group_allows(PGconn *conn, const char *group_id, const char *instance_id,
                          const char *host, bool affinity, struct err *err);

/* Delete @instance_id's claim and give its figures back to its host's
 * compute_node (never below 0), in one statement, inside the caller's
 * transaction if there is one. @host: only a claim on that host (a stale
 * report from another host releases nothing); NULL: wherever it is.
 * *@released (if not NULL) tells whether there was a claim. */
int db_claim_release(PGconn *conn, const char *instance_id, const char *host, bool *released,
                     struct err *err);

#endif
