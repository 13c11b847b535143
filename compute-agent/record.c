/* The agent's own records: what it hosts and last reported, on local disk
 * (never in PostgreSQL), and tombstones of deleted instances so that a late,
 * redelivered build does not bring one back. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "mem.h"

char *
agent_instance_dir(const struct agent *a, const char *id)
{
    return xasprintf("%s/%s", a->cfg.instances_dir, id);
}

char *
agent_instance_file(const struct agent *a, const char *id, const char *name)
{
    return xasprintf("%s/%s/%s", a->cfg.instances_dir, id, name);
}

struct agent_record *
agent_record_find(struct agent *a, const char *id)
{
    for (size_t i = 0; i < a->nrecs; i++)
        if (strcmp(a->recs[i].id, id) == 0)
            return &a->recs[i];
    return NULL;
}

struct agent_record *
agent_record_add(struct agent *a, const char *id, json_t *spec_take)
{
    struct agent_record *r = agent_record_find(a, id);
    if (r) {
        json_decref(r->spec);
        r->spec = spec_take;
        return r;
    }
    if (a->nrecs == a->caprecs) {
        a->caprecs = a->caprecs ? a->caprecs * 2 : 16;
        a->recs = xrealloc(a->recs, a->caprecs * sizeof(*a->recs));
    }
    r = &a->recs[a->nrecs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->vm_state, sizeof(r->vm_state), "building");
    r->spec = spec_take;
    return r;
}

void
agent_record_drop(struct agent *a, const char *id)
{
    struct agent_record *r = agent_record_find(a, id);
    if (!r)
        return;
    json_decref(r->spec);
    size_t i = (size_t)(r - a->recs);
    memmove(&a->recs[i], &a->recs[i + 1], (a->nrecs - i - 1) * sizeof(*r));
    a->nrecs--;
}

int
agent_record_save(struct agent *a, const struct agent_record *r, struct err *err)
{
    json_t *o = json_pack("{s:O, s:s, s:i, s:b, s:s}", "instance", r->spec, "vm_state", r->vm_state,
                          "power_state", r->power_state, "suspend_paused", r->suspend_paused,
                          "launched_at", r->launched_at);
    char *path = agent_instance_file(a, r->id, "instance.json");
    char *tmp = xasprintf("%s.tmp", path);
    int rc = 0;
    if (json_dump_file(o, tmp, JSON_INDENT(1)) < 0 || rename(tmp, path) < 0) {
        rc = err_set_errno(err, ERR_IO, errno, "writing %s", path);
        unlink(tmp);
    }
    json_decref(o);
    free(tmp);
    free(path);
    return rc;
}

static void
record_load_one(struct agent *a, const char *id)
{
    char *path = agent_instance_file(a, id, "instance.json");
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    json_t *spec = o ? json_get_obj(o, "instance") : NULL;
    const char *vm_state = o ? json_get_str(o, "vm_state") : NULL;
    struct compute_instance check;
    struct err e = ERR_INIT;
    if (!spec || !vm_state || compute_instance_parse(spec, &check, &e) < 0 ||
        strcmp(check.id, id) != 0) {
        log_warn("instance %s: ignoring unreadable record %s: %s", id, path,
                 o ? (e.msg[0] ? e.msg : "bad fields") : je.text);
        if (spec)
            compute_instance_clear(&check);
        json_decref(o);
        free(path);
        return;
    }
    compute_instance_clear(&check);
    struct agent_record *r = agent_record_add(a, id, json_incref(spec));
    snprintf(r->vm_state, sizeof(r->vm_state), "%s", vm_state);
    json_int_t ps = 0;
    json_get_int(o, "power_state", &ps);
    r->power_state = (int)ps;
    json_get_bool(o, "suspend_paused", &r->suspend_paused);
    const char *launched = json_get_str(o, "launched_at");
    snprintf(r->launched_at, sizeof(r->launched_at), "%s", launched ? launched : "");
    json_decref(o);
    free(path);
}

int
agent_records_load(struct agent *a, struct err *err)
{
    DIR *d = opendir(a->cfg.instances_dir);
    if (!d)
        return err_set_errno(err, ERR_IO, errno, "opening %s", a->cfg.instances_dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (id_is_uuid(e->d_name))
            record_load_one(a, e->d_name);
    closedir(d);
    return 0;
}

static char *
tombstone_path(const struct agent *a, const char *id)
{
    return xasprintf("%s/.deleted/%s", a->cfg.instances_dir, id);
}

bool
agent_tombstone_exists(const struct agent *a, const char *id)
{
    char *p = tombstone_path(a, id);
    bool yes = access(p, F_OK) == 0;
    free(p);
    return yes;
}

int
agent_tombstone_add(const struct agent *a, const char *id, struct err *err)
{
    char *dir = xasprintf("%s/.deleted", a->cfg.instances_dir);
    char *p = tombstone_path(a, id);
    int rc = disk_mkdirs(dir, err);
    if (rc == 0) {
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = err_set_errno(err, ERR_IO, errno, "creating %s", p);
        else
            close(fd);
    }
    free(dir);
    free(p);
    return rc;
}

void
agent_tombstones_prune(const struct agent *a, long max_age_s)
{
    char *dir = xasprintf("%s/.deleted", a->cfg.instances_dir);
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d)))
        if (id_is_uuid(e->d_name) && fstatat(dirfd(d), e->d_name, &st, 0) == 0 &&
            now - st.st_mtime > max_age_s)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}
