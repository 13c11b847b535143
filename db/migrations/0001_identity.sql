-- Identity (Keystone v3 subset): domains, projects, users, roles, role
-- assignments, the service catalog and token revocation events.
-- Ids are Keystone-style 32-hex strings, except the domain "default".

CREATE TABLE domain (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    domain_id text NOT NULL REFERENCES domain (id),
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain_id, name)
);

CREATE TABLE identity_user (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    domain_id text NOT NULL REFERENCES domain (id),
    password_hash text,
    enabled boolean NOT NULL DEFAULT true,
    default_project_id text REFERENCES project (id) ON DELETE SET NULL,
    description text NOT NULL DEFAULT '',
    email text,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz,
    UNIQUE (domain_id, name)
);

CREATE TABLE role (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE role_assignment (
    user_id text NOT NULL REFERENCES identity_user (id) ON DELETE CASCADE,
    project_id text NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    role_id text NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id, role_id)
);
CREATE INDEX role_assignment_project ON role_assignment (project_id);

-- The catalog is data: a service family registers itself with its endpoints.
-- Endpoint URLs may hold $(project_id)s, filled in per token scope.
CREATE TABLE catalog_service (
    id text PRIMARY KEY,
    type text NOT NULL UNIQUE CHECK (length(type) BETWEEN 1 AND 255),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true
);

CREATE TABLE catalog_endpoint (
    id text PRIMARY KEY,
    service_id text NOT NULL REFERENCES catalog_service (id) ON DELETE CASCADE,
    interface text NOT NULL CHECK (interface IN ('public', 'internal', 'admin')),
    region text NOT NULL DEFAULT 'RegionOne',
    url text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    UNIQUE (service_id, interface, region)
);

-- A token is refused when an event matches it: by audit id (either of its
-- audit ids), or by user / project for tokens issued at or before issued_before.
CREATE TABLE revocation_event (
    id bigserial PRIMARY KEY,
    audit_id text,
    user_id text,
    project_id text,
    issued_before timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (audit_id IS NOT NULL OR user_id IS NOT NULL OR project_id IS NOT NULL)
);
