/* The request-body validator (api/core/schema.c): every case in each
 * family's words, with the exact message a client sees, plus what must pass,
 * query-text values, unwrapping, message hygiene and concurrent pattern use. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "compute.h"
#include "schema.h"

#define X16 "xxxxxxxxxxxxxxxx"
#define L256 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16
#define CR API_SCHEMA_CREATE
#define UP API_SCHEMA_UPDATE

static const char *const colors[] = {"red", "green", NULL};
static const struct api_field item_fields[] = {
    {.name = "uuid", .type = API_FIELD_UUID, .flags = API_FIELD_REQUIRED},
    {.name = "tag", .type = API_FIELD_STRING, .max = 4},
};
static const struct api_schema item_schema = {"item", item_fields, 2, false};
static const struct api_field item_obj = {.type = API_FIELD_OBJECT, .object = &item_schema};
static const struct api_field tag_item = {
    .type = API_FIELD_STRING, .flags = API_FIELD_NONEMPTY, .max = 8};
static const struct api_field meta_value = {.type = API_FIELD_STRING, .max = 5};
static const struct api_field fields[] = {
    {.name = "name",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_NO_EDGE_BLANKS,
     .max = 10},
    {.name = "code", .type = API_FIELD_STRING, .min = 2, .max = 4, .pattern = "[a-z]+"},
    {.name = "size",
     .type = API_FIELD_INTEGER,
     .flags = API_FIELD_INT_STRING,
     .min = 1,
     .max = 100},
    {.name = "count", .type = API_FIELD_INTEGER},
    {.name = "ratio", .type = API_FIELD_NUMBER, .min = 0, .max = 1},
    {.name = "enabled", .type = API_FIELD_BOOLEAN},
    {.name = "flag", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_INT_STRING},
    {.name = "color", .type = API_FIELD_STRING, .enum_values = colors},
    {.name = "ref", .type = API_FIELD_UUID},
    {.name = "desc", .type = API_FIELD_STRING, .flags = API_FIELD_NULLABLE, .max = 20},
    {.name = "extra", .type = API_FIELD_OBJECT, .max = 2},
    {.name = "items", .type = API_FIELD_ARRAY, .max = 3, .items = &item_obj},
    {.name = "tags", .type = API_FIELD_ARRAY, .max = 3, .items = &tag_item},
    {.name = "meta",
     .type = API_FIELD_STRING_MAP,
     .max = 2,
     .pattern = "[a-z]+",
     .items = &meta_value},
    {.name = "labels", .type = API_FIELD_STRING_MAP},
    {.name = "id", .type = API_FIELD_UUID, .flags = API_FIELD_READ_ONLY},
    {.name = "owner", .type = API_FIELD_STRING, .flags = API_FIELD_ADMIN_ONLY, .max = 64},
    {.name = "zone", .type = API_FIELD_STRING, .flags = API_FIELD_CREATE_ONLY, .max = 64},
};
static const struct api_schema widget = {"widget", fields, sizeof(fields) / sizeof(fields[0]),
                                         false};

struct expect {
    int status; /* 0: accepted */
    const char *msg;
};

/* One body, checked in the four styles (API_ERRORS_KEYSTONE, NOVA, NEUTRON,
 * GLANCE, in the enum's order). */
struct body_case {
    const char *what;
    const char *body;
    enum api_schema_op op;
    bool is_admin;
    struct expect want[4];
};

static const struct body_case cases[] =
    {
        {"wrong type",
         "{\"name\": 5}",
         CR,
         0,
         {{400, "Invalid input for field 'name': 5 is not of type 'string'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'"}, /* NOVA
                                                                                            */
          {400, "Invalid input for name. Reason: '5' is not a valid string."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 5 is not of type 'string'. Failed validating 'type' in schema['properties']['name']"}}}, /* GLANCE */
        {"null for a non-nullable field",
         "{\"name\": null}",
         CR,
         0,
         {{400, "Invalid input for field 'name': None is not of type 'string'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value: None. None is not of type 'string'"}, /* NOVA */
          {400, "Invalid input for name. Reason: 'None' is not a valid string."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': None is not of type 'string'. Failed validating 'type' in schema['properties']['name']"}}}, /* GLANCE */
        {"missing required",
         "{\"code\": \"ab\"}",
         CR,
         0,
         {{400, "Invalid input for field 'name': 'name' is a required property."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute widget. Value: {\"code\":\"ab\"}. 'name' is a required property"}, /* NOVA */
          {400, "Failed to parse request. Required attribute 'name' not specified"}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'name' is a required property. Failed validating 'required' in schema['properties']['name']"}}}, /* GLANCE */
        {"unknown member",
         "{\"name\": \"a\", \"bogus\": 1}",
         CR,
         0,
         {{400,
           "Invalid input for field 'bogus': Additional properties are not allowed ('bogus' was unexpected)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute widget. Value: {\"name\":\"a\",\"bogus\":1}. Additional properties are not allowed ('bogus' was unexpected)"}, /* NOVA */
          {400, "Unrecognized attribute(s) 'bogus'"}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': Additional properties are not allowed ('bogus' was unexpected). Failed validating 'additionalProperties' in schema['properties']['bogus']"}}}, /* GLANCE */
        {"too long",
         "{\"name\": \"abcdefghijk\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'name': 'abcdefghijk' is too long (at most 10 characters)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value: abcdefghijk. 'abcdefghijk' is too long (at most 10 characters)"}, /* NOVA */
          {400,
           "Invalid input for name. Reason: 'abcdefghijk' exceeds maximum length of 10."}, /* NEUTRON
                                                                                            */
          {400,
           "Provided object does not match schema 'widget': 'abcdefghijk' is too long (at most 10 characters). Failed validating 'maxLength' in schema['properties']['name']"}}}, /* GLANCE */
        {"too short",
         "{\"name\": \"a\", \"code\": \"a\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'code': 'a' is too short (at least 2 characters)."}, /* KEYSTONE
                                                                                          */
          {400,
           "Invalid input for field/attribute code. Value: a. 'a' is too short (at least 2 characters)"}, /* NOVA */
          {400,
           "Invalid input for code. Reason: 'a' is too short - must be at least 2 characters."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'a' is too short (at least 2 characters). Failed validating 'minLength' in schema['properties']['code']"}}}, /* GLANCE */
        {"pattern mismatch",
         "{\"name\": \"a\", \"code\": \"AB1\"}",
         CR,
         0,
         {{400, "Invalid input for field 'code': 'AB1' does not match '[a-z]+'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute code. Value: AB1. 'AB1' does not match '[a-z]+'"}, /* NOVA */
          {400, "Invalid input for code. Reason: 'AB1' is not a valid input."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'AB1' does not match '[a-z]+'. Failed validating 'pattern' in schema['properties']['code']"}}}, /* GLANCE */
        {"empty",
         "{\"name\": \"\"}",
         CR,
         0,
         {{400, "Invalid input for field 'name': '' is empty or blank."}, /* KEYSTONE */
          {400, "Invalid input for field/attribute name. Value: . '' is empty or blank"}, /* NOVA */
          {400,
           "Invalid input for name. Reason: '' Blank strings are not permitted."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '' is empty or blank. Failed validating 'minLength' in schema['properties']['name']"}}}, /* GLANCE */
        {"blank",
         "{\"name\": \"   \"}",
         CR,
         0,
         {{400, "Invalid input for field 'name': '   ' is empty or blank."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value:    . '   ' is empty or blank"}, /* NOVA
                                                                                            */
          {400,
           "Invalid input for name. Reason: '   ' Blank strings are not permitted."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '   ' is empty or blank. Failed validating 'minLength' in schema['properties']['name']"}}}, /* GLANCE */
        {"edge blanks",
         "{\"name\": \" a\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'name': ' a' has leading or trailing whitespace."}, /* KEYSTONE
                                                                                         */
          {400,
           "Invalid input for field/attribute name. Value:  a. ' a' has leading or trailing whitespace"}, /* NOVA */
          {400,
           "Invalid input for name. Reason: ' a' has leading or trailing whitespace."}, /* NEUTRON
                                                                                         */
          {400,
           "Provided object does not match schema 'widget': ' a' has leading or trailing whitespace. Failed validating 'pattern' in schema['properties']['name']"}}}, /* GLANCE */
        {"integer below",
         "{\"name\": \"a\", \"size\": 0}",
         CR,
         0,
         {{400, "Invalid input for field 'size': 0 is less than the minimum of 1."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"}, /* NOVA */
          {400,
           "Invalid input for size. Reason: '0' is too small - must be at least '1'."}, /* NEUTRON
                                                                                         */
          {400,
           "Provided object does not match schema 'widget': 0 is less than the minimum of 1. Failed validating 'minimum' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer above",
         "{\"name\": \"a\", \"size\": 101}",
         CR,
         0,
         {{400,
           "Invalid input for field 'size': 101 is greater than the maximum of 100."}, /* KEYSTONE
                                                                                        */
          {400,
           "Invalid input for field/attribute size. Value: 101. 101 is greater than the maximum of 100"}, /* NOVA */
          {400,
           "Invalid input for size. Reason: '101' is too large - must be no larger than '100'."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 101 is greater than the maximum of 100. Failed validating 'maximum' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer string above",
         "{\"name\": \"a\", \"size\": \"101\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'size': '101' is greater than the maximum of 100."}, /* KEYSTONE
                                                                                          */
          {400,
           "Invalid input for field/attribute size. Value: 101. '101' is greater than the maximum of 100"}, /* NOVA */
          {400,
           "Invalid input for size. Reason: '101' is too large - must be no larger than '100'."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '101' is greater than the maximum of 100. Failed validating 'maximum' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer string not decimal",
         "{\"name\": \"a\", \"size\": \"5x\"}",
         CR,
         0,
         {{400, "Invalid input for field 'size': '5x' is not of type 'integer'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute size. Value: 5x. '5x' is not of type 'integer'"}, /* NOVA
                                                                                                 */
          {400, "Invalid input for size. Reason: '5x' is not an integer."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '5x' is not of type 'integer'. Failed validating 'type' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer string overflow",
         "{\"name\": \"a\", \"size\": \"99999999999999999999\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'size': '99999999999999999999' is greater than the maximum of 100."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute size. Value: 99999999999999999999. '99999999999999999999' is greater than the maximum of 100"}, /* NOVA */
          {400,
           "Invalid input for size. Reason: '99999999999999999999' is too large - must be no larger than '100'."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '99999999999999999999' is greater than the maximum of 100. Failed validating 'maximum' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer as a string without INT_STRING",
         "{\"name\": \"a\", \"count\": \"5\"}",
         CR,
         0,
         {{400, "Invalid input for field 'count': '5' is not of type 'integer'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute count. Value: 5. '5' is not of type 'integer'"}, /* NOVA
                                                                                                */
          {400, "Invalid input for count. Reason: '5' is not an integer."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': '5' is not of type 'integer'. Failed validating 'type' in schema['properties']['count']"}}}, /* GLANCE */
        {"integer given a real",
         "{\"name\": \"a\", \"size\": 5.5}",
         CR,
         0,
         {{400, "Invalid input for field 'size': 5.5 is not of type 'integer'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute size. Value: 5.5. 5.5 is not of type 'integer'"}, /* NOVA
                                                                                                 */
          {400, "Invalid input for size. Reason: '5.5' is not an integer."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 5.5 is not of type 'integer'. Failed validating 'type' in schema['properties']['size']"}}}, /* GLANCE */
        {"integer given a boolean",
         "{\"name\": \"a\", \"size\": true}",
         CR,
         0,
         {{400, "Invalid input for field 'size': True is not of type 'integer'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute size. Value: True. True is not of type 'integer'"}, /* NOVA */
          {400, "Invalid input for size. Reason: 'True' is not an integer."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': True is not of type 'integer'. Failed validating 'type' in schema['properties']['size']"}}}, /* GLANCE */
        {"number above",
         "{\"name\": \"a\", \"ratio\": 1.5}",
         CR,
         0,
         {{400,
           "Invalid input for field 'ratio': 1.5 is greater than the maximum of 1."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute ratio. Value: 1.5. 1.5 is greater than the maximum of 1"}, /* NOVA */
          {400,
           "Invalid input for ratio. Reason: '1.5' is too large - must be no larger than '1'."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 1.5 is greater than the maximum of 1. Failed validating 'maximum' in schema['properties']['ratio']"}}}, /* GLANCE */
        {"boolean given a string",
         "{\"name\": \"a\", \"enabled\": \"true\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'enabled': 'true' is not of type 'boolean'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute enabled. Value: true. 'true' is not of type 'boolean'"}, /* NOVA */
          {400,
           "Invalid input for enabled. Reason: 'true' cannot be converted to boolean."}, /* NEUTRON
                                                                                          */
          {400,
           "Provided object does not match schema 'widget': 'true' is not of type 'boolean'. Failed validating 'type' in schema['properties']['enabled']"}}}, /* GLANCE */
        {"boolean spelled badly",
         "{\"name\": \"a\", \"flag\": \"maybe\"}",
         CR,
         0,
         {{400, "Invalid input for field 'flag': 'maybe' is not of type 'boolean'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute flag. Value: maybe. 'maybe' is not of type 'boolean'"}, /* NOVA */
          {400,
           "Invalid input for flag. Reason: 'maybe' cannot be converted to boolean."}, /* NEUTRON
                                                                                        */
          {
              400, "Provided object does not match schema 'widget': 'maybe' is not of type 'boolean'. Failed validating 'type' in schema['properties']['flag']"}}}, /* GLANCE */
        {"bad enum",
         "{\"name\": \"a\", \"color\": \"blue\"}",
         CR,
         0,
         {{400,
           "Invalid input for field 'color': 'blue' is not one of ['red', 'green']."}, /* KEYSTONE
                                                                                        */
          {400,
           "Invalid input for field/attribute color. Value: blue. 'blue' is not one of ['red', 'green']"}, /* NOVA */
          {400,
           "Invalid input for color. Reason: 'blue' is not in ['red', 'green']."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'blue' is not one of ['red', 'green']. Failed validating 'enum' in schema['properties']['color']"}}}, /* GLANCE */
        {"bad uuid",
         "{\"name\": \"a\", \"ref\": \"not-a-uuid\"}",
         CR,
         0,
         {{400, "Invalid input for field 'ref': 'not-a-uuid' is not a 'uuid'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute ref. Value: not-a-uuid. 'not-a-uuid' is not a 'uuid'"}, /* NOVA */
          {400, "Invalid input for ref. Reason: 'not-a-uuid' is not a valid UUID."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'not-a-uuid' is not a 'uuid'. Failed validating 'format' in schema['properties']['ref']"}}}, /* GLANCE */
        {"read-only",
         "{\"name\": \"a\", \"id\": \"0123456789abcdef0123456789abcdef\"}",
         CR,
         0,
         {{400, "Invalid input for field 'id': 'id' is read-only."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute id. Value: 0123456789abcdef0123456789abcdef. 'id' is read-only"}, /* NOVA */
          {400, "Attribute 'id' not allowed in POST"}, /* NEUTRON */
          {403, "Attribute 'id' is read-only."}}},     /* GLANCE */
        {"read-only on update",
         "{\"id\": \"0123456789abcdef0123456789abcdef\"}",
         UP,
         1,
         {{400, "Invalid input for field 'id': 'id' is read-only."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute id. Value: 0123456789abcdef0123456789abcdef. 'id' is read-only"}, /* NOVA */
          {400, "Cannot update read-only attribute id"}, /* NEUTRON */
          {403, "Attribute 'id' is read-only."}}},       /* GLANCE */
        {"admin-only by a non-admin",
         "{\"name\": \"a\", \"owner\": \"p1\"}",
         CR,
         0,
         {{403,
           "You are not authorized to perform the requested action: setting 'owner' requires the admin role."}, /* KEYSTONE */
          {403, "Policy doesn't allow widget:create:owner to be performed."},        /* NOVA */
          {403, "(rule:create_widget:owner) is disallowed by policy"},               /* NEUTRON */
          {403, "You are not authorized to set the attribute 'owner' of widget."}}}, /* GLANCE */
        {"create-only on update",
         "{\"zone\": \"z1\"}",
         UP,
         1,
         {{400, "Invalid input for field 'zone': 'zone' cannot be updated."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute zone. Value: z1. 'zone' cannot be updated"}, /* NOVA
                                                                                            */
          {400, "Cannot update read-only attribute zone"}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'zone' cannot be updated. Failed validating 'readOnly' in schema['properties']['zone']"}}}, /* GLANCE */
        {"NUL in a string",
         "{\"name\": \"a\\u0000b\"}",
         CR,
         0,
         {{400, "Invalid input for field 'name': 'a?b' contains a NUL character."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value: a?b. 'a?b' contains a NUL character"}, /* NOVA */
          {400, "Invalid input for name. Reason: 'a?b' contains a NUL character."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'a?b' contains a NUL character. Failed validating 'pattern' in schema['properties']['name']"}}}, /* GLANCE */
        {"control character",
         "{\"name\": \"a\\u0001b\"}",
         CR,
         0,
         {{400, "Invalid input for field 'name': 'a?b' holds control characters."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute name. Value: a?b. 'a?b' holds control characters"}, /* NOVA */
          {400, "Invalid input for name. Reason: 'a?b' holds control characters."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'a?b' holds control characters. Failed validating 'pattern' in schema['properties']['name']"}}}, /* GLANCE */
        {"object member count",
         "{\"name\": \"a\", \"extra\": {\"a\": 1, \"b\": 2, \"c\": 3}}",
         CR,
         0,
         {{400,
           "Invalid input for field 'extra': {\"a\":1,\"b\":2,\"c\":3} has too many properties (at most 2)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute extra. Value: {\"a\":1,\"b\":2,\"c\":3}. {\"a\":1,\"b\":2,\"c\":3} has too many properties (at most 2)"}, /* NOVA */
          {400,
           "Invalid input for extra. Reason: '{\"a\":1,\"b\":2,\"c\":3}' exceeds maximum number of members of 2."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': {\"a\":1,\"b\":2,\"c\":3} has too many properties (at most 2). Failed validating 'maxProperties' in schema['properties']['extra']"}}}, /* GLANCE */
        {"object given an array",
         "{\"name\": \"a\", \"extra\": []}",
         CR,
         0,
         {{400, "Invalid input for field 'extra': [] is not of type 'object'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute extra. Value: []. [] is not of type 'object'"}, /* NOVA
                                                                                               */
          {400, "Invalid input for extra. Reason: '[]' is not a dictionary."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': [] is not of type 'object'. Failed validating 'type' in schema['properties']['extra']"}}}, /* GLANCE */
        {"array too long",
         "{\"name\": \"a\", \"tags\": [\"a\", \"b\", \"c\", \"d\"]}",
         CR,
         0,
         {{400,
           "Invalid input for field 'tags': [\"a\",\"b\",\"c\",\"d\"] is too long (at most 3 items)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute tags. Value: [\"a\",\"b\",\"c\",\"d\"]. [\"a\",\"b\",\"c\",\"d\"] is too long (at most 3 items)"}, /* NOVA */
          {400,
           "Invalid input for tags. Reason: '[\"a\",\"b\",\"c\",\"d\"]' exceeds maximum number of items of 3."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': [\"a\",\"b\",\"c\",\"d\"] is too long (at most 3 items). Failed validating 'maxItems' in schema['properties']['tags']"}}}, /* GLANCE */
        {
            "array item empty",
            "{\"name\": \"a\", \"tags\": [\"a\", \"\"]}",
            CR,
            0,
            {{400, "Invalid input for field 'tags/1': '' is empty or blank."}, /* KEYSTONE */
             {400,
              "Invalid input for field/attribute tags[1]. Value: . '' is empty or blank"}, /* NOVA
                                                                                            */
             {400,
              "Invalid input for tags/1. Reason: '' Blank strings are not permitted."}, /* NEUTRON
                                                                                         */
             {
                 400, "Provided object does not match schema 'widget': '' is empty or blank. Failed validating 'minLength' in schema['properties']['tags/1']"}}}, /* GLANCE */
        {"array item wrong type",
         "{\"name\": \"a\", \"tags\": [1]}",
         CR,
         0,
         {{400, "Invalid input for field 'tags/0': 1 is not of type 'string'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute tags[0]. Value: 1. 1 is not of type 'string'"}, /* NOVA
                                                                                               */
          {400, "Invalid input for tags/0. Reason: '1' is not a valid string."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 1 is not of type 'string'. Failed validating 'type' in schema['properties']['tags/0']"}}}, /* GLANCE */
        {"nested object: bad uuid",
         "{\"name\": \"a\", \"items\": [{\"uuid\": \"x\"}]}",
         CR,
         0,
         {{400, "Invalid input for field 'items/0/uuid': 'x' is not a 'uuid'."}, /* KEYSTONE */
          {400, "Invalid input for field/attribute uuid. Value: x. 'x' is not a 'uuid'"}, /* NOVA */
          {400, "Invalid input for items/0/uuid. Reason: 'x' is not a valid UUID."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'x' is not a 'uuid'. Failed validating 'format' in schema['properties']['items/0/uuid']"}}}, /* GLANCE */
        {"nested object: missing required",
         "{\"name\": \"a\", \"items\": [{\"tag\": \"t\"}]}",
         CR,
         0,
         {{400,
           "Invalid input for field 'items/0/uuid': 'uuid' is a required property."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute items[0]. Value: {\"tag\":\"t\"}. 'uuid' is a required property"}, /* NOVA */
          {400, "Failed to parse request. Required attribute 'uuid' not specified"}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'uuid' is a required property. Failed validating 'required' in schema['properties']['items/0/uuid']"}}}, /* GLANCE */
        {"nested object: unknown member",
         "{\"name\": \"a\", \"items\": [{\"uuid\": \"0123456789abcdef0123456789abcdef\", \"port\": 1}]}",
         CR,
         0,
         {{400,
           "Invalid input for field 'items/0/port': Additional properties are not allowed ('port' was unexpected)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute items[0]. Value: {\"uuid\":\"0123456789abcdef0123456789abcdef\",\"port.... Additional properties are not allowed ('port' was unexpected)"}, /* NOVA */
          {400, "Unrecognized attribute(s) 'port'"}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': Additional properties are not allowed ('port' was unexpected). Failed validating 'additionalProperties' in schema['properties']['items/0/port']"}}}, /* GLANCE */
        {"nested object: too long",
         "{\"name\": \"a\", \"items\": [{\"uuid\": \"0123456789abcdef0123456789abcdef\", \"tag\": \"abcde\"}]}",
         CR,
         0,
         {{400,
           "Invalid input for field 'items/0/tag': 'abcde' is too long (at most 4 characters)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute tag. Value: abcde. 'abcde' is too long (at most 4 characters)"}, /* NOVA */
          {400,
           "Invalid input for items/0/tag. Reason: 'abcde' exceeds maximum length of 4."}, /* NEUTRON
                                                                                            */
          {400,
           "Provided object does not match schema 'widget': 'abcde' is too long (at most 4 characters). Failed validating 'maxLength' in schema['properties']['items/0/tag']"}}}, /* GLANCE */
        {"map value too long",
         "{\"name\": \"a\", \"meta\": {\"a\": \"abcdef\"}}",
         CR,
         0,
         {{400,
           "Invalid input for field 'meta/a': 'abcdef' is too long (at most 5 characters)."}, /* KEYSTONE
                                                                                               */
          {400,
           "Invalid input for field/attribute a. Value: abcdef. 'abcdef' is too long (at most 5 characters)"}, /* NOVA */
          {400,
           "Invalid input for meta/a. Reason: 'abcdef' exceeds maximum length of 5."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'abcdef' is too long (at most 5 characters). Failed validating 'maxLength' in schema['properties']['meta/a']"}}}, /* GLANCE */
        {"map value not a string",
         "{\"name\": \"a\", \"meta\": {\"a\": 1}}",
         CR,
         0,
         {{400, "Invalid input for field 'meta/a': 1 is not of type 'string'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"}, /* NOVA */
          {400, "Invalid input for meta/a. Reason: '1' is not a valid string."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 1 is not of type 'string'. Failed validating 'type' in schema['properties']['meta/a']"}}}, /* GLANCE */
        {"map key pattern",
         "{\"name\": \"a\", \"meta\": {\"A\": \"x\"}}",
         CR,
         0,
         {{400,
           "Invalid input for field 'meta': the key 'A' does not match '[a-z]+'."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute meta. Value: {\"A\":\"x\"}. the key 'A' does not match '[a-z]+'"}, /* NOVA */
          {400,
           "Invalid input for meta. Reason: the key 'A' does not match '[a-z]+'."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': the key 'A' does not match '[a-z]+'. Failed validating 'propertyNames' in schema['properties']['meta']"}}}, /* GLANCE */
        {
            "map too many members",
            "{\"name\": \"a\", \"meta\": {\"a\": \"x\", \"b\": \"y\", \"c\": \"z\"}}",
            CR,
            0,
            {{400,
              "Invalid input for field 'meta': {\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"} has too many properties (at most 2)."}, /* KEYSTONE */
             {
                 400,
                 "Invalid input for field/attribute meta. Value: {\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"}. {\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"} has too many properties (at most 2)"}, /* NOVA */
             {400,
              "Invalid input for meta. Reason: '{\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"}' exceeds maximum number of members of 2."}, /* NEUTRON */
             {400,
              "Provided object does not match schema 'widget': {\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"} has too many properties (at most 2). Failed validating 'maxProperties' in schema['properties']['meta']"}}}, /* GLANCE */
        {"map key empty",
         "{\"name\": \"a\", \"labels\": {\"\": \"x\"}}",
         CR,
         0,
         {{400,
           "Invalid input for field 'labels': the key '' is not 1 to 255 characters long."}, /* KEYSTONE
                                                                                              */
          {400,
           "Invalid input for field/attribute labels. Value: {\"\":\"x\"}. the key '' is not 1 to 255 characters long"}, /* NOVA */
          {400,
           "Invalid input for labels. Reason: the key '' is not 1 to 255 characters long."}, /* NEUTRON
                                                                                              */
          {400,
           "Provided object does not match schema 'widget': the key '' is not 1 to 255 characters long. Failed validating 'propertyNames' in schema['properties']['labels']"}}}, /* GLANCE */
        {"map default value bound",
         "{\"name\": \"a\", \"labels\": {\"k\": \"" L256 "\"}}",
         CR,
         0,
         {{400,
           "Invalid input for field 'labels/k': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too long (at most 255 characters)."}, /* KEYSTONE */
          {400,
           "Invalid input for field/attribute k. Value: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.... 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too long (at most 255 characters)"}, /* NOVA */
          {400,
           "Invalid input for labels/k. Reason: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' exceeds maximum length of 255."}, /* NEUTRON */
          {400,
           "Provided object does not match schema 'widget': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too long (at most 255 characters). Failed validating 'maxLength' in schema['properties']['labels/k']"}}}, /* GLANCE */
};

static const enum api_error_style styles[] = {API_ERRORS_KEYSTONE, API_ERRORS_NOVA,
                                              API_ERRORS_NEUTRON, API_ERRORS_GLANCE};

static int
validate_text(const struct api_schema *s, const char *body, enum api_schema_op op, bool admin,
              enum api_error_style style, struct err *err)
{
    json_error_t je;
    json_t *j = json_loadb(body, strlen(body), JSON_ALLOW_NUL, &je);
    if (!j) {
        fprintf(stderr, "test body does not parse: %s: %s\n", body, je.text);
        return -2;
    }
    int rc = api_schema_validate(s, j, op, admin, style, err);
    json_decref(j);
    return rc;
}

static void
check_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t st = 0; st < 4; st++) {
            struct err e = ERR_INIT;
            int rc = validate_text(&widget, cases[i].body, cases[i].op, cases[i].is_admin,
                                   styles[st], &e);
            const struct expect *w = &cases[i].want[st];
            if (rc != (w->status ? -1 : 0) || (rc < 0 && err_http_status(e.code) != w->status) ||
                (rc < 0 && strcmp(e.msg, w->msg) != 0))
                fprintf(stderr, "case \"%s\", style %zu: rc %d status %d \"%s\"\n", cases[i].what,
                        st, rc, rc < 0 ? err_http_status(e.code) : 0, e.msg);
            CHECK_INT(rc, w->status ? -1 : 0);
            if (rc < 0) {
                CHECK_INT(err_http_status(e.code), w->status);
                CHECK_STR(e.msg, w->msg);
                CHECK(api_utf8_valid(e.msg, strlen(e.msg)));
            }
        }
    }
}

/* What every style accepts. */
static void
check_accepted(void)
{
    static const struct {
        const char *body;
        enum api_schema_op op;
        bool admin;
    } ok[] = {
        {"{\"name\": \"a\"}", CR, false},
        {"{\"name\": \"a b\", \"code\": \"abcd\", \"size\": 100, \"count\": -7, \"ratio\": 0.5, "
         "\"enabled\": false, \"flag\": true, \"color\": \"green\", "
         "\"ref\": \"01234567-89ab-cdef-0123-456789ABCDEF\", \"desc\": null, \"extra\": {\"a\": "
         "[1]}, \"items\": [{\"uuid\": \"0123456789abcdef0123456789abcdef\", \"tag\": \"t\"}], "
         "\"tags\": [\"x\", \"y\"], \"meta\": {\"a\": \"b\"}, \"labels\": {\"k\": \"\"}, \"zone\": "
         "\"z\"}",
         CR, false},
        {"{\"size\": \"50\"}", UP, false}, /* INT_STRING; nothing required on update */
        {"{\"flag\": \"TRUE\"}", UP, false},
        {"{\"flag\": \"off\"}", UP, false},
        {"{\"flag\": \"0\"}", UP, false},
        {"{\"name\": \"tab\\there\"}", CR, false}, /* a tab is not a control character here */
        {"{\"name\": \"\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\"}",
         CR, false},                                        /* 10 characters, 30 bytes */
        {"{\"name\": \"a\", \"owner\": \"p1\"}", CR, true}, /* admins may set admin-only fields */
        {"{\"owner\": \"p1\"}", UP, true},
        {"{\"desc\": null}", UP, false},
        {"{\"ratio\": 1}", UP, false},
        {"{\"ratio\": 0}", UP, false},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        for (size_t st = 0; st < 4; st++) {
            struct err e = ERR_INIT;
            int rc = validate_text(&widget, ok[i].body, ok[i].op, ok[i].admin, styles[st], &e);
            if (rc != 0)
                fprintf(stderr, "accepted body %s (style %zu): %s\n", ok[i].body, st, e.msg);
            CHECK_INT(rc, 0);
        }
    }
}

/* Unknown members are ignored when the schema says so; the type of the
 * object itself is checked. */
static void
check_additional(void)
{
    static const struct api_schema open_widget = {"widget", fields,
                                                  sizeof(fields) / sizeof(fields[0]), true};
    struct err e = ERR_INIT;
    CHECK_INT(validate_text(&open_widget, "{\"name\": \"a\", \"bogus\": 1}", CR, false,
                            API_ERRORS_KEYSTONE, &e),
              0);
    /* known members are still checked */
    CHECK_INT(validate_text(&open_widget, "{\"name\": 1, \"bogus\": 1}", CR, false,
                            API_ERRORS_KEYSTONE, &e),
              -1);
    CHECK_STR(e.msg, "Invalid input for field 'name': 1 is not of type 'string'.");
    json_t *arr = json_array();
    CHECK_INT(api_schema_validate(&widget, arr, CR, false, API_ERRORS_NOVA, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field/attribute widget. Value: []. [] is not of type "
                     "'object'");
    CHECK_INT(api_schema_validate(&widget, NULL, CR, false, API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'widget': None is not of type 'object'.");
    json_decref(arr);
    /* "-0" is 0, below the minimum; 11 characters are too many */
    CHECK_INT(validate_text(&widget, "{\"size\": \"-0\"}", UP, false, API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'size': '-0' is less than the minimum of 1.");
    CHECK_INT(
        validate_text(
            &widget,
            "{\"name\": \"\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\\u2603\"}",
            CR, false, API_ERRORS_NEUTRON, &e),
        -1);
    CHECK(strstr(e.msg, "exceeds maximum length of 10") != NULL);
}

/* Strings that jansson would not produce from a request, built directly:
 * invalid UTF-8 is refused and never copied into the message. */
static void
check_bytes(void)
{
    struct err e = ERR_INIT;
    json_t *o = json_object();
    json_object_set_new(o, "name",
                        json_stringn_nocheck("a\xff\xfe"
                                             "b",
                                             4));
    CHECK_INT(api_schema_validate(&widget, o, CR, false, API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'name': 'a\x3f\x3f"
                     "b' is not valid UTF-8.");
    CHECK(api_utf8_valid(e.msg, strlen(e.msg)));
    /* an overlong encoding and a surrogate */
    json_object_set_new(o, "name", json_stringn_nocheck("\xc0\xaf", 2));
    CHECK_INT(api_schema_validate(&widget, o, CR, false, API_ERRORS_NOVA, &e), -1);
    CHECK(strstr(e.msg, "is not valid UTF-8") != NULL);
    json_object_set_new(o, "name", json_stringn_nocheck("\xed\xa0\x80", 3));
    CHECK_INT(api_schema_validate(&widget, o, CR, false, API_ERRORS_NEUTRON, &e), -1);
    CHECK_STR(e.msg, "Invalid input for name. Reason: '\x3f\x3f\x3f' is not valid UTF-8.");
    /* a long multibyte value is clipped on a character boundary, the
     * message stays valid UTF-8 and short */
    char big[3 * 400 + 1];
    for (int i = 0; i < 400; i++)
        memcpy(big + 3 * i, "\xe2\x98\x83", 3);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(o, "name", json_string(big));
    for (size_t st = 0; st < 4; st++) {
        CHECK_INT(api_schema_validate(&widget, o, CR, false, styles[st], &e), -1);
        CHECK(api_utf8_valid(e.msg, strlen(e.msg)));
        CHECK(strlen(e.msg) < 400);
        CHECK(strstr(e.msg, "...") != NULL);
    }
    /* an unknown member with a long multibyte name */
    json_object_clear(o);
    json_object_set_new(o, "name", json_string("a"));
    json_object_set_new(o, big, json_true());
    for (size_t st = 0; st < 4; st++) {
        CHECK_INT(api_schema_validate(&widget, o, CR, false, styles[st], &e), -1);
        CHECK(api_utf8_valid(e.msg, strlen(e.msg)));
        CHECK(strlen(e.msg) < 400);
    }
    json_decref(o);
}

/* A pattern that does not compile is the schema's bug: 500, every time. */
static void
check_bad_pattern(void)
{
    static const struct api_field bad_fields[] = {
        {.name = "x", .type = API_FIELD_STRING, .pattern = "(unclosed"},
    };
    static const struct api_schema bad = {"bad", bad_fields, 1, false};
    for (int i = 0; i < 2; i++) {
        struct err e = ERR_INIT;
        CHECK_INT(validate_text(&bad, "{\"x\": \"a\"}", CR, false, API_ERRORS_KEYSTONE, &e), -1);
        CHECK_INT(e.code, ERR_INTERNAL);
        CHECK(strstr(e.msg, "x") != NULL);
    }
}

/* Query-string values of filter fields. */
static void
check_text(void)
{
    const struct api_field *color = api_schema_field(&widget, "color");
    const struct api_field *size = api_schema_field(&widget, "size");
    const struct api_field *enabled = api_schema_field(&widget, "enabled");
    const struct api_field *ref = api_schema_field(&widget, "ref");
    const struct api_field *ratio = api_schema_field(&widget, "ratio");
    const struct api_field *code = api_schema_field(&widget, "code");
    CHECK(color && size && enabled && ref && ratio && code);
    CHECK(api_schema_field(&widget, "nope") == NULL);
    CHECK(api_schema_field(NULL, "name") == NULL);
    if (!color || !size || !enabled || !ref || !ratio || !code)
        return;
    struct err e = ERR_INIT;
    CHECK_INT(api_schema_check_text(color, "red", API_ERRORS_NOVA, &e), 0);
    CHECK_INT(api_schema_check_text(color, "blue", API_ERRORS_NOVA, &e), -1);
    CHECK_INT(e.code, ERR_INVALID);
    CHECK_STR(e.msg, "Invalid input for query parameters color. Value: blue. 'blue' is not one "
                     "of ['red', 'green']");
    CHECK_INT(api_schema_check_text(color, "blue", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'color': 'blue' is not one of ['red', 'green'].");
    CHECK_INT(api_schema_check_text(color, "blue", API_ERRORS_NEUTRON, &e), -1);
    CHECK_STR(e.msg, "Invalid input for color. Reason: 'blue' is not in ['red', 'green'].");
    CHECK_INT(api_schema_check_text(size, "42", API_ERRORS_KEYSTONE, &e), 0);
    CHECK_INT(api_schema_check_text(size, "420", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'size': '420' is greater than the maximum of 100.");
    CHECK_INT(api_schema_check_text(size, "4x", API_ERRORS_NEUTRON, &e), -1);
    CHECK_STR(e.msg, "Invalid input for size. Reason: '4x' is not an integer.");
    CHECK_INT(api_schema_check_text(size, "", API_ERRORS_KEYSTONE, &e), -1);
    for (const char *const *b = (const char *const[]){"true", "False", "1", "0", "YES", "no", NULL};
         *b; b++)
        CHECK_INT(api_schema_check_text(enabled, *b, API_ERRORS_GLANCE, &e), 0);
    CHECK_INT(api_schema_check_text(enabled, "maybe", API_ERRORS_GLANCE, &e), -1);
    CHECK_STR(e.msg, "Provided object does not match schema 'body': 'maybe' is not of type "
                     "'boolean'. Failed validating 'type' in schema['properties']['enabled']");
    CHECK_INT(api_schema_check_text(ref, "0123456789abcdef0123456789abcdef", API_ERRORS_NOVA, &e),
              0);
    CHECK_INT(api_schema_check_text(ref, "0123", API_ERRORS_NOVA, &e), -1);
    CHECK_STR(e.msg, "Invalid input for query parameters ref. Value: 0123. '0123' is not a 'uuid'");
    CHECK_INT(api_schema_check_text(ratio, "0.25", API_ERRORS_KEYSTONE, &e), 0);
    CHECK_INT(api_schema_check_text(ratio, "2", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_INT(api_schema_check_text(ratio, "nan", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_INT(api_schema_check_text(ratio, "0.5x", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_INT(api_schema_check_text(code, "ab", API_ERRORS_KEYSTONE, &e), 0);
    CHECK_INT(api_schema_check_text(code, "AB", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_INT(api_schema_check_text(code, "a\x01", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_STR(e.msg, "Invalid input for field 'code': 'a?' holds control characters.");
    CHECK_INT(api_schema_check_text(code, "\xff", API_ERRORS_KEYSTONE, &e), -1);
    CHECK(api_utf8_valid(e.msg, strlen(e.msg)));
    const struct api_field *extra = api_schema_field(&widget, "extra");
    CHECK_INT(api_schema_check_text(extra, "x", API_ERRORS_KEYSTONE, &e), -1);
    CHECK_INT(e.code, ERR_INVALID);
}

static void
check_unwrap(void)
{
    struct err e = ERR_INIT;
    json_t *body = json_pack("{s:{s:s}}", "widget", "name", "a");
    json_t *o = api_schema_unwrap(&widget, body, API_ERRORS_NOVA, &e);
    CHECK(o == json_object_get(body, "widget"));
    /* Glance bodies are not wrapped */
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_GLANCE, &e) == body);
    json_decref(body);

    body = json_pack("{s:i}", "other", 1);
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_NOVA, &e) == NULL);
    CHECK_INT(e.code, ERR_INVALID);
    CHECK_STR(e.msg, "Invalid input for field/attribute body. Value: {\"other\":1}. 'widget' is a "
                     "required property");
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_KEYSTONE, &e) == NULL);
    CHECK_STR(e.msg, "Invalid input for field 'widget': 'widget' is a required property.");
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_NEUTRON, &e) == NULL);
    CHECK_STR(e.msg, "Unable to find 'widget' in request body");
    json_decref(body);

    body = json_pack("{s:[]}", "widget");
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_KEYSTONE, &e) == NULL);
    CHECK_STR(e.msg, "Invalid input for field 'widget': [] is not of type 'object'.");
    json_decref(body);

    body = json_array();
    CHECK(api_schema_unwrap(&widget, body, API_ERRORS_GLANCE, &e) == NULL);
    CHECK_INT(e.code, ERR_INVALID);
    CHECK(strstr(e.msg, "Provided object does not match schema 'widget'") == e.msg);
    CHECK(api_schema_unwrap(&widget, NULL, API_ERRORS_NOVA, &e) == NULL);
    json_decref(body);
}

/* The pattern cache under cloud-api's worker threads: every thread compiles
 * or finds the same patterns and gets the same answers. */
static void *
worker(void *arg)
{
    long *failures = arg;
    for (int i = 0; i < 300; i++) {
        struct err e = ERR_INIT;
        char pat[16];
        /* distinct patterns too, so that the list grows while others read it */
        snprintf(pat, sizeof(pat), "[a-z]{%d}", 1 + i % 7);
        struct api_field f = {.name = "p", .type = API_FIELD_STRING, .pattern = pat};
        if (api_schema_check_text(&f, &"abcdefg"[6 - i % 7], API_ERRORS_NOVA, &e) != 0)
            (*failures)++;
        if (validate_text(&widget, "{\"name\": \"a\", \"code\": \"AB\"}", CR, false,
                          API_ERRORS_KEYSTONE, &e) != -1 ||
            strcmp(e.msg, "Invalid input for field 'code': 'AB' does not match '[a-z]+'.") != 0)
            (*failures)++;
        if (validate_text(&widget, "{\"name\": \"a\", \"code\": \"ab\"}", CR, false,
                          API_ERRORS_KEYSTONE, &e) != 0)
            (*failures)++;
    }
    return NULL;
}

static void
check_threads(void)
{
    pthread_t t[4];
    long failures[4] = {0};
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, worker, &failures[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(failures[i], 0);
    }
}

/* Nova 2.1's create-server body (compute/server_schema.c): what clients
 * send passes; Nova's 400s with Nova's words. */
static void
check_server_schema(void)
{
    static const char *const good[] = {
        /* the service test's curl body */
        "{\"name\":\"vm1\",\"imageRef\":\"0123456789abcdef0123456789abcdef\",\"flavorRef\":\"42\","
        "\"key_name\":\"k1\",\"metadata\":{\"role\":\"test\"},\"user_data\":\"aGVsbG8=\","
        "\"min_count\":1,\"max_count\":1}",
        /* novaclient's, as `openstack server create` sends it at 2.1 */
        "{\"name\":\"vm1\",\"imageRef\":\"01234567-89ab-cdef-0123-456789abcdef\",\"flavorRef\":"
        "\"42\",\"user_data\":\"aGk=\",\"metadata\":{\"role\":\"test\"},\"key_name\":\"k1\","
        "\"min_count\":1,\"max_count\":1,\"networks\":[]}",
        "{\"name\":\"a b\",\"flavorRef\":\"1\",\"imageRef\":\"\",\"min_count\":\"2\",\"max_count\":"
        "\"3\",\"config_drive\":\"true\",\"return_reservation_id\":true,\"OS-DCF:diskConfig\":"
        "\"AUTO\",\"accessIPv4\":\"192.168.0.255\",\"accessIPv6\":\"fe80::1\",\"adminPass\":\"pw\","
        "\"availability_zone\":\"nova\",\"security_groups\":[{\"name\":\"default\"}],"
        "\"networks\":[{\"uuid\":\"net1\",\"port\":null,\"fixed_ip\":\"10.0.0.2\"},{\"port\":"
        "\"0123456789abcdef0123456789abcdef\"},{\"fixed_ip\":\"2001:db8::2\"}],\"personality\":"
        "[{\"path\":\"/etc/motd\",\"contents\":\"aGk=\"}],\"block_device_mapping_v2\":[{\"uuid\":"
        "\"0123456789abcdef0123456789abcdef\",\"source_type\":\"image\",\"destination_type\":"
        "\"local\",\"boot_index\":\"0\",\"delete_on_termination\":true,\"volume_size\":\"1\"}],"
        "\"block_device_mapping\":[{\"device_name\":\"vda\",\"volume_id\":"
        "\"0123456789abcdef0123456789abcdef\",\"no_device\":null}]}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct err e = ERR_INIT;
        int rc =
            validate_text(&compute_server_create_schema, good[i], CR, false, API_ERRORS_NOVA, &e);
        if (rc != 0)
            fprintf(stderr, "server body %zu: %s\n", i, e.msg);
        CHECK_INT(rc, 0);
    }
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"name\":\"x\",\"imageRef\":\"0123456789abcdef0123456789abcdef\",\"flavorRef\":\"42\","
         "\"min_count\":0}",
         "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"},
        {"{\"name\":\"x\",\"imageRef\":\"0123456789abcdef0123456789abcdef\"}",
         "Invalid input for field/attribute server. Value: "
         "{\"name\":\"x\",\"imageRef\":\"0123456789abcdef01234567.... 'flavorRef' is a required "
         "property"},
        {"{\"name\":\" x\",\"flavorRef\":\"42\"}",
         "Invalid input for field/attribute name. Value:  x. ' x' has leading or trailing "
         "whitespace"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"networks\":\"auto\"}",
         "Invalid input for field/attribute networks. Value: auto. 'auto' is not of type 'array'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"networks\":[{\"port\":\"p1\"}]}",
         "Invalid input for field/attribute port. Value: p1. 'p1' is not a 'uuid'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"networks\":[{\"uuid\":\"n\",\"tag\":\"t\"}]}",
         "Invalid input for field/attribute networks[0]. Value: {\"uuid\":\"n\",\"tag\":\"t\"}. "
         "Additional properties are not allowed ('tag' was unexpected)"},
        /* tags (2.52) is beyond the microversions served; description (2.19) is
         * in the schema, refused below 2.19 by the handler */
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"tags\":[\"d\"]}",
         "Invalid input for field/attribute server. Value: "
         "{\"name\":\"x\",\"flavorRef\":\"42\",\"tags\":[\"d\"]}. Additional properties are not "
         "allowed ('tags' was unexpected)"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"metadata\":{\"a/b\":\"c\"}}",
         "Invalid input for field/attribute metadata. Value: {\"a/b\":\"c\"}. the key 'a/b' does "
         "not match '[a-zA-Z0-9_:. -]{1,255}'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"metadata\":{\"a\":1}}",
         "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"block_device_mapping_v2\":[{\"source_type\":"
         "\"disk\"}]}",
         "Invalid input for field/attribute source_type. Value: disk. 'disk' is not one of "
         "['volume', 'image', 'snapshot', 'blank']"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"imageRef\":\"http://glance/images/1\"}",
         "Invalid input for field/attribute imageRef. Value: http://glance/images/1. "
         "'http://glance/images/1' does not match '([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}"
         "-[0-9a-fA-F]{4}-[0...'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"accessIPv4\":\"10.0.0.256\"}",
         "Invalid input for field/attribute accessIPv4. Value: 10.0.0.256. '10.0.0.256' does not "
         "match '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0...'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"config_drive\":\"maybe\"}",
         "Invalid input for field/attribute config_drive. Value: maybe. 'maybe' is not of type "
         "'boolean'"},
        {"{\"name\":\"x\",\"flavorRef\":42}",
         "Invalid input for field/attribute flavorRef. Value: 42. 42 is not of type 'string'"},
        {"{\"name\":\"x\",\"flavorRef\":\"42\",\"security_groups\":[{\"name\":\"\"}]}",
         "Invalid input for field/attribute name. Value: . '' is empty or blank"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err e = ERR_INIT;
        CHECK_INT(validate_text(&compute_server_create_schema, bad[i].body, CR, false,
                                API_ERRORS_NOVA, &e),
                  -1);
        CHECK_INT(e.code, ERR_INVALID);
        CHECK_STR(e.msg, bad[i].msg);
    }
    /* user_data over 65535 characters */
    json_t *o = json_pack("{s:s,s:s}", "name", "x", "flavorRef", "42");
    char *big = calloc(1, 65537);
    memset(big, 'A', 65536);
    json_object_set_new(o, "user_data", json_string(big));
    free(big);
    struct err e = ERR_INIT;
    CHECK_INT(api_schema_validate(&compute_server_create_schema, o, CR, false, API_ERRORS_NOVA, &e),
              -1);
    CHECK(strstr(e.msg, "Invalid input for field/attribute user_data.") == e.msg);
    CHECK(strstr(e.msg, "is too long (at most 65535 characters)") != NULL);
    json_decref(o);
}

int
main(void)
{
    check_cases();
    check_accepted();
    check_additional();
    check_bytes();
    check_bad_pattern();
    check_text();
    check_unwrap();
    check_threads();
    check_server_schema();
    return check_done();
}
