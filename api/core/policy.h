/* Who may do what: a table of actions, each with one rule. Admins (the admin
 * role on any project) see and manage everything; members and readers see
 * their own project and themselves; readers never write. */
#ifndef NUBE_API_POLICY_H
#define NUBE_API_POLICY_H

#include <stdbool.h>

#include "api.h"

enum policy_rule {
    POLICY_ANY,            /* any authenticated caller */
    POLICY_ADMIN,          /* admin only */
    POLICY_PROJECT_READER, /* admin, or any role on the target project */
    POLICY_PROJECT_MEMBER, /* admin, or member (not reader) on the target project */
    POLICY_SELF,           /* admin, or the target user is the caller */
    POLICY_RULE__LAST
};

/* What an action is checked against (NULLs when not relevant). */
struct policy_target {
    const char *project_id;
    const char *user_id;
};

/* The rule of @action ("identity:get_project"); POLICY_ADMIN when unknown. */
enum policy_rule policy_rule_of(const char *action);
/* true when the rule of @action allows @ctx on @target. */
bool policy_allows(const struct api_ctx *ctx, const char *action,
                   const struct policy_target *target);
/* 0, or -1 with ERR_FORBIDDEN (ERR_UNAUTHORIZED when not authenticated). */
int policy_check(const struct api_ctx *ctx, const char *action, const struct policy_target *target,
                 struct err *err);
/* Role names to enum api_role bits, with the implications applied. */
unsigned policy_role_bit(const char *role_name);
unsigned policy_roles_imply(unsigned roles);

#endif
