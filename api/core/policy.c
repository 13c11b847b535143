/* The policy table. Adding an API family adds its actions here. */
#include "policy.h"

#include <string.h>

static const struct {
    const char *action;
    enum policy_rule rule;
} policy_table[] = {
    /* tokens: validating and revoking are the subject's own business or an admin's */
    {"identity:validate_token", POLICY_SELF},
    {"identity:revoke_token", POLICY_SELF},
    {"identity:get_auth_projects", POLICY_ANY},
    {"identity:get_auth_catalog", POLICY_ANY},
    /* domains, roles and the catalog are global definitions any caller may read */
    {"identity:list_domains", POLICY_ANY},
    {"identity:get_domain", POLICY_ANY},
    {"identity:list_roles", POLICY_ANY},
    {"identity:get_role", POLICY_ANY},
    {"identity:create_role", POLICY_ADMIN},
    {"identity:delete_role", POLICY_ADMIN},
    {"identity:list_services", POLICY_ADMIN},
    {"identity:get_service", POLICY_ADMIN},
    {"identity:create_service", POLICY_ADMIN},
    {"identity:delete_service", POLICY_ADMIN},
    {"identity:list_endpoints", POLICY_ADMIN},
    {"identity:get_endpoint", POLICY_ADMIN},
    {"identity:create_endpoint", POLICY_ADMIN},
    {"identity:delete_endpoint", POLICY_ADMIN},
    /* projects */
    {"identity:list_projects", POLICY_ADMIN}, /* others get their own project */
    {"identity:get_project", POLICY_PROJECT_READER},
    {"identity:create_project", POLICY_ADMIN},
    {"identity:update_project", POLICY_ADMIN},
    {"identity:delete_project", POLICY_ADMIN},
    {"identity:list_user_projects", POLICY_SELF},
    /* users */
    {"identity:list_users", POLICY_ADMIN}, /* others get themselves */
    {"identity:get_user", POLICY_SELF},
    {"identity:create_user", POLICY_ADMIN},
    {"identity:update_user", POLICY_ADMIN},
    {"identity:delete_user", POLICY_ADMIN},
    {"identity:change_password", POLICY_SELF}, /* Keystone's default: a user's own */
    /* role assignments */
    {"identity:create_grant", POLICY_ADMIN},
    {"identity:revoke_grant", POLICY_ADMIN},
    {"identity:check_grant", POLICY_SELF},
    {"identity:list_grants", POLICY_SELF},
    {"identity:list_role_assignments", POLICY_ADMIN}, /* others get their own */
    /* generic rules for project-owned resources (servers, images, volumes...) */
    {"project:read", POLICY_PROJECT_READER},
    {"project:write", POLICY_PROJECT_MEMBER},
    /* identity gaps: domain writes, scopes, project tags (Keystone's defaults) */
    {"identity:create_domain", POLICY_ADMIN},
    {"identity:update_domain", POLICY_ADMIN},
    {"identity:delete_domain", POLICY_ADMIN},
    {"identity:get_auth_domains", POLICY_ANY},
    {"identity:list_project_tags", POLICY_PROJECT_READER},
    {"identity:get_project_tag", POLICY_PROJECT_READER},
    {"identity:update_project_tags", POLICY_ADMIN},
    {"identity:create_project_tag", POLICY_ADMIN},
    {"identity:delete_project_tag", POLICY_ADMIN},
    {"identity:delete_project_tags", POLICY_ADMIN},
};

enum policy_rule
policy_rule_of(const char *action)
{
    for (size_t i = 0; i < sizeof(policy_table) / sizeof(policy_table[0]); i++)
        if (strcmp(policy_table[i].action, action) == 0)
            return policy_table[i].rule;
    return POLICY_ADMIN;
}

bool
policy_allows(const struct api_ctx *ctx, const char *action, const struct policy_target *target)
{
    if (!ctx->authenticated)
        return false;
    if (ctx->is_admin)
        return true;
    const char *tp = target ? target->project_id : NULL;
    const char *tu = target ? target->user_id : NULL;
    switch (policy_rule_of(action)) {
    case POLICY_ANY:
        return true;
    case POLICY_ADMIN:
        return false;
    case POLICY_PROJECT_READER:
        return tp && ctx->project_id[0] && strcmp(tp, ctx->project_id) == 0 &&
               (ctx->roles & API_ROLE_READER);
    case POLICY_PROJECT_MEMBER:
        return tp && ctx->project_id[0] && strcmp(tp, ctx->project_id) == 0 &&
               (ctx->roles & API_ROLE_MEMBER);
    case POLICY_SELF:
        return tu && strcmp(tu, ctx->user_id) == 0;
    case POLICY_RULE__LAST:
        break;
    }
    return false;
}

int
policy_check(const struct api_ctx *ctx, const char *action, const struct policy_target *target,
             struct err *err)
{
    if (!ctx->authenticated)
        return err_set(err, ERR_UNAUTHORIZED, "The request you have made requires authentication.");
    if (!policy_allows(ctx, action, target))
        return err_set(err, ERR_FORBIDDEN,
                       "You are not authorized to perform the requested action: %s.", action);
    return 0;
}

unsigned
policy_role_bit(const char *role_name)
{
    if (strcmp(role_name, "admin") == 0)
        return API_ROLE_ADMIN;
    if (strcmp(role_name, "member") == 0)
        return API_ROLE_MEMBER;
    if (strcmp(role_name, "reader") == 0)
        return API_ROLE_READER;
    return 0;
}

unsigned
policy_roles_imply(unsigned roles)
{
    if (roles & API_ROLE_ADMIN)
        roles |= API_ROLE_MEMBER;
    if (roles & API_ROLE_MEMBER)
        roles |= API_ROLE_READER;
    return roles;
}
