/* What the resource engine's files share (resource.c, resource_list.c); not
 * for resources, which use resource.h. */
#ifndef NUBE_API_RESOURCE_INT_H
#define NUBE_API_RESOURCE_INT_H

#include "resource.h"

#define RESOURCE_MAX_SORT 4
#define RESOURCE_MAX_VALUES 32 /* values of one repeated filter or fields= */

const char *resource_field_column(const struct api_field *f);
const char *resource_id_column(const struct api_resource *r);
/* " = $?" comparing the id column with @id (as a uuid for uuid_id). */
void resource_id_is(struct db_sql *q, const struct api_resource *r, const char *id);
/* "SELECT <select> FROM <table> WHERE true" */
void resource_select_from(struct db_sql *q, const struct api_resource *r);
/* " AND ..." for the rows the caller may see (the scope hook, or the project). */
int resource_add_scope(struct api_req *req, const struct api_resource *r, struct db_sql *q,
                       struct err *err);
/* The begin hook, then @action's policy on the caller's own project. */
int resource_verb_begin(struct api_req *req, const struct api_resource *r, const char *action,
                        struct err *err);
/* 404 in the family's words ("Could not find role: x.", "Flavor x could not
 * be found."); returns -1. */
int resource_not_found(const struct api_req *req, const struct api_resource *r, const char *id,
                       struct err *err);
/* Neutron's fields=: keep only the members asked for. */
void resource_project_fields(struct api_req *req, json_t *doc);

#endif
