/* The bus methods of compute.<host> (docs/compute-flow.md "Bus messages").
 * Each is idempotent on its instance: it looks at what libvirt and the
 * agent's record hold, does only the steps still missing, and reports the
 * resulting state with a fresh sequence number. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bus.h"
#include "domain_xml.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#define CONSOLE_MAX_BYTES (256 * 1024)
#define CONSOLE_MAX_LINES 100000

int64_t
agent_next_seq(struct agent *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    a->last_seq = now > a->last_seq ? now : a->last_seq + 1;
    return a->last_seq;
}

static void
now_iso(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
agent_report(struct agent *a, const char *id, const char *vm_state_in, const char *task_state,
             int power_state, const char *fault_msg, struct err *err)
{
    struct agent_record *r = agent_record_find(a, id);
    char vm_state[16]; /* @vm_state_in may be the record's own buffer */
    snprintf(vm_state, sizeof(vm_state), "%s", vm_state_in);
    json_t *args =
        json_pack("{s:s, s:s, s:I, s:s, s:o, s:i}", "instance_id", id, "host", a->cfg.host, "seq",
                  (json_int_t)agent_next_seq(a), "vm_state", vm_state, "task_state",
                  task_state ? json_string(task_state) : json_null(), "power_state", power_state);
    if (fault_msg)
        json_object_set_new(args, "fault",
                            json_pack("{s:i, s:s}", "code", 500, "message", fault_msg));
    if (r && r->launched_at[0])
        json_object_set_new(args, "launched_at", json_string(r->launched_at));
    int rc = a->emit(a->emit_opaque, BUS_TOPIC_EVENTS, "instance_update", args, err);
    json_decref(args);
    log_info("instance %s: %s/%s power %d%s%s%s", id, vm_state, task_state ? task_state : "-",
             power_state, fault_msg ? " fault: " : "", fault_msg ? fault_msg : "",
             rc < 0 ? " (NOT SENT)" : "");
    if (r && strcmp(vm_state, "deleted") != 0) {
        snprintf(r->vm_state, sizeof(r->vm_state), "%s", vm_state);
        r->power_state = power_state;
        struct err e = ERR_INIT;
        if (agent_record_save(a, r, &e) < 0)
            log_warn("instance %s: %s", id, e.msg);
    }
    return rc;
}

/* The domain's power state, COMPUTE_POWER_NOSTATE when it does not exist. */
static int
domain_power(struct agent *a, const char *name, bool *exists, bool *saved)
{
    struct compute_domain d;
    struct err e = ERR_INIT;
    *exists = false;
    if (saved)
        *saved = false;
    if (a->drv->ops->state(a->drv, name, &d, &e) < 0) {
        if (e.code != ERR_NOT_FOUND)
            log_warn("%s", e.msg);
        return COMPUTE_POWER_NOSTATE;
    }
    *exists = true;
    if (saved)
        *saved = d.managed_save;
    return d.power_state;
}

/* The download tokens of @msg's images (the instance object of the message in
 * hand, which the record on disk never holds) onto @inst's, by image id. */
static void
take_tokens(struct compute_instance *inst, const json_t *msg)
{
    struct compute_image *imgs[] = {&inst->image, &inst->kernel, &inst->ramdisk};
    static const char *const keys[] = {"image", "kernel", "ramdisk"};
    for (size_t i = 0; i < ARRAY_SIZE(imgs); i++) {
        const json_t *o = json_get_obj(msg, keys[i]);
        const char *token = json_get_str(o, "token"), *id = json_get_str(o, "id");
        if (token && id && imgs[i]->id && strcmp(id, imgs[i]->id) == 0) {
            free(imgs[i]->token);
            imgs[i]->token = xstrdup(token);
        }
    }
}

int
agent_define(struct agent *a, struct agent_record *r, const json_t *msg, struct err *err)
{
    struct compute_instance inst;
    if (compute_instance_parse(r->spec, &inst, err) < 0)
        return -1;
    if (msg)
        take_tokens(&inst, msg);
    struct disk_config dc = agent_disk_config(a);
    char *kernel = NULL, *initrd = NULL, *image = NULL, *xml = NULL;
    char *disk = agent_instance_file(a, r->id, "disk");
    char *console = agent_instance_file(a, r->id, "console.log");
    char *dir = agent_instance_dir(a, r->id);
    int rc = -1;
    bool image_is_kernel = strcmp(inst.image.disk_format, "aki") == 0;
    if (disk_mkdirs(dir, err) < 0)
        goto cleanup;
    if (image_is_kernel) {
        if (disk_image_get(&dc, &inst.image, &kernel, err) < 0)
            goto cleanup;
    } else {
        if (disk_image_get(&dc, &inst.image, &image, err) < 0)
            goto cleanup;
        if (inst.kernel.location && disk_image_get(&dc, &inst.kernel, &kernel, err) < 0)
            goto cleanup;
    }
    if (inst.ramdisk.location && disk_image_get(&dc, &inst.ramdisk, &initrd, err) < 0)
        goto cleanup;
    /* A kernel image without a root disk image gets a blank one of root_gb
     * (none when root_gb is 0: the initrd is the whole system). */
    bool have_disk = image || inst.root_gb > 0;
    if (have_disk && disk_instance_create(a->disk_kind, image, inst.root_gb, disk, err) < 0)
        goto cleanup;
    struct domain_xml_input in = {
        .inst = &inst,
        .virt_type = a->virt_type,
        .disk_path = have_disk ? disk : NULL,
        .disk_format = a->disk_kind == DISK_RAW_COPY ? "raw" : "qcow2",
        .kernel_path = kernel,
        .initrd_path = initrd,
        .console_path = console,
    };
    xml = domain_xml_build(&in, err);
    if (!xml || a->drv->ops->define(a->drv, xml, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    compute_instance_clear(&inst);
    free(kernel);
    free(initrd);
    free(image);
    free(xml);
    free(disk);
    free(console);
    free(dir);
    return rc;
}

/* Remove whatever exists of the instance on this host: domain, definition,
 * folder and record. Absent parts are fine. */
static int
teardown(struct agent *a, const char *id, struct err *err)
{
    char name[64];
    compute_domain_name(id, name);
    struct err e = ERR_INIT;
    if (a->drv->ops->destroy(a->drv, name, &e) < 0 && e.code != ERR_NOT_FOUND)
        return err_set(err, e.code, "%s", e.msg);
    err_clear(&e);
    if (a->drv->ops->undefine(a->drv, name, &e) < 0 && e.code != ERR_NOT_FOUND)
        return err_set(err, e.code, "%s", e.msg);
    char *dir = agent_instance_dir(a, id);
    int rc = disk_instance_dir_remove(dir, err);
    free(dir);
    agent_record_drop(a, id);
    return rc;
}

static const char *
get_instance_id(const json_t *args, struct err *err)
{
    const char *id = json_get_str(args, "instance_id");
    if (!id || !id_is_uuid(id)) {
        err_set(err, ERR_INVALID, "instance_id is missing or not a UUID");
        return NULL;
    }
    return id;
}

/* ---- build ---- */

/* Undo what this build made (@cleanup) and hand the instance back to the
 * scheduler. */
static enum agent_result
build_fail(struct agent *a, const char *id, bool cleanup, const char *reason)
{
    struct err e = ERR_INIT;
    if (cleanup && teardown(a, id, &e) < 0)
        log_error("instance %s: cleanup after a failed build: %s", id, e.msg);
    json_t *args =
        json_pack("{s:s, s:s, s:s}", "instance_id", id, "host", a->cfg.host, "reason", reason);
    err_clear(&e);
    int rc = a->emit(a->emit_opaque, BUS_TOPIC_SCHEDULER, "build_failed", args, &e);
    json_decref(args);
    log_error("instance %s: build failed: %s", id, reason);
    if (rc < 0) {
        log_error("instance %s: build_failed not sent: %s", id, e.msg);
        return AGENT_RETRY;
    }
    return AGENT_DONE;
}

static enum agent_result
op_build(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    (void)reply;
    const json_t *obj = json_get_obj(args, "instance");
    const char *id = obj ? json_get_str(obj, "id") : NULL;
    if (!id || !id_is_uuid(id))
        return err_set(err, ERR_INVALID, "instance.id is missing or not a UUID"), AGENT_BAD;
    struct compute_instance inst;
    struct err e = ERR_INIT;
    if (compute_instance_parse(obj, &inst, &e) < 0) {
        if (agent_record_find(a, id)) {
            /* never let a bad message touch an instance that is here */
            log_error("instance %s: malformed build ignored, the instance exists here: %s", id,
                      e.msg);
            return AGENT_DONE;
        }
        char reason[ERR_MSG_MAX + 32];
        snprintf(reason, sizeof(reason), "bad build request: %s", e.msg);
        return build_fail(a, id, false, reason); /* nothing was made */
    }
    char iid[37];
    snprintf(iid, sizeof(iid), "%s", inst.id);
    id = iid;
    if (agent_tombstone_exists(a, id)) {
        log_warn("instance %s: build for a deleted instance ignored", id);
        compute_instance_clear(&inst);
        return AGENT_DONE;
    }
    char name[64];
    compute_domain_name(id, name);
    bool exists;
    int power = domain_power(a, name, &exists, NULL);
    struct agent_record *r = agent_record_find(a, id);
    if (r && strcmp(r->vm_state, "building") != 0) {
        /* Built already (a redelivery or a duplicate): say so again. A lost
         * definition is made again, but a failure here never tears down an
         * instance that was built (its disk holds the guest's data). */
        log_info("instance %s: build already done (%s), reporting its state", id, r->vm_state);
        compute_instance_clear(&inst);
        const char *fault = NULL, *vm_state = r->vm_state;
        if (!exists) {
            if (agent_define(a, r, json_get_obj(args, "instance"), &e) < 0)
                fault = e.msg;
            else
                vm_state = "stopped"; /* defined again, shut off: start_instance runs it */
        }
        power = domain_power(a, name, &exists, NULL);
        return agent_report(a, id, vm_state, NULL, power, fault, err) < 0 ? AGENT_RETRY
                                                                          : AGENT_DONE;
    }
    char *dir = agent_instance_dir(a, id);
    int mk = disk_mkdirs(dir, &e);
    free(dir);
    if (mk < 0) {
        compute_instance_clear(&inst);
        char reason[ERR_MSG_MAX];
        snprintf(reason, sizeof(reason), "%s", e.msg);
        return build_fail(a, id, true, reason);
    }
    if (!r)
        r = agent_record_add(a, id, compute_instance_to_json(&inst));
    compute_instance_clear(&inst);
    if (agent_report(a, id, "building", "spawning", power, NULL, err) < 0) {
        return AGENT_RETRY;
    }
    char reason[ERR_MSG_MAX];
    if (!exists && agent_define(a, r, json_get_obj(args, "instance"), &e) < 0) {
        snprintf(reason, sizeof(reason), "%s", e.msg);
        return build_fail(a, id, true, reason);
    }
    if (power != COMPUTE_POWER_RUNNING && a->drv->ops->start(a->drv, name, &e) < 0) {
        snprintf(reason, sizeof(reason), "%s", e.msg);
        return build_fail(a, id, true, reason);
    }
    r = agent_record_find(a, id);
    now_iso(r->launched_at);
    power = domain_power(a, name, &exists, NULL);
    if (!exists) {
        return build_fail(a, id, true, "the domain vanished right after it was started");
    }
    return agent_report(a, id, "active", NULL, power, NULL, err) < 0 ? AGENT_RETRY : AGENT_DONE;
}

/* ---- delete ---- */

static enum agent_result
op_delete(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    (void)reply;
    const char *id = get_instance_id(args, err);
    if (!id)
        return AGENT_BAD;
    char iid[37];
    snprintf(iid, sizeof(iid), "%s", id);
    struct err e = ERR_INIT;
    /* The tombstone first: a build redelivered after this point is ignored. */
    if (agent_tombstone_add(a, iid, &e) < 0)
        log_warn("instance %s: %s", iid, e.msg);
    err_clear(&e);
    if (teardown(a, iid, &e) < 0) {
        char name[64];
        compute_domain_name(iid, name);
        bool exists;
        int power = domain_power(a, name, &exists, NULL);
        struct agent_record *r = agent_record_find(a, iid);
        return agent_report(a, iid, r ? r->vm_state : "error", NULL, power, e.msg, err) < 0
                   ? AGENT_RETRY
                   : AGENT_DONE;
    }
    return agent_report(a, iid, "deleted", NULL, COMPUTE_POWER_NOSTATE, NULL, err) < 0 ? AGENT_RETRY
                                                                                       : AGENT_DONE;
}

/* ---- power operations ---- */

/* The instance's record and domain for an operation; when the definition is
 * gone but the record (or args.instance) says what it was, define it again. */
static struct agent_record *
prepare(struct agent *a, const json_t *args, const char *id, char name[64], struct err *err)
{
    compute_domain_name(id, name);
    struct agent_record *r = agent_record_find(a, id);
    const json_t *obj = json_get_obj(args, "instance");
    if (!r && obj) {
        struct compute_instance inst;
        if (compute_instance_parse(obj, &inst, err) < 0 || strcmp(inst.id, id) != 0) {
            if (!err->msg[0])
                err_set(err, ERR_INVALID, "instance.id does not match instance_id");
            compute_instance_clear(&inst);
            return NULL;
        }
        r = agent_record_add(a, id, compute_instance_to_json(&inst));
        snprintf(r->vm_state, sizeof(r->vm_state), "stopped");
        compute_instance_clear(&inst);
    }
    if (!r) {
        err_set(err, ERR_NOT_FOUND, "instance %s is not on host %s", id, a->cfg.host);
        return NULL;
    }
    bool exists;
    domain_power(a, name, &exists, NULL);
    if (!exists) {
        log_warn("instance %s: no domain %s: defining it again", id, name);
        if (agent_define(a, r, obj, err) < 0)
            return NULL;
    }
    return r;
}

/* After a failed step: report the state the domain is really in, and why. */
static enum agent_result
op_failed(struct agent *a, const char *id, const char *name, const char *vm_state_if_unchanged,
          const struct err *why, struct err *err)
{
    bool exists;
    int power = domain_power(a, name, &exists, NULL);
    return agent_report(a, id, vm_state_if_unchanged, NULL, power, why->msg, err) < 0 ? AGENT_RETRY
                                                                                      : AGENT_DONE;
}

static int
wait_power(struct agent *a, const char *name, int want, long secs)
{
    bool exists;
    for (long i = 0; i <= secs * 10; i++) {
        int p = domain_power(a, name, &exists, NULL);
        if (!exists || p == want)
            return p;
        if (i < secs * 10) {
            agent_heartbeat_tick(a);
            usleep(100000);
        }
    }
    return domain_power(a, name, &exists, NULL);
}

#define OP_BEGIN()                                                                                 \
    (void)reply;                                                                                   \
    const char *id_ = get_instance_id(args, err);                                                  \
    if (!id_)                                                                                      \
        return AGENT_BAD;                                                                          \
    char id[37], name[64];                                                                         \
    snprintf(id, sizeof(id), "%s", id_);                                                           \
    struct err e = ERR_INIT;                                                                       \
    struct agent_record *r = prepare(a, args, id, name, &e);                                       \
    if (!r) {                                                                                      \
        log_warn("instance %s: %s", id, e.msg);                                                    \
        return AGENT_DONE;                                                                         \
    }                                                                                              \
    char prev[16];                                                                                 \
    snprintf(prev, sizeof(prev), "%s", r->vm_state);                                               \
    bool exists, saved;                                                                            \
    int power = domain_power(a, name, &exists, &saved);

#define OP_REPORT(vm_state, power_state)                                                           \
    (agent_report(a, id, (vm_state), NULL, (power_state), NULL, err) < 0 ? AGENT_RETRY : AGENT_DONE)

static enum agent_result
op_stop(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    if (power == COMPUTE_POWER_RUNNING && a->cfg.shutdown_timeout_s > 0) {
        /* A clean shutdown first, as Nova's stop does; then pull the plug. */
        if (a->drv->ops->shutdown(a->drv, name, &e) < 0)
            log_warn("instance %s: %s", id, e.msg);
        else
            power = wait_power(a, name, COMPUTE_POWER_SHUTDOWN, a->cfg.shutdown_timeout_s);
    }
    err_clear(&e);
    if (power != COMPUTE_POWER_SHUTDOWN && a->drv->ops->destroy(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    r = agent_record_find(a, id);
    r->suspend_paused = false;
    return OP_REPORT("stopped", domain_power(a, name, &exists, NULL));
}

/* start_instance, and resume_instance too: a guest paused in memory (a
 * suspend without managed save) is resumed; one shut off, with or without a
 * managed-save image, is started (which restores the image). */
static enum agent_result
op_start(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    (void)saved;
    if (power == COMPUTE_POWER_PAUSED && a->drv->ops->resume(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    if (power != COMPUTE_POWER_RUNNING && power != COMPUTE_POWER_PAUSED &&
        a->drv->ops->start(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    r = agent_record_find(a, id);
    r->suspend_paused = false;
    if (!r->launched_at[0])
        now_iso(r->launched_at);
    return OP_REPORT("active", domain_power(a, name, &exists, NULL));
}

static enum agent_result
op_reboot(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    (void)saved;
    const char *type = json_get_str(args, "type");
    bool hard = type && strcmp(type, "HARD") == 0;
    if (type && !hard && strcmp(type, "SOFT") != 0)
        return err_set(err, ERR_INVALID, "reboot type must be SOFT or HARD"), AGENT_BAD;
    if (agent_report(a, id, prev, hard ? "reboot_started_hard" : "reboot_started", power, NULL,
                     err) < 0)
        return AGENT_RETRY;
    if (!hard && power == COMPUTE_POWER_RUNNING) {
        if (a->drv->ops->reboot(a->drv, name, &e) == 0)
            return OP_REPORT("active", domain_power(a, name, &exists, NULL));
        log_warn("instance %s: soft reboot failed, rebooting hard: %s", id, e.msg);
        err_clear(&e);
    }
    /* Hard: power off and start again (the definition stays). */
    if (a->drv->ops->destroy(a->drv, name, &e) < 0 || a->drv->ops->start(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    r = agent_record_find(a, id);
    r->suspend_paused = false;
    return OP_REPORT("active", domain_power(a, name, &exists, NULL));
}

static enum agent_result
op_pause(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    (void)saved;
    if (power != COMPUTE_POWER_PAUSED && a->drv->ops->suspend(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    return OP_REPORT("paused", domain_power(a, name, &exists, NULL));
}

static enum agent_result
op_unpause(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    (void)saved;
    if (power == COMPUTE_POWER_PAUSED && a->drv->ops->resume(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    return OP_REPORT("active", domain_power(a, name, &exists, NULL));
}

static enum agent_result
op_suspend(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    OP_BEGIN();
    if (saved || (power == COMPUTE_POWER_PAUSED && r->suspend_paused))
        return OP_REPORT("suspended", power); /* done already */
    if (power == COMPUTE_POWER_PAUSED && a->drv->ops->resume(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    if (a->drv->ops->save(a->drv, name, &e) == 0) {
        r = agent_record_find(a, id);
        r->suspend_paused = false;
        return OP_REPORT("suspended", domain_power(a, name, &exists, NULL));
    }
    if (e.code != ERR_UNSUPPORTED)
        return op_failed(a, id, name, prev, &e, err);
    /* No managed save on this hypervisor: the guest stays in memory with its
     * vCPUs stopped. README.md says so. */
    log_info("instance %s: no managed save here (%s): suspending by pausing", id, e.msg);
    err_clear(&e);
    if (a->drv->ops->suspend(a->drv, name, &e) < 0)
        return op_failed(a, id, name, prev, &e, err);
    r = agent_record_find(a, id);
    r->suspend_paused = true;
    return OP_REPORT("suspended", COMPUTE_POWER_SUSPENDED);
}

/* ---- console ---- */

static enum agent_result
op_console(struct agent *a, const json_t *args, json_t **reply, struct err *err)
{
    const char *id = get_instance_id(args, err);
    if (!id)
        return AGENT_BAD;
    json_int_t length = 0;
    json_t *len = json_object_get(args, "length");
    if (len && !json_is_null(len)) {
        if (!json_is_integer(len) || json_integer_value(len) < 0 ||
            json_integer_value(len) > CONSOLE_MAX_LINES)
            return err_set(err, ERR_INVALID, "length must be an integer 0..%d", CONSOLE_MAX_LINES),
                   AGENT_DONE;
        length = json_integer_value(len);
    }
    if (!agent_record_find(a, id))
        return err_set(err, ERR_NOT_FOUND, "instance %s is not on host %s", id, a->cfg.host),
               AGENT_DONE;
    char *path = agent_instance_file(a, id, "console.log");
    char *out = disk_console_tail(path, (long)length, CONSOLE_MAX_BYTES, err);
    free(path);
    if (!out)
        return AGENT_DONE;
    *reply = json_pack("{s:s}", "output", out);
    free(out);
    return AGENT_DONE;
}

/* ---- dispatch ---- */

typedef enum agent_result (*agent_op_fn)(struct agent *a, const json_t *args, json_t **reply,
                                         struct err *err);

static const struct {
    const char *method;
    agent_op_fn fn;
    bool call;
} agent_ops[] = {
    {"build_instance", op_build, false},     {"delete_instance", op_delete, false},
    {"stop_instance", op_stop, false},       {"start_instance", op_start, false},
    {"reboot_instance", op_reboot, false},   {"pause_instance", op_pause, false},
    {"unpause_instance", op_unpause, false}, {"suspend_instance", op_suspend, false},
    {"resume_instance", op_start, false},    {"get_console_output", op_console, true},
};

bool
agent_method_is_call(const char *method)
{
    for (size_t i = 0; i < ARRAY_SIZE(agent_ops); i++)
        if (strcmp(agent_ops[i].method, method) == 0)
            return agent_ops[i].call;
    return false;
}

enum agent_result
agent_dispatch(struct agent *a, const char *method, const json_t *args, json_t **reply,
               struct err *err)
{
    *reply = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(agent_ops); i++)
        if (strcmp(agent_ops[i].method, method) == 0)
            return agent_ops[i].fn(a, args, reply, err);
    err_set(err, ERR_UNSUPPORTED, "unknown method %.64s", method);
    return AGENT_BAD;
}
