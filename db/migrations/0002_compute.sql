-- Compute (Nova v2.1 subset): flavors, keypairs, compute nodes, instances,
-- resource claims, quotas and server groups. The contract between cloud-api,
-- cloud-scheduler and cloud-compute is docs/compute-flow.md.

CREATE TABLE flavor (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    memory_mb integer NOT NULL CHECK (memory_mb > 0),
    vcpus integer NOT NULL CHECK (vcpus > 0),
    root_gb integer NOT NULL DEFAULT 0 CHECK (root_gb >= 0),
    ephemeral_gb integer NOT NULL DEFAULT 0 CHECK (ephemeral_gb >= 0),
    swap_mb integer NOT NULL DEFAULT 0 CHECK (swap_mb >= 0),
    rxtx_factor double precision NOT NULL DEFAULT 1.0 CHECK (rxtx_factor > 0),
    is_public boolean NOT NULL DEFAULT true,
    disabled boolean NOT NULL DEFAULT false,
    description text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE flavor_extra_spec (
    flavor_id text NOT NULL REFERENCES flavor (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    value text NOT NULL CHECK (length(value) <= 255),
    PRIMARY KEY (flavor_id, key)
);

CREATE TABLE flavor_project (
    flavor_id text NOT NULL REFERENCES flavor (id) ON DELETE CASCADE,
    project_id text NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE keypair (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    type text NOT NULL DEFAULT 'ssh' CHECK (type IN ('ssh', 'x509')),
    public_key text NOT NULL,
    fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

-- One row per compute host, upserted from its heartbeats. Usage columns hold
-- what is *claimed* by instances (instance_claim), not what the host measured;
-- the measured figures are cpu_util and the energy columns.
CREATE TABLE compute_node (
    host text PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 255),
    id serial UNIQUE, -- os-hypervisors' integer id
    hypervisor_hostname text NOT NULL,
    hypervisor_type text NOT NULL DEFAULT 'nube',
    hypervisor_version integer NOT NULL DEFAULT 0,
    host_ip text NOT NULL DEFAULT '',
    availability_zone text NOT NULL DEFAULT 'nova',
    vcpus integer NOT NULL CHECK (vcpus >= 0),
    memory_mb bigint NOT NULL CHECK (memory_mb >= 0),
    local_gb bigint NOT NULL CHECK (local_gb >= 0),
    cpu_allocation_ratio double precision NOT NULL DEFAULT 4.0,
    ram_allocation_ratio double precision NOT NULL DEFAULT 1.0,
    disk_allocation_ratio double precision NOT NULL DEFAULT 1.0,
    vcpus_used integer NOT NULL DEFAULT 0 CHECK (vcpus_used >= 0),
    memory_mb_used bigint NOT NULL DEFAULT 0 CHECK (memory_mb_used >= 0),
    local_gb_used bigint NOT NULL DEFAULT 0 CHECK (local_gb_used >= 0),
    running_vms integer NOT NULL DEFAULT 0 CHECK (running_vms >= 0),
    domain_types text[] NOT NULL DEFAULT '{}',
    cpu_util double precision NOT NULL DEFAULT 0, -- 0..1, measured
    power_watts double precision NOT NULL DEFAULT 0,
    idle_watts double precision NOT NULL DEFAULT 0,
    max_watts double precision NOT NULL DEFAULT 0,
    power_source text NOT NULL DEFAULT 'model' CHECK (power_source IN ('rapl', 'model')),
    energy_joules double precision NOT NULL DEFAULT 0,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    forced_down boolean NOT NULL DEFAULT false,
    last_heartbeat timestamptz,
    started_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE server_group (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    policy text NOT NULL CHECK (policy IN ('affinity', 'anti-affinity', 'soft-affinity',
                                           'soft-anti-affinity')),
    project_id text NOT NULL,
    user_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instance (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    project_id text NOT NULL,
    user_id text NOT NULL,
    image_id text NOT NULL DEFAULT '',
    flavor_id text NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    root_gb integer NOT NULL,
    ephemeral_gb integer NOT NULL DEFAULT 0,
    swap_mb integer NOT NULL DEFAULT 0,
    vm_mode text NOT NULL DEFAULT 'xen' CHECK (vm_mode IN ('xen', 'hvm', 'exe')),
    key_name text,
    key_data text,
    user_data text,
    metadata jsonb NOT NULL DEFAULT '{}',
    availability_zone text,
    vm_state text NOT NULL DEFAULT 'building'
        CHECK (vm_state IN ('building', 'active', 'stopped', 'paused', 'suspended', 'error',
                            'deleted', 'rescued', 'resized', 'shelved')),
    task_state text,
    power_state integer NOT NULL DEFAULT 0,
    host text,
    node text,
    server_group_id uuid REFERENCES server_group (id) ON DELETE SET NULL,
    reservation_id text NOT NULL,
    launch_index integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    tried_hosts text[] NOT NULL DEFAULT '{}',
    fault jsonb,
    state_seq bigint NOT NULL DEFAULT 0,
    access_ipv4 text NOT NULL DEFAULT '',
    access_ipv6 text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    launched_at timestamptz,
    terminated_at timestamptz,
    deleted_at timestamptz
);
CREATE INDEX instance_project ON instance (project_id) WHERE deleted_at IS NULL;
CREATE INDEX instance_host ON instance (host) WHERE deleted_at IS NULL;
CREATE INDEX instance_updated ON instance (updated_at);

-- Resources an instance holds on a host: present exactly while held, and
-- written in the same transaction as compute_node's *_used columns.
CREATE TABLE instance_claim (
    instance_id uuid PRIMARY KEY REFERENCES instance (id) ON DELETE CASCADE,
    host text NOT NULL REFERENCES compute_node (host),
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    disk_gb integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instance_claim_host ON instance_claim (host);

-- Per-project hard limits; a missing row means the configured default
-- ([quota] instances / cores / ram ...), -1 unlimited.
CREATE TABLE quota (
    project_id text NOT NULL,
    resource text NOT NULL CHECK (length(resource) BETWEEN 1 AND 255),
    hard_limit bigint NOT NULL CHECK (hard_limit >= -1),
    PRIMARY KEY (project_id, resource)
);
