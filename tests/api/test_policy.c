/* Policy: admins everything; members and readers their own project and
 * themselves; readers never write; unauthenticated nothing. */
#include <string.h>

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
    struct err err = ERR_INIT;

    CHECK_INT(policy_role_bit("admin"), API_ROLE_ADMIN);
    CHECK_INT(policy_role_bit("member"), API_ROLE_MEMBER);
    CHECK_INT(policy_role_bit("reader"), API_ROLE_READER);
    CHECK_INT(policy_role_bit("Admin"), 0);
    CHECK_INT(policy_roles_imply(API_ROLE_ADMIN),
              API_ROLE_ADMIN | API_ROLE_MEMBER | API_ROLE_READER);
    CHECK_INT(policy_roles_imply(API_ROLE_MEMBER), API_ROLE_MEMBER | API_ROLE_READER);

    /* admins: everything */
    CHECK(policy_allows(&admin, "identity:create_project", NULL));
    CHECK(policy_allows(&admin, "identity:get_project", &other));
    CHECK(policy_allows(&admin, "identity:delete_user", &other));
    CHECK(policy_allows(&admin, "identity:list_projects", NULL));
    CHECK(policy_allows(&admin, "compute:some_future_action", &other));

    /* members: their own project and themselves, nothing else */
    CHECK(policy_allows(&member, "identity:get_project", &own));
    CHECK(!policy_allows(&member, "identity:get_project", &other));
    CHECK(policy_allows(&member, "identity:get_user", &own));
    CHECK(!policy_allows(&member, "identity:get_user", &other));
    CHECK(!policy_allows(&member, "identity:list_projects", NULL));
    CHECK(!policy_allows(&member, "identity:create_project", NULL));
    CHECK(!policy_allows(&member, "identity:create_grant", &own));
    CHECK(!policy_allows(&member, "identity:delete_user", &own));
    CHECK(policy_allows(&member, "identity:list_roles", NULL));
    CHECK(policy_allows(&member, "identity:change_password", &own));
    CHECK(!policy_allows(&member, "identity:change_password", &other));

    /* readers read their project; never write */
    struct policy_target bob = {.project_id = "p-demo", .user_id = "u-bob"};
    CHECK(policy_allows(&reader, "identity:get_project", &bob));
    CHECK(!policy_allows(&reader, "identity:update_project", &bob));
    CHECK(!policy_allows(&reader, "identity:create_user", NULL));

    /* project-owned resources: members write, readers only read */
    CHECK(policy_allows(&member, "project:write", &own));
    CHECK(policy_allows(&member, "project:read", &own));
    CHECK(!policy_allows(&member, "project:write", &other));
    CHECK(!policy_allows(&member, "project:read", &other));
    CHECK(policy_allows(&reader, "project:read", &bob));
    CHECK(!policy_allows(&reader, "project:write", &bob));
    CHECK(policy_allows(&admin, "project:write", &other));
    CHECK(!policy_allows(&unscoped, "project:read", &own));

    /* the rules future families will use */
    CHECK_INT(policy_rule_of("project:write"), POLICY_PROJECT_MEMBER);
    CHECK_INT(policy_rule_of("identity:get_project"), POLICY_PROJECT_READER);
    CHECK_INT(policy_rule_of("no:such_action"), POLICY_ADMIN);

    /* unscoped tokens reach no project */
    CHECK(!policy_allows(&unscoped, "identity:get_project", &own));
    struct policy_target carol = {.user_id = "u-carol"};
    CHECK(policy_allows(&unscoped, "identity:validate_token", &carol));

    /* unknown actions default to admin-only */
    CHECK(!policy_allows(&member, "identity:unknown_thing", &own));

    /* unauthenticated: 401; authenticated but denied: 403 */
    CHECK_INT(policy_check(&anon, "identity:list_roles", NULL, &err), -1);
    CHECK_INT(err.code, ERR_UNAUTHORIZED);
    err_clear(&err);
    CHECK_INT(policy_check(&reader, "identity:create_project", NULL, &err), -1);
    CHECK_INT(err.code, ERR_FORBIDDEN);
    CHECK(strstr(err.msg, "identity:create_project") != NULL);
    err_clear(&err);
    CHECK_INT(policy_check(&admin, "identity:create_project", NULL, &err), 0);
    return check_done();
}
