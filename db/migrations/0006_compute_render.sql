-- Nova's server representation, per microversion, rendered by PostgreSQL.
--
-- cloud-api sends GET /servers/detail as one text per server concatenated
-- (no JSON tree built in C), so the documents are made here. The functions
-- are LANGUAGE sql, STABLE, with a single expression and no sub-select, so
-- the planner inlines them into the calling query: calling them costs what
-- writing the expression in the query would.
--
-- Microversions are integers, major * 1000 + minor (2.19 = 2019).
--
-- A function is inlined only when its body is no more volatile than it is
-- declared: json_build_object and to_char are STABLE, so are the functions
-- that call them (an IMMUTABLE one would be called, not inlined).

-- Nova's hostname of a server (OS-EXT-SRV-ATTR:hostname, 2.3), made once
-- from its name at create (a rename leaves it, as in Nova): the name
-- lowercased, spaces and underscores made '-', anything but ASCII letters, digits,
-- '.' and '-' dropped, '.' and '-' trimmed from both ends, at most 63
-- characters.
CREATE FUNCTION nova_hostname(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(btrim(regexp_replace(translate(lower(name), ' _', '--'), '[^a-z0-9.-]', '', 'g'),
                      '.-'), 63)
$$;

-- What the representation needs and the instance did not hold yet:
-- the server description (2.19), its tags (2.26), and the kernel and
-- ramdisk image ids and the hostname (OS-EXT-SRV-ATTR:kernel_id /
-- ramdisk_id / hostname, 2.3).
ALTER TABLE instance ADD COLUMN description text CHECK (length(description) <= 255);
ALTER TABLE instance ADD COLUMN kernel_id text NOT NULL DEFAULT '';
ALTER TABLE instance ADD COLUMN ramdisk_id text NOT NULL DEFAULT '';
ALTER TABLE instance ADD COLUMN hostname text;
-- the server's tags (2.26), sorted and unique
ALTER TABLE instance ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
UPDATE instance SET hostname = nova_hostname(name);

-- A timestamp as Nova writes it: 2026-01-02T03:04:05Z (UTC), NULL stays NULL.
CREATE FUNCTION nova_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- The members of a JSON object as text, without the braces
-- ('{"a" : 1, "b" : 2}' -> '"a" : 1, "b" : 2'), for splicing optional
-- members into a document; NULL stays NULL. j is used once: an inlined
-- function evaluates its argument as often as its body names it.
CREATE FUNCTION nova_members(j json) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT left(substr(j::text, 2), -1)
$$;

-- Nova's server status from vm_state and task_state.
CREATE FUNCTION nova_server_status(vm_state text, task_state text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE vm_state
        WHEN 'active' THEN
            CASE WHEN task_state LIKE 'reboot%_hard' THEN 'HARD_REBOOT'
                 WHEN task_state LIKE 'reboot%' THEN 'REBOOT'
                 ELSE 'ACTIVE' END
        WHEN 'building' THEN 'BUILD'
        WHEN 'stopped' THEN 'SHUTOFF'
        WHEN 'paused' THEN 'PAUSED'
        WHEN 'suspended' THEN 'SUSPENDED'
        WHEN 'error' THEN 'ERROR'
        WHEN 'deleted' THEN 'DELETED'
        WHEN 'rescued' THEN 'RESCUE'
        WHEN 'resized' THEN 'VERIFY_RESIZE'
        WHEN 'shelved' THEN 'SHELVED'
        ELSE 'UNKNOWN' END
$$;

-- The server's self and bookmark links.
CREATE FUNCTION nova_server_links(id uuid, base_url text) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_array(
        json_build_object('rel', 'self', 'href', base_url || '/compute/v2.1/servers/' || id),
        json_build_object('rel', 'bookmark', 'href', base_url || '/compute/servers/' || id))
$$;

-- A server in lists without /detail: id, name and links (every microversion).
CREATE FUNCTION nova_server_summary(i instance, base_url text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('id', i.id, 'name', i.name,
                             'links', nova_server_links(i.id, base_url))::text
$$;

-- Nova's host_status (2.16): '' while unscheduled, MAINTENANCE when the
-- host's service is disabled, UP or DOWN by its heartbeat (younger than
-- down_secs seconds), UNKNOWN when the host is not a known compute node.
-- n is the instance host's compute_node row (NULL when there is none).
CREATE FUNCTION nova_host_status(i instance, n compute_node, down_secs int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN i.host IS NULL THEN ''
        WHEN n.host IS NULL THEN 'UNKNOWN'
        WHEN NOT n.enabled THEN 'MAINTENANCE'
        WHEN n.last_heartbeat IS NOT NULL AND NOT n.forced_down
             AND n.last_heartbeat > now() - make_interval(secs => down_secs) THEN 'UP'
        ELSE 'DOWN' END
$$;

-- A server in /servers/detail, GET /servers/{id} and PUT /servers/{id}, at
-- microversion mv (2001 = 2.1 ... see the members below), in two pieces
-- that cloud-api joins: nova_server_doc() the members every version has,
-- a JSON object; nova_server_extra() the members that depend on the
-- microversion, the caller or the state, as '"k" : v, ...' text without
-- braces (NULL for none), which go before the document's closing brace.
-- (Joining them here would cost a character count of the 1.4 kB document
-- per row: substr() and left() count characters in UTF-8.) Arguments:
--   i            the instance row
--   n            its host's compute_node row (NULL when unscheduled or
--                unknown, and when host_status is not asked for)
--   base_url     cloud-api's public URL (links)
--   is_admin     the caller is the cloud admin: OS-EXT-SRV-ATTR:* and
--                host_status (Nova's default policy) are admin-only
--   mv           the microversion
--   down_secs    [compute] service_down_time (host_status)
CREATE FUNCTION nova_server_doc(i instance, base_url text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', i.id,
        'name', i.name,
        'links', nova_server_links(i.id, base_url),
        'status', nova_server_status(i.vm_state, i.task_state),
        'tenant_id', i.project_id,
        'user_id', i.user_id,
        'metadata', i.metadata,
        'hostId', CASE WHEN i.host IS NULL THEN ''
                       ELSE encode(sha224(convert_to(i.project_id || i.host, 'UTF8')), 'hex') END,
        'image', CASE WHEN i.image_id = '' THEN to_json(''::text)
                      ELSE json_build_object('id', i.image_id, 'links', json_build_array(
                               json_build_object('rel', 'bookmark', 'href',
                                                 base_url || '/compute/images/' || i.image_id)))
                      END,
        'flavor', json_build_object('id', i.flavor_id, 'links', json_build_array(
                      json_build_object('rel', 'bookmark', 'href',
                                        base_url || '/compute/flavors/' || i.flavor_id))),
        'created', nova_ts(i.created_at),
        'updated', nova_ts(i.updated_at),
        'addresses', '{}'::json,
        'accessIPv4', i.access_ipv4,
        'accessIPv6', i.access_ipv6,
        'progress', 0,
        'OS-DCF:diskConfig', 'MANUAL',
        'key_name', i.key_name,
        'security_groups', json_build_array(json_build_object('name', 'default')),
        'OS-SRV-USG:launched_at', nova_ts(i.launched_at),
        'OS-SRV-USG:terminated_at', nova_ts(i.terminated_at),
        'OS-EXT-AZ:availability_zone', coalesce(i.availability_zone, 'nova'),
        'OS-EXT-STS:vm_state', i.vm_state,
        'OS-EXT-STS:task_state', i.task_state,
        'OS-EXT-STS:power_state', i.power_state,
        'os-extended-volumes:volumes_attached', '[]'::json,
        'config_drive', '')::text
$$;

CREATE FUNCTION nova_server_extra(i instance, n compute_node, is_admin bool, mv int,
                                  down_secs int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(concat_ws(', ',
        -- 2.1: where the server runs (admins)
        CASE WHEN is_admin THEN nova_members(json_build_object(
            'OS-EXT-SRV-ATTR:host', i.host,
            'OS-EXT-SRV-ATTR:hypervisor_hostname', i.node,
            'OS-EXT-SRV-ATTR:instance_name', 'nube-' || i.id)) END,
        -- 2.3: the attributes the standalone EC2 API needed (admins)
        CASE WHEN is_admin AND mv >= 2003 THEN nova_members(json_build_object(
            'OS-EXT-SRV-ATTR:reservation_id', i.reservation_id,
            'OS-EXT-SRV-ATTR:launch_index', i.launch_index,
            'OS-EXT-SRV-ATTR:kernel_id', i.kernel_id,
            'OS-EXT-SRV-ATTR:ramdisk_id', i.ramdisk_id,
            'OS-EXT-SRV-ATTR:hostname', i.hostname,
            'OS-EXT-SRV-ATTR:root_device_name',
                CASE WHEN i.host IS NOT NULL THEN '/dev/vda' END,
            'OS-EXT-SRV-ATTR:user_data', i.user_data)) END,
        -- 2.9: there is no lock action, so no server is ever locked
        CASE WHEN mv >= 2009 THEN '"locked" : false' END,
        -- 2.16: the state of the host's compute service (admins)
        CASE WHEN is_admin AND mv >= 2016 THEN nova_members(json_build_object(
            'host_status', nova_host_status(i, n, down_secs))) END,
        -- 2.19: the description
        CASE WHEN mv >= 2019 THEN nova_members(json_build_object(
            'description', i.description)) END,
        -- 2.26: the tags
        CASE WHEN mv >= 2026 THEN nova_members(json_build_object('tags', i.tags)) END,
        -- the fault of a server in ERROR (or deleted after one)
        CASE WHEN i.fault IS NOT NULL AND i.vm_state IN ('error', 'deleted')
             THEN nova_members(json_build_object('fault', json_build_object(
                 'code', CASE WHEN jsonb_typeof(i.fault->'code') = 'number'
                              THEN i.fault->'code' ELSE '500'::jsonb END,
                 'message', coalesce(i.fault->>'message', 'Unknown error'),
                 'created', coalesce(i.fault->>'created', nova_ts(i.updated_at))))) END), '')
$$;
