/* What libvirt runs against what the agent's records say. At start-up (force:
 * every state is reported, so the cloud hears the truth after a restart) and
 * at every heartbeat (only changes: a guest that powered itself off, crashed,
 * or was touched behind the agent's back).
 *
 * The agent has no database, so it cannot know which instances the cloud has
 * deleted while it was away. It reports the ids it hosts in every heartbeat
 * (`instances`); the api answers with delete_instance for an id that is
 * deleted or belongs to another host (docs/compute-flow.md). Domains of
 * instances the agent itself deleted (tombstones) are removed here. */
#include <string.h>

#include "agent.h"
#include "log.h"
#include "mem.h"

static const struct compute_domain *
find_domain(const struct compute_domain *doms, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(doms[i].name, name) == 0)
            return &doms[i];
    return NULL;
}

/* The vm_state that a domain state means for an instance that is not in the
 * middle of an operation. */
static const char *
vm_state_of(const struct agent_record *r, const struct compute_domain *d)
{
    switch (d->power_state) {
    case COMPUTE_POWER_RUNNING:
        return "active";
    case COMPUTE_POWER_PAUSED:
        return r->suspend_paused ? "suspended" : "paused";
    case COMPUTE_POWER_SHUTDOWN:
        return d->managed_save ? "suspended" : "stopped";
    case COMPUTE_POWER_CRASHED:
        return "stopped";
    default:
        return r->vm_state;
    }
}

int
agent_sync(struct agent *a, bool force, struct err *err)
{
    struct compute_domain *doms = NULL;
    size_t n = 0;
    if (a->drv->ops->list(a->drv, &doms, &n, err) < 0)
        return -1;
    int rc = 0;
    free(a->unknown);
    a->unknown = NULL;
    a->nunknown = 0;
    for (size_t i = 0; i < n; i++) {
        char id[37];
        if (!compute_domain_instance_id(doms[i].name, id))
            continue;
        if (agent_tombstone_exists(a, id)) {
            struct err e = ERR_INIT;
            log_warn("instance %s: deleted, but domain %s exists: removing it", id, doms[i].name);
            if (a->drv->ops->destroy(a->drv, doms[i].name, &e) < 0 ||
                a->drv->ops->undefine(a->drv, doms[i].name, &e) < 0)
                log_error("instance %s: %s", id, e.msg);
            continue;
        }
        if (!agent_record_find(a, id)) {
            if (force)
                log_warn("instance %s: domain %s has no record here; reporting it in "
                         "heartbeats for the cloud to decide",
                         id, doms[i].name);
            a->unknown = xrealloc(a->unknown, (a->nunknown + 1) * sizeof(*a->unknown));
            memcpy(a->unknown[a->nunknown++], id, 37);
        }
    }
    for (size_t i = 0; i < a->nrecs; i++) {
        struct agent_record *r = &a->recs[i];
        if (strcmp(r->vm_state, "building") == 0)
            continue; /* unacknowledged: its build_instance comes again */
        char name[64];
        compute_domain_name(r->id, name);
        const struct compute_domain *d = find_domain(doms, n, name);
        struct err e = ERR_INIT;
        if (!d) {
            /* The definition is gone (a host reboot with a hypervisor that
             * forgets, someone's undefine): define it again, shut off. */
            log_warn("instance %s: domain %s is missing: defining it again", r->id, name);
            const char *fault = NULL;
            if (agent_define(a, r, NULL, &e) < 0)
                fault = e.msg;
            if (force || fault || strcmp(r->vm_state, "stopped") != 0 ||
                r->power_state != COMPUTE_POWER_SHUTDOWN) {
                struct err se = ERR_INIT;
                if (agent_report(a, r->id, fault ? "error" : "stopped", NULL,
                                 fault ? COMPUTE_POWER_NOSTATE : COMPUTE_POWER_SHUTDOWN, fault,
                                 &se) < 0)
                    rc = err_set(err, se.code, "%s", se.msg);
            }
            continue;
        }
        const char *vm_state = vm_state_of(r, d);
        int power = d->power_state;
        if (strcmp(vm_state, "suspended") == 0 && r->suspend_paused)
            power = COMPUTE_POWER_SUSPENDED;
        if (force || strcmp(vm_state, r->vm_state) != 0 || power != r->power_state) {
            if (!force)
                log_info("instance %s: state changed behind the agent: %s/%d -> %s/%d", r->id,
                         r->vm_state, r->power_state, vm_state, power);
            char vs[16];
            snprintf(vs, sizeof(vs), "%s", vm_state);
            if (agent_report(a, r->id, vs, NULL, power, NULL, &e) < 0)
                rc = err_set(err, e.code, "%s", e.msg);
        }
    }
    free(doms);
    return rc;
}
