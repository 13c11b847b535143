/* POST /compute/v2.1/servers/{id}/action: os-stop, os-start, reboot, pause,
 * unpause, suspend, resume (Nova's state checks: a state that does not allow
 * the action is 409; the task_state is set in one guarded UPDATE, then the
 * action is cast to compute.<host>), and os-getConsoleOutput (a call to the
 * host's agent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "schema.h"

struct action {
    const char *name;       /* the body's key */
    const char *method;     /* the agent's method */
    const char *task_state; /* set while it runs */
    const char *allowed;    /* vm_states, as a PostgreSQL array literal */
};

static const struct action actions[] = {
    {"os-stop", "stop_instance", "powering-off", "{active,error}"},
    {"os-start", "start_instance", "powering-on", "{stopped}"},
    {"pause", "pause_instance", "pausing", "{active}"},
    {"unpause", "unpause_instance", "unpausing", "{paused}"},
    {"suspend", "suspend_instance", "suspending", "{active}"},
    {"resume", "resume_instance", "resuming", "{suspended}"},
};

/* Nova's policy action of each server action */
static const struct {
    const char *name;
    const char *policy;
} action_policies[] = {
    {"os-stop", "os_compute_api:servers:stop"},
    {"os-start", "os_compute_api:servers:start"},
    {"reboot", "os_compute_api:servers:reboot"},
    {"pause", "os_compute_api:os-pause-server:pause"},
    {"unpause", "os_compute_api:os-pause-server:unpause"},
    {"suspend", "os_compute_api:os-suspend-server:suspend"},
    {"resume", "os_compute_api:os-suspend-server:resume"},
    {"os-getConsoleOutput", "os_compute_api:os-console-output"},
};

/* An unknown action is checked as a show: the answer (400) tells the server exists. */
static const char *
action_policy(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(action_policies); i++)
        if (strcmp(action_policies[i].name, name) == 0)
            return action_policies[i].policy;
    return "os_compute_api:servers:show";
}

static int
state_action(struct api_req *req, const char *id, const struct action *act, const char *task,
             const char *allowed, const char *reboot_type, struct err *err)
{
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    const char *vm_state = json_string_value(json_object_get(row, "vm_state"));
    const char *cur_task = json_string_value(json_object_get(row, "task_state"));
    char state[32];
    snprintf(state, sizeof(state), "%s", vm_state);
    char cur[32];
    snprintf(cur, sizeof(cur), "%s", cur_task ? cur_task : "None");
    json_decref(row);
    const char *p[] = {id, task, allowed};
    json_t *upd = db_query_json(conn,
                                "UPDATE instance SET task_state = $2, updated_at = now() WHERE "
                                "id = $1::uuid AND deleted_at IS NULL AND host IS NOT NULL AND "
                                "vm_state = ANY($3::text[]) AND task_state IS NULL RETURNING host",
                                3, p, err);
    if (!upd)
        return -1;
    if (json_array_size(upd) != 1) {
        json_decref(upd);
        return err_set(err, ERR_CONFLICT,
                       "Cannot '%s' instance %s while it is in vm_state %s, task_state %s",
                       act->name, id, state, cur);
    }
    char host[256];
    snprintf(host, sizeof(host), "%s",
             json_string_value(json_object_get(json_array_get(upd, 0), "host")));
    json_decref(upd);
    char topic[BUS_TOPIC_MAX + 1];
    json_t *args = json_pack("{s:s}", "instance_id", id);
    if (reboot_type)
        json_object_set_new(args, "type", json_string(reboot_type));
    int rc = bus_topic_compute(host, topic, sizeof(topic), err) < 0
                 ? -1
                 : compute_cast(req, topic, act->method, args, err);
    json_decref(args);
    if (rc < 0) {
        /* not handed on: undo the task so the instance is not stuck */
        struct err e2 = ERR_INIT;
        const char *up[] = {id, task};
        db_cmd(conn,
               "UPDATE instance SET task_state = NULL WHERE id = $1::uuid AND task_state = $2", 2,
               up, &e2);
        return -1;
    }
    api_reply_empty(req, 202);
    return 0;
}

static const struct api_field console_fields[] = {
    API_FIELD_DEF("length", API_FIELD_INTEGER, API_FIELD_NULLABLE | API_FIELD_INT_STRING, .min = -1,
                  .max = 100000),
};
static const struct api_schema console_schema = {
    .name = "os-getConsoleOutput", .fields = console_fields, .nfields = ARRAY_SIZE(console_fields)};

static int
console_output(struct api_req *req, const char *id, json_t *arg, struct err *err)
{
    long long length = -1;
    if (arg && !json_is_object(arg) && !json_is_null(arg))
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute os-getConsoleOutput.");
    if (json_is_object(arg)) {
        if (api_schema_validate(&console_schema, arg, API_SCHEMA_CREATE, false, API_ERRORS_NOVA,
                                err) < 0)
            return -1;
        json_t *v = json_object_get(arg, "length");
        if (json_is_integer(v))
            length = json_integer_value(v);
        else if (json_is_string(v))
            length = strtoll(json_string_value(v), NULL, 10);
    }
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    const char *host = json_string_value(json_object_get(row, "host"));
    bool up = json_is_true(json_object_get(row, "host_up"));
    const char *vm_state = json_string_value(json_object_get(row, "vm_state"));
    char hostbuf[256] = "";
    if (host)
        snprintf(hostbuf, sizeof(hostbuf), "%s", host);
    bool building = strcmp(vm_state, "building") == 0;
    json_decref(row);
    if (!hostbuf[0] || building)
        return err_set(err, ERR_CONFLICT,
                       "Instance %s has no console yet (it is not running "
                       "on a host).",
                       id);
    if (!up)
        return err_set(err, ERR_CONFLICT,
                       "Instance %s is on host %s, which is down: its console "
                       "cannot be read.",
                       id, hostbuf);
    char topic[BUS_TOPIC_MAX + 1];
    if (bus_topic_compute(hostbuf, topic, sizeof(topic), err) < 0)
        return -1;
    struct bus *bus = compute_bus(req, err);
    if (!bus)
        return -1;
    json_t *args = json_pack("{s:s}", "instance_id", id);
    if (length >= 0)
        json_object_set_new(args, "length", json_integer(length));
    json_t *reply = NULL;
    int rc = bus_call(bus, topic, "get_console_output", args, (int)req->srv->cfg.console_timeout_ms,
                      &reply, err);
    json_decref(args);
    if (rc < 0) {
        log_warn("instance %s: console from %s: %s", id, hostbuf, err->msg);
        if (err->code == ERR_TIMEOUT || err->code == ERR_UNAVAILABLE)
            return err_set(err, ERR_CONFLICT,
                           "The console of instance %s could not be read: host "
                           "%s did not answer.",
                           id, hostbuf);
        if (err->code == ERR_NOT_FOUND)
            return err_set(err, ERR_CONFLICT, "The console of instance %s is not available.", id);
        return err_set(err, ERR_CONFLICT, "The console of instance %s could not be read.", id);
    }
    json_t *out = json_object_get(reply, "output");
    api_reply_json(req, 200,
                   json_pack("{s:s}", "output", json_is_string(out) ? json_string_value(out) : ""));
    json_decref(reply);
    return 0;
}

/* The bodies of the actions that take arguments (Nova 2.1's schemas). */
static const char *const reboot_types[] = {"SOFT", "HARD", "soft", "hard", NULL};
static const struct api_field reboot_fields[] = {
    API_FIELD_DEF("type", API_FIELD_STRING, API_FIELD_REQUIRED, .enum_values = reboot_types),
};
static const struct api_schema reboot_schema = {
    .name = "reboot", .fields = reboot_fields, .nfields = ARRAY_SIZE(reboot_fields)};

static int
server_action(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *id = api_req_param(req, "server_id");
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    if (json_object_size(body) != 1)
        return err_set(err, ERR_INVALID, "There is no such action, or more than one was given.");
    const char *name = json_object_iter_key(json_object_iter(body));
    if (compute_authorize(req, action_policy(name), err) < 0)
        return -1;
    json_t *arg = json_object_get(body, name);
    if (strcmp(name, "os-getConsoleOutput") == 0)
        return console_output(req, id, arg, err);
    if (strcmp(name, "reboot") == 0) {
        if (!json_is_object(arg))
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute reboot: type "
                           "SOFT or HARD is required.");
        if (api_schema_validate(&reboot_schema, arg, API_SCHEMA_CREATE, false, API_ERRORS_NOVA,
                                err) < 0)
            return -1;
        bool hard = strcasecmp(json_string_value(json_object_get(arg, "type")), "HARD") == 0;
        static const struct action reboot = {"reboot", "reboot_instance", NULL, NULL};
        return state_action(req, id, &reboot, hard ? "rebooting_hard" : "rebooting",
                            hard ? "{active,stopped,paused,suspended,error}" : "{active}",
                            hard ? "HARD" : "SOFT", err);
    }
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
        if (strcmp(name, actions[i].name) == 0) {
            if (!json_is_null(arg) && !json_is_object(arg))
                return err_set(err, ERR_INVALID, "Invalid input for field/attribute %s.", name);
            return state_action(req, id, &actions[i], actions[i].task_state, actions[i].allowed,
                                NULL, err);
        }
    /* unknown action: Nova answers 400 after checking the server exists */
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    return err_set(err, ERR_INVALID, "There is no such action: %.64s", name);
}

static const struct api_route routes[] = {
    {.method = "POST",
     .pattern = COMPUTE_V21 "/servers/{server_id}/action",
     .handler = server_action},
};

const struct api_route_table compute_actions_routes = {
    .name = "compute_actions",
    .prefix = COMPUTE_V21 "/servers",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
