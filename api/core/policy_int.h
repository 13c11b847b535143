/* What the policy's files share (policy.c: loading and checks, policy_parse.c:
 * the rule language): the compiled form of the rules. */
#ifndef NUBE_API_POLICY_INT_H
#define NUBE_API_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "policy.h"

/* ---- the compiled form ---- */

enum policy_node_kind { NODE_TRUE, NODE_FALSE, NODE_AND, NODE_OR, NODE_NOT, NODE_RULE, NODE_CHECK };

/* What the left side of "kind:match" reads from the caller. */
enum policy_cred {
    CRED_ROLE,
    CRED_PROJECT_ID,
    CRED_USER_ID,
    CRED_IS_ADMIN,
    CRED_NONE,    /* system_scope, domain_id: never set in Nube */
    CRED_LITERAL, /* 'public':%(visibility)s */
};

/* What %(name)s on the right side reads from the target. */
enum policy_field {
    FIELD_NONE,
    FIELD_PROJECT_ID,
    FIELD_USER_ID,
    FIELD_MEMBER_ID,
    FIELD_VISIBILITY
};

struct policy_node {
    enum policy_node_kind kind;
    int a, b;                /* children (AND, OR: both; NOT: a) */
    int rule;                /* NODE_RULE: the rule index */
    enum policy_cred cred;   /* NODE_CHECK */
    char *lhs;               /* CRED_LITERAL: the literal; CRED_ROLE: the role name */
    enum policy_field field; /* FIELD_NONE: compare with @value */
    char *value;
};

struct policy_rule {
    char *name;
    char *text;
    const char *description; /* NULL for a rule only the file names */
    int root;
};

struct policy {
    struct policy_rule *rules;
    size_t nrules;
    int *by_name; /* rule indices sorted by name, once compiled: lookups bisect */
    struct policy_node *nodes;
    size_t nnodes, cap;
};

/* The index of rule @name, or -1. */
int policy_rule_find(const struct policy *p, const char *name);
/* A new node of @kind in @p's node array; its index. */
int policy_node_new(struct policy *p, enum policy_node_kind kind);
/* Parse @text in oslo.policy's language into nodes of @p: the root's index,
 * or -1 with @err naming what is wrong. */
int policy_parse_rule(struct policy *p, const char *text, struct err *err);

#endif
