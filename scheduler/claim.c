/* Resource claims (docs/compute-flow.md "The claim"): the scheduler's side.
 * The statements are db/claim.c's, shared with the API's release: the
 * guarded UPDATE of compute_node, the instance_claim row and the instance's
 * host in one statement, and for hard server groups a transaction with the
 * group's lock around it. The guard is what keeps concurrent schedulers from
 * over-committing a host: whatever their caches believe, PostgreSQL's row
 * lock serialises the UPDATEs and each re-evaluates the WHERE clause. */
#include "claim.h"
#include "db.h"
#include "service.h"

enum sched_claim_result
sched_claim(PGconn *conn, const struct sched_spec *spec, const char *group_id, const char *host,
            struct err *err)
{
    enum sched_claim_result out = SCHED_CLAIM_ERROR;
    bool hard_group = group_id && (spec->group_policy == SCHED_GROUP_AFFINITY ||
                                   spec->group_policy == SCHED_GROUP_ANTI_AFFINITY);

    /* a hard server group needs its lock and check in the same transaction */
    if (hard_group) {
        if (db_begin(conn, err) < 0)
            return SCHED_CLAIM_ERROR;
        int ok = db_claim_group_allows(conn, group_id, spec->instance_id, host,
                                       spec->group_policy == SCHED_GROUP_AFFINITY, err);
        if (ok < 0)
            goto cleanup;
        if (ok == 0) {
            out = SCHED_CLAIM_GROUP;
            goto cleanup;
        }
    }
    struct db_claim claim = {spec->instance_id, host, spec->vcpus, spec->memory_mb, spec->disk_gb};
    int r = db_claim_take(conn, &claim, err);
    if (r < 0)
        goto cleanup;
    if (r == DB_CLAIM_GONE)
        out = SCHED_CLAIM_GONE; /* deleted or claimed meanwhile */
    else if (r == DB_CLAIM_NO_ROOM)
        out = SCHED_CLAIM_NO_ROOM; /* another scheduler took the room */
    else if (hard_group && db_commit(conn, err) < 0)
        goto cleanup;
    else
        out = SCHED_CLAIM_OK;

cleanup:
    if (hard_group && out != SCHED_CLAIM_OK)
        db_rollback(conn);
    return out;
}

int
sched_claim_release(PGconn *conn, const char *instance_id, const char *host, bool *released,
                    struct err *err)
{
    if (db_claim_release(conn, instance_id, host, released, err) < 0)
        return err_prefix(err, "releasing the claim of %s on %s", instance_id, host);
    return 0;
}
