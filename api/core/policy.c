/* The policy: oslo.policy's rule language compiled from the defaults
 * (policy_defaults.c) and the operator's overrides, and the one check every
 * handler makes. */
#include "policy.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "mem.h"

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
    struct policy_node *nodes;
    size_t nnodes, cap;
};

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
    free(p);
}

static int
rule_find(const struct policy *p, const char *name)
{
    for (size_t i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int
node_new(struct policy *p, enum policy_node_kind kind)
{
    if (p->nnodes == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->nodes = xrealloc(p->nodes, p->cap * sizeof(*p->nodes));
    }
    memset(&p->nodes[p->nnodes], 0, sizeof(p->nodes[0]));
    p->nodes[p->nnodes].kind = kind;
    return (int)p->nnodes++;
}

/* ---- the parser: oslo's tokens, then recursive descent ---- */

#define POLICY_TOKENS_MAX 256

struct parser {
    struct policy *p;
    char *tok[POLICY_TOKENS_MAX];
    size_t ntok, pos;
    struct err *err;
};

/* Split @text as oslo does: on white space, with leading '(' and trailing ')'
 * of each word made tokens of their own. */
static int
tokenize(struct parser *ps, const char *text)
{
    const char *s = text;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && !isspace((unsigned char)*e))
            e++;
        const char *ws = s, *we = e;
        size_t open = 0, close = 0;
        while (ws < we && *ws == '(') {
            ws++;
            open++;
        }
        while (we > ws && we[-1] == ')') {
            /* keep the ')' of a trailing %(name)s... that ends in "s", never ')' */
            we--;
            close++;
        }
        if (ps->ntok + open + close + 1 > POLICY_TOKENS_MAX)
            return err_set(ps->err, ERR_INVALID, "the rule is too long");
        for (size_t i = 0; i < open; i++)
            ps->tok[ps->ntok++] = xstrdup("(");
        if (we > ws) {
            char *w = xmalloc((size_t)(we - ws) + 1);
            memcpy(w, ws, (size_t)(we - ws));
            w[we - ws] = '\0';
            ps->tok[ps->ntok++] = w;
        }
        for (size_t i = 0; i < close; i++)
            ps->tok[ps->ntok++] = xstrdup(")");
        s = e;
    }
    return 0;
}

static const char *
peek(const struct parser *ps)
{
    return ps->pos < ps->ntok ? ps->tok[ps->pos] : NULL;
}

static bool
is_word(const char *tok, const char *word)
{
    return tok && strcasecmp(tok, word) == 0;
}

static int parse_or(struct parser *ps);

static enum policy_field
field_of(const char *name)
{
    static const struct {
        const char *name;
        enum policy_field field;
    } names[] = {
        {"project_id", FIELD_PROJECT_ID},
        {"tenant_id", FIELD_PROJECT_ID},
        {"owner", FIELD_PROJECT_ID},
        {"target.project.id", FIELD_PROJECT_ID},
        {"target.project_id", FIELD_PROJECT_ID},
        {"user_id", FIELD_USER_ID},
        {"target.user.id", FIELD_USER_ID},
        {"target.user_id", FIELD_USER_ID},
        {"target.token.user_id", FIELD_USER_ID},
        {"member_id", FIELD_MEMBER_ID},
        {"visibility", FIELD_VISIBILITY},
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].field;
    return FIELD_NONE;
}

/* One check: @, !, rule:NAME, role:NAME, or KIND:MATCH. */
static int
parse_check(struct parser *ps, const char *tok)
{
    struct policy *p = ps->p;
    if (strcmp(tok, "@") == 0)
        return node_new(p, NODE_TRUE);
    if (strcmp(tok, "!") == 0)
        return node_new(p, NODE_FALSE);
    const char *colon = strchr(tok, ':');
    if (!colon || colon == tok) {
        err_set(ps->err, ERR_INVALID, "'%s' is not a check (kind:match, @ or !)", tok);
        return -1;
    }
    size_t klen = (size_t)(colon - tok);
    const char *match = colon + 1;
    if (klen == 4 && strncmp(tok, "rule", 4) == 0) {
        int r = rule_find(p, match);
        if (r < 0) {
            err_set(ps->err, ERR_INVALID, "rule:%s names no rule", match);
            return -1;
        }
        int n = node_new(p, NODE_RULE);
        p->nodes[n].rule = r;
        return n;
    }
    int n = node_new(p, NODE_CHECK);
    struct policy_node *node = &p->nodes[n];
    if (klen == 4 && strncmp(tok, "role", 4) == 0) {
        node->cred = CRED_ROLE;
        node->lhs = xstrdup(match);
        for (char *c = node->lhs; *c; c++) /* oslo compares role names lowercased */
            *c = (char)tolower((unsigned char)*c);
        return n;
    }
    if ((tok[0] == '\'' || tok[0] == '"') && klen >= 2 && tok[klen - 1] == tok[0]) {
        node->cred = CRED_LITERAL;
        node->lhs = xmalloc(klen - 1);
        memcpy(node->lhs, tok + 1, klen - 2);
        node->lhs[klen - 2] = '\0';
    } else if (klen == 10 && strncmp(tok, "project_id", 10) == 0) {
        node->cred = CRED_PROJECT_ID;
    } else if ((klen == 6 && strncmp(tok, "tenant", 6) == 0)) {
        node->cred = CRED_PROJECT_ID;
    } else if (klen == 7 && strncmp(tok, "user_id", 7) == 0) {
        node->cred = CRED_USER_ID;
    } else if (klen == 8 && strncmp(tok, "is_admin", 8) == 0) {
        node->cred = CRED_IS_ADMIN;
    } else if ((klen == 12 && strncmp(tok, "system_scope", 12) == 0) ||
               (klen == 9 && strncmp(tok, "domain_id", 9) == 0)) {
        node->cred = CRED_NONE;
    } else {
        err_set(ps->err, ERR_INVALID,
                "unknown check '%.*s' (known: role, rule, project_id, user_id, is_admin, "
                "system_scope, domain_id, 'literal')",
                (int)klen, tok);
        return -1;
    }
    size_t mlen = strlen(match);
    if (mlen >= 4 && strncmp(match, "%(", 2) == 0 && strcmp(match + mlen - 2, ")s") == 0) {
        char name[64];
        if (mlen - 4 >= sizeof(name)) {
            err_set(ps->err, ERR_INVALID, "'%s': the target field name is too long", match);
            return -1;
        }
        memcpy(name, match + 2, mlen - 4);
        name[mlen - 4] = '\0';
        node->field = field_of(name);
        if (node->field == FIELD_NONE) {
            err_set(ps->err, ERR_INVALID,
                    "%%(%s)s names no target field (known: project_id, user_id, member_id, "
                    "visibility)",
                    name);
            return -1;
        }
    } else if (strchr(match, '%')) {
        err_set(ps->err, ERR_INVALID, "'%s' is not of the form %%(name)s", match);
        return -1;
    } else {
        node->value = xstrdup(match);
    }
    return n;
}

static int
parse_atom(struct parser *ps)
{
    const char *tok = peek(ps);
    if (!tok) {
        err_set(ps->err, ERR_INVALID, "the rule ends where a check was expected");
        return -1;
    }
    ps->pos++;
    if (strcmp(tok, "(") == 0) {
        int n = parse_or(ps);
        if (n < 0)
            return -1;
        if (!peek(ps) || strcmp(peek(ps), ")") != 0) {
            err_set(ps->err, ERR_INVALID, "a '(' is not closed");
            return -1;
        }
        ps->pos++;
        return n;
    }
    if (strcmp(tok, ")") == 0 || is_word(tok, "and") || is_word(tok, "or")) {
        err_set(ps->err, ERR_INVALID, "unexpected '%s' where a check was expected", tok);
        return -1;
    }
    return parse_check(ps, tok);
}

static int
parse_not(struct parser *ps)
{
    if (is_word(peek(ps), "not")) {
        ps->pos++;
        int a = parse_not(ps);
        if (a < 0)
            return -1;
        int n = node_new(ps->p, NODE_NOT);
        ps->p->nodes[n].a = a;
        return n;
    }
    return parse_atom(ps);
}

static int
parse_and(struct parser *ps)
{
    int left = parse_not(ps);
    while (left >= 0 && is_word(peek(ps), "and")) {
        ps->pos++;
        int right = parse_not(ps);
        if (right < 0)
            return -1;
        int n = node_new(ps->p, NODE_AND);
        ps->p->nodes[n].a = left;
        ps->p->nodes[n].b = right;
        left = n;
    }
    return left;
}

static int
parse_or(struct parser *ps)
{
    int left = parse_and(ps);
    while (left >= 0 && is_word(peek(ps), "or")) {
        ps->pos++;
        int right = parse_and(ps);
        if (right < 0)
            return -1;
        int n = node_new(ps->p, NODE_OR);
        ps->p->nodes[n].a = left;
        ps->p->nodes[n].b = right;
        left = n;
    }
    return left;
}

/* The root node of @text, or -1 with ERR_INVALID. An empty rule allows all. */
static int
parse_rule(struct policy *p, const char *text, struct err *err)
{
    struct parser ps = {.p = p, .err = err};
    int root = -1;
    if (tokenize(&ps, text) < 0)
        goto cleanup;
    if (ps.ntok == 0) {
        root = node_new(p, NODE_TRUE);
        goto cleanup;
    }
    root = parse_or(&ps);
    if (root >= 0 && ps.pos != ps.ntok) {
        err_set(err, ERR_INVALID, "unexpected '%s' after a complete rule", ps.tok[ps.pos]);
        root = -1;
    }
cleanup:
    for (size_t i = 0; i < ps.ntok; i++)
        free(ps.tok[i]);
    return root;
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
    int i = rule_find(p, name);
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
        p->rules[i].root = parse_rule(p, p->rules[i].text, err);
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
    return rule_find(policy_active(), action) >= 0;
}

bool
policy_allows(const struct api_ctx *ctx, const char *action, const struct policy_target *target)
{
    if (!ctx->authenticated)
        return false;
    const struct policy *p = policy_active();
    int r = rule_find(p, action);
    if (r < 0) {
        log_error("policy: unknown action %s: denied (add it to the table in api/core/policy.c)",
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
    int root = parse_rule(&tmp, rule, err);
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
