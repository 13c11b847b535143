/* Policy: the rule language (oslo.policy's), the default table (upstream
 * defaults: admins everything; members write their project; readers only
 * read; unauthenticated nothing), overrides from a policy file, and a scan of
 * api/'s sources proving every action a handler checks has a rule. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "policy.h"

static struct api_ctx
ctx_of(const char *user, const char *project, unsigned roles)
{
    struct api_ctx c;
    memset(&c, 0, sizeof(c));
    c.authenticated = true;
    strcpy(c.user_id, user);
    strcpy(c.project_id, project);
    c.roles = policy_roles_imply(roles);
    c.is_admin = (c.roles & API_ROLE_ADMIN) != 0;
    return c;
}

/* 1/0 for @rule on @ctx/@t, -1 for a bad rule */
static int
eval(const char *rule, const struct api_ctx *ctx, const struct policy_target *t)
{
    struct err err = ERR_INIT;
    return policy_eval_text(rule, ctx, t, &err);
}

/* policy_load of a file holding @json: 0 or -1 with the message in @msg */
static int
load_json(const char *json, char *msg, size_t cap)
{
    char path[] = "/tmp/nube-policy-test.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -2;
    FILE *f = fdopen(fd, "w");
    fputs(json, f);
    fclose(f);
    struct err err = ERR_INIT;
    int rc = policy_load(path, &err);
    snprintf(msg, cap, "%s", err.msg);
    unlink(path);
    return rc;
}

/* ---- the source scan ---- */

static const char *const checkers[] = {
    "policy_check(", "policy_allows(",   "compute_authorize(", "compute_authorize_project(",
    "compute_may(",  "image_authorize(", "image_may(",
};

static int scanned_actions;

/* Every string literal given directly (not inside a nested call) to a
 * checker, and every "os_compute_api:..." / "identity:..." literal, must be
 * an action of the table. */
static void
scan_text(const char *file, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '"' &&
            (strncmp(p + 1, "os_compute_api:", 15) == 0 || strncmp(p + 1, "identity:", 9) == 0)) {
            const char *e = strchr(p + 1, '"');
            if (!e)
                break;
            char lit[256];
            snprintf(lit, sizeof(lit), "%.*s", (int)(e - p - 1), p + 1);
            if (!policy_known(lit))
                fprintf(stderr, "%s: \"%s\" has no rule in api/core/policy_defaults.c\n", file,
                        lit);
            CHECK(policy_known(lit));
            scanned_actions++;
            p = e;
            continue;
        }
        for (size_t c = 0; c < sizeof(checkers) / sizeof(checkers[0]); c++) {
            size_t n = strlen(checkers[c]);
            if (strncmp(p, checkers[c], n) != 0 ||
                (p > s && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'))))
                continue;
            int depth = 1;
            const char *q = p + n;
            for (; *q && depth > 0; q++) {
                if (*q == '(')
                    depth++;
                else if (*q == ')')
                    depth--;
                else if (*q == '"') {
                    const char *e = strchr(q + 1, '"');
                    if (!e)
                        return;
                    if (depth == 1) {
                        char lit[256];
                        snprintf(lit, sizeof(lit), "%.*s", (int)(e - q - 1), q + 1);
                        if (!policy_known(lit))
                            fprintf(
                                stderr,
                                "%s: %.*s(... \"%s\" ...) has no rule in api/core/policy_defaults.c\n",
                                file, (int)(n - 1), checkers[c], lit);
                        CHECK(policy_known(lit));
                        scanned_actions++;
                    }
                    q = e;
                }
            }
            break;
        }
    }
}

static void
scan_dir(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len = strlen(de->d_name);
        if (de->d_type == DT_DIR) {
            scan_dir(path);
            continue;
        }
        /* the table itself and the checkers' own definitions are not uses */
        if (len < 3 || strcmp(de->d_name + len - 2, ".c") != 0 ||
            strcmp(de->d_name, "policy.c") == 0)
            continue;
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        if (!f)
            continue;
        char *text = NULL;
        size_t cap = 0;
        ssize_t got = getdelim(&text, &cap, '\0', f);
        fclose(f);
        if (got > 0)
            scan_text(path, text);
        free(text);
    }
    closedir(d);
}

int
main(void)
{
    struct api_ctx admin = ctx_of("u-admin", "p-admin", API_ROLE_ADMIN);
    struct api_ctx member = ctx_of("u-alice", "p-demo", API_ROLE_MEMBER);
    struct api_ctx reader = ctx_of("u-bob", "p-demo", API_ROLE_READER);
    struct api_ctx unscoped = ctx_of("u-carol", "", 0);
    struct api_ctx anon;
    memset(&anon, 0, sizeof(anon));
    struct policy_target own = {.project_id = "p-demo", .user_id = "u-alice"};
    struct policy_target other = {.project_id = "p-other", .user_id = "u-zed"};
    struct policy_target bob = {.project_id = "p-demo", .user_id = "u-bob"};
    struct err err = ERR_INIT;

    CHECK_INT(policy_role_bit("admin"), API_ROLE_ADMIN);
    CHECK_INT(policy_role_bit("member"), API_ROLE_MEMBER);
    CHECK_INT(policy_role_bit("reader"), API_ROLE_READER);
    CHECK_INT(policy_role_bit("Admin"), 0);
    CHECK_INT(policy_roles_imply(API_ROLE_ADMIN),
              API_ROLE_ADMIN | API_ROLE_MEMBER | API_ROLE_READER);
    CHECK_INT(policy_roles_imply(API_ROLE_MEMBER), API_ROLE_MEMBER | API_ROLE_READER);

    /* ---- the rule language ---- */
    CHECK_INT(eval("@", &reader, NULL), 1);
    CHECK_INT(eval("!", &admin, NULL), 0);
    CHECK_INT(eval("", &reader, NULL), 1); /* oslo: an empty rule allows */
    CHECK_INT(eval("@", &anon, NULL), 0);  /* but never the unauthenticated */
    CHECK_INT(eval("role:member", &member, NULL), 1);
    CHECK_INT(eval("role:member", &reader, NULL), 0);
    CHECK_INT(eval("role:MEMBER", &member, NULL), 1); /* role names compare lowercased */
    CHECK_INT(eval("role:reader", &admin, NULL), 1);  /* admin implies member implies reader */
    CHECK_INT(eval("role:auditor", &admin, NULL), 0);
    CHECK_INT(eval("project_id:%(project_id)s", &member, &own), 1);
    CHECK_INT(eval("project_id:%(project_id)s", &member, &other), 0);
    CHECK_INT(eval("project_id:%(project_id)s", &unscoped, &own), 0);
    CHECK_INT(eval("project_id:%(project_id)s", &member, NULL), 0);
    CHECK_INT(eval("user_id:%(user_id)s", &member, &own), 1);
    CHECK_INT(eval("user_id:%(target.user.id)s", &member, &other), 0);
    CHECK_INT(eval("user_id:u-alice", &member, NULL), 1); /* a literal */
    CHECK_INT(eval("is_admin:True", &admin, NULL), 1);
    CHECK_INT(eval("is_admin:True", &member, NULL), 0);
    CHECK_INT(eval("is_admin:False", &member, NULL), 1);
    CHECK_INT(eval("is_admin:1", &admin, NULL), 1);
    CHECK_INT(eval("system_scope:all", &admin, NULL), 0); /* no system scope in Nube */
    struct policy_target pub = {.project_id = "p-other", .visibility = "public"};
    CHECK_INT(eval("'public':%(visibility)s", &member, &pub), 1);
    CHECK_INT(eval("\"community\":%(visibility)s", &member, &pub), 0);
    /* and binds tighter than or; not tighter than and; parentheses group */
    CHECK_INT(eval("role:admin or role:member and project_id:%(project_id)s", &member, &other), 0);
    CHECK_INT(eval("role:admin or role:member and project_id:%(project_id)s", &admin, &other), 1);
    CHECK_INT(eval("(role:admin or role:member) and project_id:%(project_id)s", &admin, &other), 0);
    CHECK_INT(eval("not role:admin and role:reader", &reader, NULL), 1);
    CHECK_INT(eval("not role:admin and role:reader", &admin, NULL), 0);
    CHECK_INT(eval("not (role:admin or role:member)", &reader, NULL), 1);
    CHECK_INT(eval("((role:member))", &member, NULL), 1);
    CHECK_INT(eval("role:reader and (project_id:%(project_id)s or 'public':%(visibility)s)",
                   &reader, &pub),
              1);
    CHECK_INT(eval("rule:project_member_or_admin", &member, &own), 1);
    CHECK_INT(eval("rule:project_member_or_admin", &reader, &bob), 0);
    CHECK_INT(eval("rule:project_member_or_admin", &admin, &other), 1);
    CHECK_INT(eval("rule:admin_api", &member, &own), 0);
    CHECK_INT(eval("ROLE:member OR role:admin", &member, NULL), -1); /* kinds are case-sensitive */
    CHECK_INT(eval("role:admin OR role:member", &member, NULL), 1);  /* keywords are not */
    /* syntax errors name what is wrong */
    static const struct {
        const char *rule, *says;
    } bad[] = {
        {"role:admin and", "ends where a check was expected"},
        {"(role:admin", "not closed"},
        {"role:admin)", "unexpected ')'"},
        {"role:admin role:member", "unexpected 'role:member'"},
        {"or role:admin", "unexpected 'or'"},
        {"rule:no_such_rule", "rule:no_such_rule names no rule"},
        {"frob:x", "unknown check 'frob'"},
        {"admin", "is not a check"},
        {"project_id:%(nope)s", "%(nope)s names no target field"},
        {"project_id:%(project_id", "not of the form"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        CHECK_INT(policy_eval_text(bad[i].rule, &admin, NULL, &err), -1);
        CHECK_INT(err.code, ERR_INVALID);
        if (!strstr(err.msg, bad[i].says))
            fprintf(stderr, "rule \"%s\": message \"%s\" lacks \"%s\"\n", bad[i].rule, err.msg,
                    bad[i].says);
        CHECK(strstr(err.msg, bad[i].says) != NULL);
    }

    /* ---- the default table: it compiles, and holds the upstream defaults ---- */
    err_clear(&err);
    CHECK_INT(policy_load(NULL, &err), 0);
    size_t n;
    const struct policy_default *d = policy_defaults(&n);
    CHECK(n > 100);
    for (size_t i = 0; i < n; i++) {
        CHECK(policy_known(d[i].name));
        CHECK(d[i].description && d[i].description[0]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(d[i].name, d[j].name) != 0);
    }
    /* Nova */
    CHECK(policy_allows(&member, "os_compute_api:servers:create", &own));
    CHECK(!policy_allows(&reader, "os_compute_api:servers:create", &bob));
    CHECK(policy_allows(&reader, "os_compute_api:servers:index", &bob));
    CHECK(!policy_allows(&member, "os_compute_api:servers:show", &other));
    CHECK(policy_allows(&admin, "os_compute_api:servers:delete", &other));
    CHECK(!policy_allows(&member, "os_compute_api:os-hypervisors:list", &own));
    CHECK(policy_allows(&admin, "os_compute_api:os-hypervisors:list", &own));
    CHECK(!policy_allows(&member, "os_compute_api:os-flavor-manage:create", &own));
    CHECK(policy_allows(&reader, "os_compute_api:os-keypairs:create", &bob));
    CHECK(!policy_allows(&reader, "os_compute_api:os-keypairs:show", &own));
    CHECK(policy_allows(&reader, "os_compute_api:os-quota-sets:show", &bob));
    CHECK(!policy_allows(&reader, "os_compute_api:os-quota-sets:show", &other));
    CHECK(!policy_allows(&unscoped, "os_compute_api:servers:index", &(struct policy_target){0}));
    /* Glance */
    CHECK(policy_allows(&member, "add_image", &own));
    CHECK(!policy_allows(&reader, "add_image", &bob));
    CHECK(!policy_allows(&member, "publicize_image", &own));
    CHECK(policy_allows(&admin, "publicize_image", &own));
    CHECK(policy_allows(&member, "communitize_image", &own));
    CHECK(!policy_allows(&member, "modify_image", &pub));
    CHECK(policy_allows(&reader, "get_image", &pub));
    CHECK(!policy_allows(&reader, "download_image", &pub)); /* Glance: members download */
    CHECK(policy_allows(&member, "download_image", &pub));
    struct policy_target shared_to_demo = {
        .project_id = "p-other", .member_id = "p-demo", .visibility = "shared"};
    CHECK(policy_allows(&member, "modify_member", &shared_to_demo));
    CHECK(!policy_allows(&member, "modify_member", &own)); /* the owner does not accept */
    CHECK(!policy_allows(&member, "delete_member", &shared_to_demo));
    /* Keystone */
    CHECK(policy_allows(&admin, "identity:create_project", NULL));
    CHECK(policy_allows(&admin, "identity:get_project", &other));
    CHECK(policy_allows(&member, "identity:get_project", &own));
    CHECK(!policy_allows(&member, "identity:get_project", &other));
    CHECK(policy_allows(&reader, "identity:get_project", &bob));
    CHECK(policy_allows(&member, "identity:get_user", &own));
    CHECK(!policy_allows(&member, "identity:get_user", &other));
    CHECK(!policy_allows(&member, "identity:list_projects", NULL)); /* a 403 now */
    CHECK(!policy_allows(&member, "identity:list_users", NULL));    /* a 403 now */
    CHECK(policy_allows(&admin, "identity:list_users", NULL));
    CHECK(!policy_allows(&member, "identity:create_grant", &own));
    CHECK(!policy_allows(&reader, "identity:update_project", &bob));
    CHECK(!policy_allows(&reader, "identity:create_user", NULL));
    CHECK(policy_allows(&member, "identity:change_password", &own));
    CHECK(!policy_allows(&member, "identity:change_password", &other));
    struct policy_target carol = {.user_id = "u-carol"};
    CHECK(policy_allows(&unscoped, "identity:validate_token", &carol));
    CHECK(!policy_allows(&unscoped, "identity:validate_token", &own));
    CHECK(policy_allows(&unscoped, "identity:get_auth_projects", NULL));
    /* the generic rules for project-owned resources */
    CHECK(policy_allows(&member, "project:write", &own));
    CHECK(!policy_allows(&reader, "project:write", &bob));
    CHECK(policy_allows(&reader, "project:read", &bob));
    CHECK(!policy_allows(&member, "project:read", &other));

    /* unknown actions fail closed, for admins too */
    CHECK(!policy_known("compute:some_future_action"));
    CHECK(!policy_allows(&admin, "compute:some_future_action", &own));
    err_clear(&err);
    CHECK_INT(policy_check(&admin, "compute:some_future_action", NULL, &err), -1);
    CHECK_INT(err.code, ERR_FORBIDDEN);

    /* unauthenticated: 401; authenticated but denied: 403 naming the action */
    err_clear(&err);
    CHECK_INT(policy_check(&anon, "identity:get_auth_catalog", NULL, &err), -1);
    CHECK_INT(err.code, ERR_UNAUTHORIZED);
    err_clear(&err);
    CHECK_INT(policy_check(&reader, "identity:create_project", NULL, &err), -1);
    CHECK_INT(err.code, ERR_FORBIDDEN);
    CHECK(strstr(err.msg, "identity:create_project") != NULL);
    err_clear(&err);
    CHECK_INT(policy_check(&admin, "identity:create_project", NULL, &err), 0);

    /* ---- every action the handlers check has a rule ---- */
    scan_dir(NUBE_API_SRC);
    CHECK(scanned_actions > 100); /* the scan found the handlers' checks */

    /* ---- the policy file ---- */
    char msg[ERR_MSG_MAX];
    CHECK_INT(load_json("{\"os_compute_api:os-hypervisors:list\": \"rule:hv_viewers\","
                        " \"hv_viewers\": \"rule:project_reader_or_admin\","
                        " \"os_compute_api:os-keypairs:create\": \"!\"}",
                        msg, sizeof(msg)),
              0);
    CHECK(policy_allows(&reader, "os_compute_api:os-hypervisors:list", &bob));
    CHECK(!policy_allows(&reader, "os_compute_api:os-hypervisors:show", &bob)); /* untouched */
    CHECK(!policy_allows(&admin, "os_compute_api:os-keypairs:create", &own));
    CHECK(policy_known("hv_viewers"));
    json_t *dump = policy_dump();
    CHECK_STR(json_string_value(json_object_get(dump, "os_compute_api:os-keypairs:create")), "!");
    CHECK_STR(json_string_value(json_object_get(dump, "identity:list_users")),
              "rule:admin_required");
    json_decref(dump);
    /* errors are start-up errors naming the rule; the policy in force stays */
    CHECK_INT(
        load_json("{\"os_compute_api:servers:create\": \"role:member and\"}", msg, sizeof(msg)),
        -1);
    CHECK(strstr(msg, "os_compute_api:servers:create") != NULL);
    CHECK_INT(load_json("{\"add_image\": \"rule:nope\"}", msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "add_image") && strstr(msg, "rule:nope names no rule"));
    CHECK_INT(load_json("{\"a\": \"rule:b\", \"b\": \"role:x or rule:a\"}", msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "refers back to itself") != NULL);
    CHECK_INT(load_json("[\"role:admin\"]", msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "must be a JSON object") != NULL);
    CHECK_INT(load_json("{\"add_image\": true}", msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "add_image") != NULL);
    CHECK_INT(load_json("{\"add_image\": ", msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "line 1") != NULL);
    CHECK(!policy_allows(&admin, "os_compute_api:os-keypairs:create", &own)); /* still */
    err_clear(&err);
    CHECK_INT(policy_load("/nonexistent/policy.json", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/policy.json") != NULL);
    /* back to the defaults */
    CHECK_INT(policy_load("", &err), 0);
    CHECK(policy_allows(&admin, "os_compute_api:os-keypairs:create", &own));
    CHECK(!policy_known("hv_viewers"));
    return check_done();
}
