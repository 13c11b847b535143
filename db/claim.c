/* Resource claims (claim.h): the claim the scheduler takes and the release
 * the API and the scheduler both make, one statement each. */
#include "claim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The first count says whether the instance was still waiting, the second
 * whether the host had room. */
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

int
db_claim_take(PGconn *conn, const struct db_claim *c, struct err *err)
{
    char v[24], m[24], d[24];
    snprintf(v, sizeof(v), "%d", c->vcpus);
    snprintf(m, sizeof(m), "%" PRId64, c->memory_mb);
    snprintf(d, sizeof(d), "%" PRId64, c->disk_gb);
    const char *p[5] = {c->instance_id, c->host, v, m, d};
    PGresult *res = db_exec(conn, claim_sql, 5, p, err);
    if (!res) {
        if (err && err->code == ERR_CONFLICT) { /* a claim row exists already */
            err_clear(err);
            return DB_CLAIM_GONE;
        }
        return -1;
    }
    int out = DB_CLAIM_OK;
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0)
        out = DB_CLAIM_GONE; /* deleted or claimed meanwhile */
    else if (strcmp(PQgetvalue(res, 0, 1), "1") != 0)
        out = DB_CLAIM_NO_ROOM; /* another scheduler took the room */
    PQclear(res);
    return out;
}

int
db_claim_group_allows(PGconn *conn, const char *group_id, const char *instance_id, const char *host,
                      bool affinity, struct err *err)
{
    const char *p[3] = {group_id, instance_id, host};
    PGresult *res =
        db_exec(conn, "SELECT policy FROM server_group WHERE id = $1 FOR UPDATE", 1, p, err);
    if (!res)
        return -1;
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return 1; /* the group was deleted: no policy left to honour */
    const char *sql = affinity ? "SELECT count(*) FROM instance WHERE server_group_id = $1"
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

/* The claim row goes and its figures go back in one statement; the counts
 * say whether there was a claim. */
static const char release_sql[] =
    "WITH c AS ("
    "  DELETE FROM instance_claim WHERE instance_id = $1::uuid AND ($2::text IS NULL OR host = $2)"
    "  RETURNING host, vcpus, memory_mb, disk_gb),"
    " n AS ("
    "  UPDATE compute_node n"
    "     SET vcpus_used = greatest(n.vcpus_used - c.vcpus, 0),"
    "         memory_mb_used = greatest(n.memory_mb_used - c.memory_mb, 0),"
    "         local_gb_used = greatest(n.local_gb_used - c.disk_gb, 0),"
    "         running_vms = greatest(n.running_vms - 1, 0), updated_at = now()"
    "    FROM c WHERE n.host = c.host RETURNING n.host)"
    " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM n)";

int
db_claim_release(PGconn *conn, const char *instance_id, const char *host, bool *released,
                 struct err *err)
{
    const char *p[2] = {instance_id, host};
    if (released)
        *released = false;
    PGresult *res = db_exec(conn, release_sql, 2, p, err);
    if (!res)
        return -1;
    if (released)
        *released = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return 0;
}
