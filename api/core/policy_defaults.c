/* The default rules, as data: one row per action cloud-api serves, with the
 * upstream service's current default and what the action is. Adding an API
 * action adds its row here (tests/api/test_policy.c scans the sources for
 * actions without one).
 *
 * Nube has no system or domain scope: the admin role on any project is the
 * cloud admin (ctx->is_admin). Upstream defaults written for a system reader
 * or a domain admin are therefore written for the admin here; everything else
 * is the upstream check string. */
#include "policy.h"

#include "mem.h"

#define NOVA_ADMIN "rule:context_is_admin"
#define NOVA_MEMBER_OR_ADMIN "rule:project_member_or_admin"
#define NOVA_READER_OR_ADMIN "rule:project_reader_or_admin"
#define NOVA_KEYPAIR_OWNER "(rule:context_is_admin) or user_id:%(user_id)s"
#define GLANCE_MEMBER "role:admin or (role:member and project_id:%(project_id)s)"
#define GLANCE_READER "role:admin or (role:reader and project_id:%(project_id)s)"
#define GLANCE_VISIBLE                                                                             \
    "(project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or "     \
    "'public':%(visibility)s or 'shared':%(visibility)s)"
#define KEYSTONE_ADMIN "rule:admin_required"

static const struct policy_default defaults[] = {
    /* named rules (base.py of each service) */
    {"context_is_admin", "role:admin", "The cloud admin: the admin role on any project."},
    {"admin_api", "is_admin:True", "Nova: default rule for most admin APIs."},
    {"project_member_api", "role:member and project_id:%(project_id)s",
     "Nova: a member of the target project."},
    {"project_reader_api", "role:reader and project_id:%(project_id)s",
     "Nova: a reader of the target project."},
    {"project_member_or_admin", "rule:project_member_api or rule:context_is_admin",
     "Nova: a member of the target project, or the admin."},
    {"project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin",
     "Nova: a reader of the target project, or the admin."},
    {"admin_required", "role:admin or is_admin:1", "Keystone: the admin."},
    {"service_role", "role:service", "Keystone: a service user."},
    {"service_or_admin", "rule:admin_required or rule:service_role",
     "Keystone: a service user or the admin."},
    {"owner", "user_id:%(user_id)s", "Keystone: the target user is the caller."},
    {"token_subject", "user_id:%(target.token.user_id)s",
     "Keystone: the token acted on is the caller's."},
    {"admin_or_token_subject", "rule:admin_required or rule:token_subject",
     "Keystone: the admin or the token's own user."},
    {"service_admin_or_token_subject", "rule:service_or_admin or rule:token_subject",
     "Keystone: a service, the admin or the token's own user."},
    {"project:read", NOVA_READER_OR_ADMIN, "Nube: read a resource of the target project."},
    {"project:write", NOVA_MEMBER_OR_ADMIN, "Nube: change a resource of the target project."},

    /* Nova: servers */
    {"os_compute_api:servers:index", NOVA_READER_OR_ADMIN, "List servers."},
    {"os_compute_api:servers:detail", NOVA_READER_OR_ADMIN, "List servers with details."},
    {"os_compute_api:servers:show", NOVA_READER_OR_ADMIN, "Show a server."},
    {"os_compute_api:servers:create", NOVA_MEMBER_OR_ADMIN, "Create a server."},
    {"os_compute_api:servers:update", NOVA_MEMBER_OR_ADMIN, "Update a server."},
    {"os_compute_api:servers:delete", NOVA_MEMBER_OR_ADMIN, "Delete a server."},
    {"os_compute_api:servers:start", NOVA_MEMBER_OR_ADMIN, "Start a server (os-start)."},
    {"os_compute_api:servers:stop", NOVA_MEMBER_OR_ADMIN, "Stop a server (os-stop)."},
    {"os_compute_api:servers:reboot", NOVA_MEMBER_OR_ADMIN, "Reboot a server."},
    {"os_compute_api:os-pause-server:pause", NOVA_MEMBER_OR_ADMIN, "Pause a server."},
    {"os_compute_api:os-pause-server:unpause", NOVA_MEMBER_OR_ADMIN, "Unpause a server."},
    {"os_compute_api:os-suspend-server:suspend", NOVA_MEMBER_OR_ADMIN, "Suspend a server."},
    {"os_compute_api:os-suspend-server:resume", NOVA_MEMBER_OR_ADMIN, "Resume a server."},
    {"os_compute_api:os-console-output", NOVA_MEMBER_OR_ADMIN, "Show a server's console log."},
    {"os_compute_api:server-metadata:index", NOVA_READER_OR_ADMIN, "List a server's metadata."},
    {"os_compute_api:server-metadata:show", NOVA_READER_OR_ADMIN, "Show a metadata item."},
    {"os_compute_api:server-metadata:create", NOVA_MEMBER_OR_ADMIN, "Add metadata items."},
    {"os_compute_api:server-metadata:update_all", NOVA_MEMBER_OR_ADMIN, "Replace the metadata."},
    {"os_compute_api:server-metadata:update", NOVA_MEMBER_OR_ADMIN, "Set a metadata item."},
    {"os_compute_api:server-metadata:delete", NOVA_MEMBER_OR_ADMIN, "Delete a metadata item."},
    /* Nova: flavors (list and show have no rule upstream) */
    {"os_compute_api:os-flavor-manage:create", NOVA_ADMIN, "Create a flavor."},
    {"os_compute_api:os-flavor-manage:delete", NOVA_ADMIN, "Delete a flavor."},
    {"os_compute_api:os-flavor-extra-specs:index", NOVA_READER_OR_ADMIN,
     "List a flavor's extra specs."},
    {"os_compute_api:os-flavor-extra-specs:show", NOVA_READER_OR_ADMIN, "Show an extra spec."},
    {"os_compute_api:os-flavor-extra-specs:create", NOVA_ADMIN, "Create extra specs."},
    {"os_compute_api:os-flavor-extra-specs:update", NOVA_ADMIN, "Update an extra spec."},
    {"os_compute_api:os-flavor-extra-specs:delete", NOVA_ADMIN, "Delete an extra spec."},
    /* Nova: keypairs (the caller's own; user_id is the keypair's user) */
    {"os_compute_api:os-keypairs:index", NOVA_KEYPAIR_OWNER, "List keypairs."},
    {"os_compute_api:os-keypairs:show", NOVA_KEYPAIR_OWNER, "Show a keypair."},
    {"os_compute_api:os-keypairs:create", NOVA_KEYPAIR_OWNER, "Create or import a keypair."},
    {"os_compute_api:os-keypairs:delete", NOVA_KEYPAIR_OWNER, "Delete a keypair."},
    /* Nova: limits and quotas */
    {"os_compute_api:limits", "@", "Show the caller's project's rate and absolute limits."},
    {"os_compute_api:limits:other_project", NOVA_ADMIN, "Show another project's limits."},
    {"os_compute_api:os-quota-sets:show", NOVA_READER_OR_ADMIN, "Show a project's quotas."},
    {"os_compute_api:os-quota-sets:detail", NOVA_READER_OR_ADMIN,
     "Show a project's quotas with usage."},
    {"os_compute_api:os-quota-sets:defaults", "@", "Show the default quotas."},
    {"os_compute_api:os-quota-sets:update", NOVA_ADMIN, "Update a project's quotas."},
    {"os_compute_api:os-quota-sets:delete", NOVA_ADMIN, "Revert a project's quotas."},
    /* Nova: hosts */
    {"os_compute_api:os-hypervisors:list", NOVA_ADMIN, "List hypervisors."},
    {"os_compute_api:os-hypervisors:list-detail", NOVA_ADMIN, "List hypervisors with details."},
    {"os_compute_api:os-hypervisors:show", NOVA_ADMIN, "Show a hypervisor."},
    {"os_compute_api:os-hypervisors:uptime", NOVA_ADMIN, "Show a hypervisor's uptime."},
    {"os_compute_api:os-hypervisors:statistics", NOVA_ADMIN, "Show hypervisor statistics."},
    {"os_compute_api:os-hypervisors:search", NOVA_ADMIN, "Search hypervisors by name."},
    {"os_compute_api:os-hypervisors:servers", NOVA_ADMIN, "List a hypervisor's servers."},
    {"os_compute_api:os-aggregates:index", NOVA_ADMIN, "List host aggregates."},
    {"os_compute_api:os-services:list", NOVA_ADMIN, "List compute services."},
    {"os_compute_api:os-services:update", NOVA_ADMIN, "Enable or disable a compute service."},
    {"os_compute_api:os-availability-zone:list", "@", "List availability zones."},
    {"os_compute_api:os-availability-zone:detail", NOVA_ADMIN,
     "List availability zones with their hosts."},
    /* Nova: server groups */
    {"os_compute_api:os-server-tags:index", NOVA_READER_OR_ADMIN, "List a server's tags."},
    {"os_compute_api:os-server-tags:show", NOVA_READER_OR_ADMIN, "Check a server's tag."},
    {"os_compute_api:os-server-tags:update", NOVA_MEMBER_OR_ADMIN, "Add a tag to a server."},
    {"os_compute_api:os-server-tags:update_all", NOVA_MEMBER_OR_ADMIN, "Replace a server's tags."},
    {"os_compute_api:os-server-tags:delete", NOVA_MEMBER_OR_ADMIN, "Remove a tag from a server."},
    {"os_compute_api:os-server-tags:delete_all", NOVA_MEMBER_OR_ADMIN,
     "Remove every tag of a server."},
    {"os_compute_api:os-server-groups:index", NOVA_READER_OR_ADMIN, "List server groups."},
    {"os_compute_api:os-server-groups:index:all_projects", NOVA_ADMIN,
     "List the server groups of every project."},
    {"os_compute_api:os-server-groups:show", NOVA_READER_OR_ADMIN, "Show a server group."},
    {"os_compute_api:os-server-groups:create", "rule:project_member_api", "Create a server group."},
    {"os_compute_api:os-server-groups:delete", NOVA_MEMBER_OR_ADMIN, "Delete a server group."},

    /* Glance (project_id is the image's owner) */
    {"get_images", GLANCE_READER, "List images."},
    {"get_image", "role:admin or (role:reader and " GLANCE_VISIBLE ")", "Show an image."},
    {"add_image", GLANCE_MEMBER, "Create an image."},
    {"modify_image", GLANCE_MEMBER, "Update an image (PATCH, tags)."},
    {"publicize_image", "role:admin", "Make an image public (or change its owner)."},
    {"communitize_image", GLANCE_MEMBER, "Make an image a community image."},
    {"delete_image", GLANCE_MEMBER, "Delete an image."},
    {"upload_image", GLANCE_MEMBER, "Upload an image's data."},
    {"download_image", "role:admin or (role:member and " GLANCE_VISIBLE ")",
     "Download an image's data."},
    {"deactivate", GLANCE_MEMBER, "Deactivate an image."},
    {"reactivate", GLANCE_MEMBER, "Reactivate an image."},
    {"get_members",
     "role:admin or (role:reader and (project_id:%(project_id)s or "
     "project_id:%(member_id)s))",
     "List an image's members."},
    {"get_member",
     "role:admin or (role:reader and (project_id:%(project_id)s or "
     "project_id:%(member_id)s))",
     "Show an image member."},
    {"add_member", GLANCE_MEMBER, "Share an image with a project."},
    {"delete_member", GLANCE_MEMBER, "Stop sharing an image with a project."},
    {"modify_member", "role:admin or (role:member and project_id:%(member_id)s)",
     "Accept or reject a shared image (the member project only)."},

    /* Keystone: tokens */
    {"identity:check_token", KEYSTONE_ADMIN " or rule:token_subject", "Check a token (HEAD)."},
    {"identity:validate_token", "rule:service_admin_or_token_subject", "Validate a token."},
    {"identity:revoke_token", "rule:admin_or_token_subject", "Revoke a token."},
    {"identity:get_auth_catalog", "", "The catalog of the caller's token."},
    {"identity:get_auth_projects", "", "The projects the caller has roles on."},
    /* Keystone: domains, roles, the catalog */
    {"identity:list_domains", KEYSTONE_ADMIN, "List domains."},
    {"identity:create_domain", KEYSTONE_ADMIN, "Create a domain."},
    {"identity:update_domain", KEYSTONE_ADMIN, "Update, enable or disable a domain."},
    {"identity:delete_domain", KEYSTONE_ADMIN, "Delete a (disabled) domain."},
    {"identity:get_auth_domains", "", "The domains the caller has roles on."},
    {"identity:get_domain", KEYSTONE_ADMIN " or role:reader",
     "Show a domain (upstream: the domain of the caller's project)."},
    {"identity:list_roles", KEYSTONE_ADMIN, "List roles."},
    {"identity:get_role", KEYSTONE_ADMIN, "Show a role."},
    {"identity:create_role", KEYSTONE_ADMIN, "Create a role."},
    {"identity:delete_role", KEYSTONE_ADMIN, "Delete a role."},
    {"identity:update_role", KEYSTONE_ADMIN, "Update a role."},
    {"identity:list_services", KEYSTONE_ADMIN, "List catalog services."},
    {"identity:get_service", KEYSTONE_ADMIN, "Show a catalog service."},
    {"identity:create_service", KEYSTONE_ADMIN, "Create a catalog service."},
    {"identity:delete_service", KEYSTONE_ADMIN, "Delete a catalog service."},
    {"identity:update_service", KEYSTONE_ADMIN, "Update a catalog service."},
    {"identity:list_endpoints", KEYSTONE_ADMIN, "List endpoints."},
    {"identity:get_endpoint", KEYSTONE_ADMIN, "Show an endpoint."},
    {"identity:create_endpoint", KEYSTONE_ADMIN, "Create an endpoint."},
    {"identity:delete_endpoint", KEYSTONE_ADMIN, "Delete an endpoint."},
    {"identity:update_endpoint", KEYSTONE_ADMIN, "Update an endpoint."},
    /* Keystone: projects */
    {"identity:list_projects", KEYSTONE_ADMIN, "List projects."},
    {"identity:list_project_tags", KEYSTONE_ADMIN " or project_id:%(target.project.id)s",
     "List a project's tags."},
    {"identity:get_project_tag", KEYSTONE_ADMIN " or project_id:%(target.project.id)s",
     "Check a project's tag."},
    {"identity:update_project_tags", KEYSTONE_ADMIN, "Replace a project's tags."},
    {"identity:create_project_tag", KEYSTONE_ADMIN, "Add a tag to a project."},
    {"identity:delete_project_tag", KEYSTONE_ADMIN, "Remove a tag from a project."},
    {"identity:delete_project_tags", KEYSTONE_ADMIN, "Remove every tag of a project."},
    {"identity:get_project", KEYSTONE_ADMIN " or project_id:%(target.project.id)s",
     "Show a project."},
    {"identity:create_project", KEYSTONE_ADMIN, "Create a project."},
    {"identity:update_project", KEYSTONE_ADMIN, "Update a project."},
    {"identity:delete_project", KEYSTONE_ADMIN, "Delete a project."},
    {"identity:list_user_projects", KEYSTONE_ADMIN " or user_id:%(target.user.id)s",
     "List the projects of a user."},
    /* Keystone: users */
    {"identity:list_users", KEYSTONE_ADMIN, "List users."},
    {"identity:get_user", KEYSTONE_ADMIN " or user_id:%(target.user.id)s", "Show a user."},
    {"identity:create_user", KEYSTONE_ADMIN, "Create a user."},
    {"identity:update_user", KEYSTONE_ADMIN, "Update a user, including password resets."},
    {"identity:delete_user", KEYSTONE_ADMIN, "Delete a user."},
    {"identity:change_password", KEYSTONE_ADMIN " or user_id:%(target.user.id)s",
     "Change a user's password (the original password is still required)."},
    /* Keystone: role assignments */
    {"identity:check_grant", KEYSTONE_ADMIN, "Check a role grant."},
    {"identity:list_grants", KEYSTONE_ADMIN, "List the roles granted on a project."},
    {"identity:create_grant", KEYSTONE_ADMIN, "Grant a role."},
    {"identity:revoke_grant", KEYSTONE_ADMIN, "Revoke a role."},
    {"identity:list_role_assignments", KEYSTONE_ADMIN,
     "List every role assignment (others list only their own)."},
};

const struct policy_default *
policy_defaults(size_t *n)
{
    *n = ARRAY_SIZE(defaults);
    return defaults;
}
