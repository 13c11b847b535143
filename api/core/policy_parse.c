/* oslo.policy's rule language: tokens, then recursive descent into the nodes
 * of struct policy (policy_int.h): role:, rule:, project_id:/user_id: checks
 * against %(field)s of the target, literals, is_admin:True, @, !, and, or, not
 * and parentheses. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "policy_int.h"

int
policy_rule_find(const struct policy *p, const char *name)
{
    if (p->by_name) {
        size_t lo = 0, hi = p->nrules;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(p->rules[p->by_name[mid]].name, name);
            if (c == 0)
                return p->by_name[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return -1;
    }
    for (size_t i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].name, name) == 0)
            return (int)i;
    return -1;
}

int
policy_node_new(struct policy *p, enum policy_node_kind kind)
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
        return policy_node_new(p, NODE_TRUE);
    if (strcmp(tok, "!") == 0)
        return policy_node_new(p, NODE_FALSE);
    const char *colon = strchr(tok, ':');
    if (!colon || colon == tok) {
        err_set(ps->err, ERR_INVALID, "'%s' is not a check (kind:match, @ or !)", tok);
        return -1;
    }
    size_t klen = (size_t)(colon - tok);
    const char *match = colon + 1;
    if (klen == 4 && strncmp(tok, "rule", 4) == 0) {
        int r = policy_rule_find(p, match);
        if (r < 0) {
            err_set(ps->err, ERR_INVALID, "rule:%s names no rule", match);
            return -1;
        }
        int n = policy_node_new(p, NODE_RULE);
        p->nodes[n].rule = r;
        return n;
    }
    int n = policy_node_new(p, NODE_CHECK);
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
        int n = policy_node_new(ps->p, NODE_NOT);
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
        int n = policy_node_new(ps->p, NODE_AND);
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
        int n = policy_node_new(ps->p, NODE_OR);
        ps->p->nodes[n].a = left;
        ps->p->nodes[n].b = right;
        left = n;
    }
    return left;
}

/* The root node of @text, or -1 with ERR_INVALID. An empty rule allows all. */
int
policy_parse_rule(struct policy *p, const char *text, struct err *err)
{
    struct parser ps = {.p = p, .err = err};
    int root = -1;
    if (tokenize(&ps, text) < 0)
        goto cleanup;
    if (ps.ntok == 0) {
        root = policy_node_new(p, NODE_TRUE);
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
