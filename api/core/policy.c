/* The policy: oslo.policy's rule language compiled from the defaults
 * (policy_defaults.c) and the operator's overrides, and the one check every
 * handler makes. */
#include "policy.h"
#include "policy_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "mem.h"

static void
policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++) {
        free(p->rules[i].name);
        free(p->rules[i].text);
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].lhs);
        free(p->nodes[i].value);
    }
    free(p->rules);
    free(p->nodes);
    free(p->by_name);
    free(p);
}

/* ---- evaluation ---- */

static bool
eval(const struct policy *p, int n, const struct api_ctx *ctx, const struct policy_target *t,
     int depth)
{
    const struct policy_node *node = &p->nodes[n];
    if (depth > 64)
        return false; /* cycles are refused at load; this only bounds the stack */
    switch (node->kind) {
    case NODE_TRUE:
        return true;
    case NODE_FALSE:
        return false;
    case NODE_AND:
        return eval(p, node->a, ctx, t, depth + 1) && eval(p, node->b, ctx, t, depth + 1);
    case NODE_OR:
        return eval(p, node->a, ctx, t, depth + 1) || eval(p, node->b, ctx, t, depth + 1);
    case NODE_NOT:
        return !eval(p, node->a, ctx, t, depth + 1);
    case NODE_RULE:
        return eval(p, p->rules[node->rule].root, ctx, t, depth + 1);
    case NODE_CHECK:
        break;
    }
    if (node->cred == CRED_ROLE) {
        unsigned bit = policy_role_bit(node->lhs);
        return bit && (ctx->roles & bit);
    }
    const char *want = node->value;
    switch (node->field) {
    case FIELD_NONE:
        break;
    case FIELD_PROJECT_ID:
        want = t ? t->project_id : NULL;
        break;
    case FIELD_USER_ID:
        want = t ? t->user_id : NULL;
        break;
    case FIELD_MEMBER_ID:
        want = t ? t->member_id : NULL;
        break;
    case FIELD_VISIBILITY:
        want = t ? t->visibility : NULL;
        break;
    }
    if (!want || !want[0])
        return false;
    switch (node->cred) {
    case CRED_PROJECT_ID:
        return ctx->project_id[0] && strcmp(ctx->project_id, want) == 0;
    case CRED_USER_ID:
        return ctx->user_id[0] && strcmp(ctx->user_id, want) == 0;
    case CRED_IS_ADMIN: {
        bool yes = strcasecmp(want, "true") == 0 || strcmp(want, "1") == 0;
        bool no = strcasecmp(want, "false") == 0 || strcmp(want, "0") == 0;
        return (yes && ctx->is_admin) || (no && !ctx->is_admin);
    }
    case CRED_LITERAL:
        return strcmp(node->lhs, want) == 0;
    case CRED_NONE:
    case CRED_ROLE:
        break;
    }
    return false;
}

/* ---- loading ---- */

static int
rule_set(struct policy *p, const char *name, const char *text, const char *description)
{
    int i = policy_rule_find(p, name);
    if (i >= 0) {
        free(p->rules[i].text);
        p->rules[i].text = xstrdup(text);
        return i;
    }
    p->rules = xrealloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
    p->rules[p->nrules] = (struct policy_rule){xstrdup(name), xstrdup(text), description, -1};
    return (int)p->nrules++;
}

/* 0 when no rule reaches itself through rule: references. */
static int
check_cycles(const struct policy *p, int n, unsigned char *state, struct err *err)
{
    const struct policy_node *node = &p->nodes[n];
    switch (node->kind) {
    case NODE_AND:
    case NODE_OR:
        if (check_cycles(p, node->b, state, err) < 0)
            return -1;
        /* fall through */
    case NODE_NOT:
        return check_cycles(p, node->a, state, err);
    case NODE_RULE:
        if (state[node->rule] == 1)
            return err_set(err, ERR_INVALID, "rule:%s refers back to itself",
                           p->rules[node->rule].name);
        if (state[node->rule] == 0) {
            state[node->rule] = 1;
            if (check_cycles(p, p->rules[node->rule].root, state, err) < 0)
                return -1;
            state[node->rule] = 2;
        }
        return 0;
    default:
        return 0;
    }
}

static int
overrides_read(struct policy *p, const char *path, struct err *err)
{
    json_error_t jerr;
    json_auto_t *file = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!file)
        return err_set(err, ERR_INVALID, "policy file %s: line %d: %s", path, jerr.line, jerr.text);
    if (!json_is_object(file))
        return err_set(err, ERR_INVALID,
                       "policy file %s: must be a JSON object {\"action\": \"rule\"}", path);
    const char *name;
    json_t *v;
    json_object_foreach (file, name, v) {
        if (!json_is_string(v))
            return err_set(err, ERR_INVALID, "policy file %s: the rule of %s is not a string", path,
                           name);
        if (!name[0])
            return err_set(err, ERR_INVALID, "policy file %s: a rule has an empty name", path);
        rule_set(p, name, json_string_value(v), NULL);
    }
    return 0;
}

static const struct policy *sort_policy; /* qsort has no context argument */

static int
by_name_cmp(const void *a, const void *b)
{
    return strcmp(sort_policy->rules[*(const int *)a].name,
                  sort_policy->rules[*(const int *)b].name);
}

/* Sort the rule indices by name, so that every check's lookup bisects (a
 * token validation looks its action up among ~140 rules). Called once, under
 * policy_load's caller, before the policy is published. */
static void
index_by_name(struct policy *p)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int *idx = xmalloc((p->nrules ? p->nrules : 1) * sizeof(int));
    for (size_t i = 0; i < p->nrules; i++)
        idx[i] = (int)i;
    pthread_mutex_lock(&lock);
    sort_policy = p;
    qsort(idx, p->nrules, sizeof(int), by_name_cmp);
    pthread_mutex_unlock(&lock);
    p->by_name = idx;
}

static struct policy *
policy_compile(const char *path, struct err *err)
{
    struct policy *p = xzalloc(sizeof(*p));
    size_t ndefaults;
    const struct policy_default *defaults = policy_defaults(&ndefaults);
    for (size_t i = 0; i < ndefaults; i++)
        rule_set(p, defaults[i].name, defaults[i].rule, defaults[i].description);
    if (path && path[0] && overrides_read(p, path, err) < 0)
        goto fail;
    /* every name is known now, so rule: references resolve in any order */
    for (size_t i = 0; i < p->nrules; i++) {
        p->rules[i].root = policy_parse_rule(p, p->rules[i].text, err);
        if (p->rules[i].root < 0) {
            err_prefix(err, "policy: %s: \"%s\"", p->rules[i].name, p->rules[i].text);
            goto fail;
        }
    }
    unsigned char *state = xzalloc(p->nrules);
    for (size_t i = 0; i < p->nrules; i++) {
        memset(state, 0, p->nrules);
        state[i] = 1;
        if (check_cycles(p, p->rules[i].root, state, err) < 0) {
            free(state);
            err_prefix(err, "policy: %s", p->rules[i].name);
            goto fail;
        }
    }
    free(state);
    index_by_name(p);
    return p;
fail:
    policy_free(p);
    return NULL;
}

static struct policy *active;
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

static void
defaults_load(void)
{
    struct err err = ERR_INIT;
    if (!active && !(active = policy_compile(NULL, &err))) {
        /* the defaults are code: test_policy proves they compile */
        log_error("%s", err.msg);
        abort();
    }
}

static const struct policy *
policy_active(void)
{
    pthread_once(&defaults_once, defaults_load);
    return active;
}

int
policy_load(const char *path, struct err *err)
{
    struct policy *p = policy_compile(path, err);
    if (!p)
        return -1;
    pthread_once(&defaults_once, defaults_load);
    struct policy *old = active;
    active = p;
    policy_free(old);
    if (path && path[0])
        log_info("policy: %zu rules, overrides from %s", p->nrules, path);
    return 0;
}

/* ---- checks ---- */

bool
policy_known(const char *action)
{
    return policy_rule_find(policy_active(), action) >= 0;
}

bool
policy_allows(const struct api_ctx *ctx, const char *action, const struct policy_target *target)
{
    if (!ctx->authenticated)
        return false;
    const struct policy *p = policy_active();
    int r = policy_rule_find(p, action);
    if (r < 0) {
        log_error(
            "policy: unknown action %s: denied (add it to the table in api/core/policy_defaults.c)",
            action);
        return false;
    }
    return eval(p, p->rules[r].root, ctx, target, 0);
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

int
policy_eval_text(const char *rule, const struct api_ctx *ctx, const struct policy_target *target,
                 struct err *err)
{
    /* compiled into a copy of the active policy's nodes, so rule: resolves */
    const struct policy *a = policy_active();
    struct policy tmp = {.rules = a->rules, .nrules = a->nrules};
    tmp.cap = a->nnodes + 64;
    tmp.nodes = xmalloc(tmp.cap * sizeof(*tmp.nodes));
    memcpy(tmp.nodes, a->nodes, a->nnodes * sizeof(*tmp.nodes));
    tmp.nnodes = a->nnodes;
    int root = policy_parse_rule(&tmp, rule, err);
    int rc = root < 0 ? -1 : ctx->authenticated && eval(&tmp, root, ctx, target, 0);
    for (size_t i = a->nnodes; i < tmp.nnodes; i++) {
        free(tmp.nodes[i].lhs);
        free(tmp.nodes[i].value);
    }
    free(tmp.nodes);
    return rc;
}

json_t *
policy_dump(void)
{
    const struct policy *p = policy_active();
    json_t *out = json_object();
    for (size_t i = 0; i < p->nrules; i++)
        json_object_set_new(out, p->rules[i].name, json_string(p->rules[i].text));
    return out;
}

/* ---- roles ---- */

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
