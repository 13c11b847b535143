/* Who may do what: every API action has one rule, written in oslo.policy's
 * language ("role:member and project_id:%(project_id)s", "rule:admin_api",
 * "@", "!", and/or/not, parentheses). The defaults are a table in policy.c
 * that follows Nova's, Glance's and Keystone's current upstream defaults; an
 * operator overrides or adds rules with `[api] policy_file` (a JSON object
 * {"action": "rule"}, as oslo's policy.json), read once at start. */
#ifndef NUBE_API_POLICY_H
#define NUBE_API_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"

/* What an action is checked against (NULLs when not relevant). Rules name
 * these as %(project_id)s, %(user_id)s, %(member_id)s, %(visibility)s. */
struct policy_target {
    const char *project_id; /* the owning project (Glance: the image owner) */
    const char *user_id;    /* the user acted on (Keystone), or the owner (keypairs) */
    const char *member_id;  /* Glance: the caller's project when it is an image member */
    const char *visibility; /* Glance: the image's visibility */
};

/* One default rule: an action (or a named rule such as "admin_api"). */
struct policy_default {
    const char *name;
    const char *rule;
    const char *description;
};

/* The defaults, in table order. */
const struct policy_default *policy_defaults(size_t *n);

/* Compile the defaults plus the overrides of @path (NULL or "" for none) and
 * make them the policy every check uses. Called once at start, before any
 * request; a syntax error, an unknown `rule:` reference or a cycle is an
 * error that names the rule. Checks made before any load use the defaults. */
int policy_load(const char *path, struct err *err);

/* Is @action a rule of the active policy? */
bool policy_known(const char *action);
/* true when the rule of @action allows @ctx on @target; an unknown action is
 * denied (and logged as an error). */
bool policy_allows(const struct api_ctx *ctx, const char *action,
                   const struct policy_target *target);
/* 0, or -1 with ERR_FORBIDDEN (ERR_UNAUTHORIZED when not authenticated). */
int policy_check(const struct api_ctx *ctx, const char *action, const struct policy_target *target,
                 struct err *err);
/* Evaluate the rule text @rule (named rules resolve against the active
 * policy): 1 allowed, 0 denied, -1 with ERR_INVALID for a bad rule. */
int policy_eval_text(const char *rule, const struct api_ctx *ctx,
                     const struct policy_target *target, struct err *err);
/* The active policy as a JSON object {name: rule} (caller decrefs). */
json_t *policy_dump(void);

/* Role names to enum api_role bits, with the implications applied. */
unsigned policy_role_bit(const char *role_name);
unsigned policy_roles_imply(unsigned roles);

#endif
