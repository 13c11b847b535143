/* Resource claims (docs/compute-flow.md "The claim"): the guarded UPDATE of
 * compute_node, the instance_claim row and the instance's host, in one
 * transaction (one statement; a transaction with the group's lock for hard
 * server groups). The guard is what keeps concurrent schedulers from
 * over-committing a host: whatever their caches believe, PostgreSQL's row
 * lock serialises the UPDATEs and each re-evaluates the WHERE clause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

/* Hard server-group policies hold across schedulers too: lock the group row
 * (members of one group are claimed one at a time) and look at where the
 * other members are now. Returns 1 when @host is allowed. */
static int
claim_group_check(PGconn *conn, const struct sched_spec *spec, const char *group_id,
                  const char *host, struct err *err)
{
    const char *p[3] = {group_id, spec->instance_id, host};
    PGresult *res =
        db_exec(conn, "SELECT policy FROM server_group WHERE id = $1 FOR UPDATE", 1, p, err);
    if (!res)
        return -1;
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return 1; /* the group was deleted: no policy left to honour */
    const char *sql = spec->group_policy == SCHED_GROUP_AFFINITY
                          ? "SELECT count(*) FROM instance WHERE server_group_id = $1"
                            " AND id <> $2 AND host IS NOT NULL AND host <> $3"
                            " AND deleted_at IS NULL"
                          : "SELECT count(*) FROM instance WHERE server_group_id = $1"
                            " AND id <> $2 AND host = $3 AND deleted_at IS NULL";
    res = db_exec(conn, sql, 3, p, err);
    if (!res)
        return -1;
    long n = strtol(db_get(res, 0, 0), NULL, 10);
    PQclear(res);
    return n == 0;
}

/* The claim as one statement (one round trip; a statement is a transaction
 * of its own): lock the instance row while it still waits for a host, the
 * guarded compute_node UPDATE, the instance_claim row, and the instance's
 * host. The first count says whether the instance was still waiting, the
 * second whether the host had room. Under READ COMMITTED the guarded UPDATE
 * waits for a concurrent claim on the same host and re-checks its WHERE
 * clause on the row that claim left. */
static const char claim_sql[] =
    "WITH inst AS ("
    "  SELECT id FROM instance"
    "   WHERE id = $1 AND vm_state = 'building' AND host IS NULL AND deleted_at IS NULL"
    "   FOR UPDATE),"
    " node AS ("
    "  UPDATE compute_node"
    "     SET vcpus_used = vcpus_used + $3, memory_mb_used = memory_mb_used + $4,"
    "         local_gb_used = local_gb_used + $5, running_vms = running_vms + 1"
    "   WHERE host = $2 AND enabled AND EXISTS (SELECT 1 FROM inst)"
    "     AND vcpus_used + $3 <= vcpus * cpu_allocation_ratio"
    "     AND memory_mb_used + $4 <= memory_mb * ram_allocation_ratio"
    "     AND local_gb_used + $5 <= local_gb * disk_allocation_ratio"
    "  RETURNING host, hypervisor_hostname),"
    " claim AS ("
    "  INSERT INTO instance_claim (instance_id, host, vcpus, memory_mb, disk_gb)"
    "  SELECT $1, host, $3, $4, $5 FROM node RETURNING instance_id),"
    " upd AS ("
    "  UPDATE instance SET host = $2, node = (SELECT hypervisor_hostname FROM node),"
    "         task_state = 'spawning',"
    "         attempts = attempts + 1, updated_at = now()"
    "   WHERE id IN (SELECT instance_id FROM claim) RETURNING id)"
    " SELECT (SELECT count(*) FROM inst), (SELECT count(*) FROM upd)";

enum sched_claim_result
sched_claim(PGconn *conn, const struct sched_spec *spec, const char *group_id, const char *host,
            struct err *err)
{
    char v[24], m[24], d[24];
    snprintf(v, sizeof(v), "%d", spec->vcpus);
    snprintf(m, sizeof(m), "%lld", (long long)spec->memory_mb);
    snprintf(d, sizeof(d), "%lld", (long long)spec->disk_gb);
    enum sched_claim_result out = SCHED_CLAIM_ERROR;
    PGresult *res = NULL;
    bool hard_group = group_id && (spec->group_policy == SCHED_GROUP_AFFINITY ||
                                   spec->group_policy == SCHED_GROUP_ANTI_AFFINITY);

    /* a hard server group needs its lock and check in the same transaction */
    if (hard_group) {
        if (db_begin(conn, err) < 0)
            return SCHED_CLAIM_ERROR;
        int ok = claim_group_check(conn, spec, group_id, host, err);
        if (ok < 0)
            goto cleanup;
        if (ok == 0) {
            out = SCHED_CLAIM_GROUP;
            goto cleanup;
        }
    }
    const char *p[5] = {spec->instance_id, host, v, m, d};
    res = db_exec(conn, claim_sql, 5, p, err);
    if (!res) {
        if (err && err->code == ERR_CONFLICT) { /* a claim row exists already */
            out = SCHED_CLAIM_GONE;
            err_clear(err);
        }
        goto cleanup;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0)
        out = SCHED_CLAIM_GONE; /* deleted or claimed meanwhile */
    else if (strcmp(PQgetvalue(res, 0, 1), "1") != 0)
        out = SCHED_CLAIM_NO_ROOM; /* another scheduler took the room */
    else if (hard_group && db_commit(conn, err) < 0)
        goto cleanup;
    else
        out = SCHED_CLAIM_OK;

cleanup:
    PQclear(res);
    if (hard_group && out != SCHED_CLAIM_OK)
        db_rollback(conn);
    return out;
}

int
sched_claim_release(PGconn *conn, const char *instance_id, const char *host, bool *released,
                    struct err *err)
{
    const char *p[2] = {instance_id, host};
    *released = false;
    PGresult *res = db_exec(conn,
                            "DELETE FROM instance_claim WHERE instance_id = $1 AND host = $2"
                            " RETURNING vcpus, memory_mb, disk_gb",
                            2, p, err);
    if (!res)
        return err_prefix(err, "releasing the claim of %s on %s", instance_id, host);
    if (PQntuples(res) == 1) {
        const char *up[4] = {host, db_get(res, 0, 0), db_get(res, 0, 1), db_get(res, 0, 2)};
        int rc = db_cmd(conn,
                        "UPDATE compute_node"
                        "   SET vcpus_used = greatest(vcpus_used - $2, 0),"
                        "       memory_mb_used = greatest(memory_mb_used - $3, 0),"
                        "       local_gb_used = greatest(local_gb_used - $4, 0),"
                        "       running_vms = greatest(running_vms - 1, 0)"
                        " WHERE host = $1",
                        4, up, err);
        if (rc < 0) {
            PQclear(res);
            return err_prefix(err, "releasing the claim of %s on %s", instance_id, host);
        }
        *released = true;
    }
    PQclear(res);
    return 0;
}
