/* Nova's create-server body at microversion 2.1, as a field schema (the
 * inner object of {"server": {...}}), after nova's
 * api/openstack/compute/schemas/servers.py base_create and its
 * parameter_types. What api_field cannot say exactly:
 * - flavorRef: Nova takes a string or an integer; a string here (every
 *   client sends one).
 * - accessIPv6 and the networks' fixed_ip: the characters and length of an
 *   IPv6 address, not its grammar (IPv4 is exact).
 * - block device mappings: no_device (any value in Nova) is a boolean or
 *   null.
 * - personality contents and user_data: their base64 is checked by
 *   servers.c (user_data) or not used (personality).
 * Later microversions' members: description (2.19) is described here and
 * refused below 2.19 by servers.c; networks "auto"/"none" (2.37), tags
 * (2.52), hostname (2.90)... are beyond the maximum served and refused, as
 * Nova refuses them. The metadata item count is a quota (403), checked by
 * servers.c. */
#include "compute.h"
#include "schema.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* parameter_types.name: 1 to 255 printable characters, no edge blanks */
#define NOVA_NAME                                                                                  \
    .type = API_FIELD_STRING, .flags = API_FIELD_NONEMPTY | API_FIELD_NO_EDGE_BLANKS, .max = 255

#define HEX4 "[0-9a-fA-F]{4}"
#define UUID_RE "[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-" HEX4 "-" HEX4 "-" HEX4 "-[0-9a-fA-F]{12}"
#define OCTET "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define IPV4_RE OCTET "\\." OCTET "\\." OCTET "\\." OCTET
#define IPV6_RE "[0-9a-fA-F.]*:[0-9a-fA-F:.]*"
#define DB_MAX_INT 2147483647

static const char *const disk_configs[] = {"AUTO", "MANUAL", NULL};
static const char *const source_types[] = {"volume", "image", "snapshot", "blank", NULL};
static const char *const destination_types[] = {"local", "volume", NULL};

/* networks: [{"uuid", "port", "fixed_ip"}] */
static const struct api_field network_fields[] = {
    {.name = "fixed_ip", .type = API_FIELD_STRING, .max = 45, .pattern = IPV4_RE "|" IPV6_RE},
    {.name = "port", .type = API_FIELD_UUID, .flags = API_FIELD_NULLABLE},
    {.name = "uuid", .type = API_FIELD_STRING, .max = 255},
};
static const struct api_schema network_schema = {"network", network_fields,
                                                 ARRAY_LEN(network_fields), false};
static const struct api_field network_item = {.type = API_FIELD_OBJECT, .object = &network_schema};

/* security_groups: [{"name"}] */
static const struct api_field security_group_fields[] = {
    {.name = "name", NOVA_NAME},
};
static const struct api_schema security_group_schema = {"security_group", security_group_fields,
                                                        ARRAY_LEN(security_group_fields), false};
static const struct api_field security_group_item = {.type = API_FIELD_OBJECT,
                                                     .object = &security_group_schema};

/* personality: [{"path", "contents"}] */
static const struct api_field personality_fields[] = {
    {.name = "path", .type = API_FIELD_STRING},
    {.name = "contents", .type = API_FIELD_STRING},
};
static const struct api_schema personality_schema = {"personality", personality_fields,
                                                     ARRAY_LEN(personality_fields), false};
static const struct api_field personality_item = {.type = API_FIELD_OBJECT,
                                                  .object = &personality_schema};

/* The legacy block device mapping's members, then block_device_mapping_v2's. */
#define LEGACY_BDM_FIELDS                                                                          \
    {.name = "virtual_name", .type = API_FIELD_STRING, .max = 255},                                \
        {.name = "volume_id", .type = API_FIELD_UUID},                                             \
        {.name = "snapshot_id", .type = API_FIELD_UUID},                                           \
        {.name = "volume_size",                                                                    \
         .type = API_FIELD_INTEGER,                                                                \
         .flags = API_FIELD_INT_STRING,                                                            \
         .min = 1,                                                                                 \
         .max = DB_MAX_INT},                                                                       \
        {.name = "device_name",                                                                    \
         .type = API_FIELD_STRING,                                                                 \
         .min = 1,                                                                                 \
         .max = 255,                                                                               \
         .pattern = "[a-zA-Z0-9._-r/]*"},                                                          \
        {.name = "delete_on_termination",                                                          \
         .type = API_FIELD_BOOLEAN,                                                                \
         .flags = API_FIELD_INT_STRING},                                                           \
        {.name = "no_device",                                                                      \
         .type = API_FIELD_BOOLEAN,                                                                \
         .flags = API_FIELD_INT_STRING | API_FIELD_NULLABLE},                                      \
    {                                                                                              \
        .name = "connection_info", .type = API_FIELD_STRING, .max = 16777215                       \
    }

static const struct api_field legacy_bdm_fields[] = {LEGACY_BDM_FIELDS};
static const struct api_schema legacy_bdm_schema = {"block_device_mapping", legacy_bdm_fields,
                                                    ARRAY_LEN(legacy_bdm_fields), false};
static const struct api_field legacy_bdm_item = {.type = API_FIELD_OBJECT,
                                                 .object = &legacy_bdm_schema};

static const struct api_field bdm_v2_fields[] = {
    LEGACY_BDM_FIELDS,
    {.name = "source_type", .type = API_FIELD_STRING, .enum_values = source_types},
    {.name = "uuid", .type = API_FIELD_STRING, .min = 1, .max = 255, .pattern = "[a-zA-Z0-9._-]*"},
    {.name = "image_id", .type = API_FIELD_UUID},
    {.name = "destination_type", .type = API_FIELD_STRING, .enum_values = destination_types},
    {.name = "guest_format", .type = API_FIELD_STRING, .max = 255},
    {.name = "device_type", .type = API_FIELD_STRING, .max = 255},
    {.name = "disk_bus", .type = API_FIELD_STRING, .max = 255},
    {.name = "boot_index",
     .type = API_FIELD_INTEGER,
     .flags = API_FIELD_INT_STRING | API_FIELD_NULLABLE},
};
static const struct api_schema bdm_v2_schema = {"block_device_mapping_v2", bdm_v2_fields,
                                                ARRAY_LEN(bdm_v2_fields), false};
static const struct api_field bdm_v2_item = {.type = API_FIELD_OBJECT, .object = &bdm_v2_schema};

/* metadata: keys 1 to 255 of [a-zA-Z0-9-_:. ], values strings up to 255 */
static const struct api_field metadata_value = {.type = API_FIELD_STRING, .max = 255};

static const struct api_field server_create_fields[] = {
    {.name = "name",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_NO_EDGE_BLANKS,
     .max = 255},
    /* a UUID, or "" when booting from a volume */
    {.name = "imageRef", .type = API_FIELD_STRING, .max = 36, .pattern = "(" UUID_RE ")?"},
    {.name = "flavorRef",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_REQUIRED | API_FIELD_NONEMPTY,
     .max = 255},
    {.name = "adminPass", .type = API_FIELD_STRING, .flags = API_FIELD_HIDDEN},
    {.name = "metadata",
     .type = API_FIELD_STRING_MAP,
     .pattern = "[a-zA-Z0-9_:. -]{1,255}",
     .items = &metadata_value},
    {.name = "networks", .type = API_FIELD_ARRAY, .items = &network_item},
    {.name = "OS-DCF:diskConfig", .type = API_FIELD_STRING, .enum_values = disk_configs},
    {.name = "accessIPv4", .type = API_FIELD_STRING, .max = 15, .pattern = IPV4_RE},
    {.name = "accessIPv6", .type = API_FIELD_STRING, .max = 45, .pattern = IPV6_RE},
    {.name = "personality", .type = API_FIELD_ARRAY, .items = &personality_item},
    {.name = "availability_zone", NOVA_NAME},
    {.name = "block_device_mapping", .type = API_FIELD_ARRAY, .items = &legacy_bdm_item},
    {.name = "block_device_mapping_v2", .type = API_FIELD_ARRAY, .items = &bdm_v2_item},
    {.name = "config_drive", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_INT_STRING},
    {.name = "key_name", NOVA_NAME},
    {.name = "min_count",
     .type = API_FIELD_INTEGER,
     .flags = API_FIELD_INT_STRING,
     .min = 1,
     .max = DB_MAX_INT},
    {.name = "max_count",
     .type = API_FIELD_INTEGER,
     .flags = API_FIELD_INT_STRING,
     .min = 1,
     .max = DB_MAX_INT},
    {.name = "return_reservation_id", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_INT_STRING},
    {.name = "security_groups", .type = API_FIELD_ARRAY, .items = &security_group_item},
    {.name = "user_data", .type = API_FIELD_STRING, .max = 65535},
    /* 2.19 */
    {.name = "description", .type = API_FIELD_STRING, .flags = API_FIELD_NULLABLE, .max = 255},
};

const struct api_schema compute_server_create_schema = {"server", server_create_fields,
                                                        ARRAY_LEN(server_create_fields), false};

/* PUT /servers/{id}: the name, the access addresses, the disk config and
 * (2.19) the description. */
static const struct api_field server_update_fields[] = {
    {.name = "name", NOVA_NAME},
    {.name = "accessIPv4", .type = API_FIELD_STRING, .max = 15, .pattern = IPV4_RE},
    {.name = "accessIPv6", .type = API_FIELD_STRING, .max = 45, .pattern = IPV6_RE},
    {.name = "OS-DCF:diskConfig", .type = API_FIELD_STRING, .enum_values = disk_configs},
    {.name = "description", .type = API_FIELD_STRING, .flags = API_FIELD_NULLABLE, .max = 255},
};

const struct api_schema compute_server_update_schema = {"server", server_update_fields,
                                                        ARRAY_LEN(server_update_fields), false};
