-- Images (Glance v2 subset). The bytes live in the image store (storage/),
-- named by image id; a row is 'active' only once its file is complete and
-- fsynced (written to a temporary name, then renamed).

CREATE TABLE image (
    id uuid PRIMARY KEY,
    name text CHECK (name IS NULL OR length(name) <= 255),
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'saving', 'uploading', 'importing', 'active', 'deactivated',
                          'killed', 'deleted', 'pending_delete')),
    visibility text NOT NULL DEFAULT 'shared'
        CHECK (visibility IN ('public', 'private', 'shared', 'community')),
    owner text, -- project id
    protected boolean NOT NULL DEFAULT false,
    disk_format text CHECK (disk_format IS NULL OR disk_format IN
        ('ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop')),
    container_format text CHECK (container_format IS NULL OR container_format IN
        ('ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed')),
    size bigint,
    virtual_size bigint,
    checksum text,        -- MD5, hex
    os_hash_algo text,    -- 'sha512'
    os_hash_value text,   -- hex
    min_disk integer NOT NULL DEFAULT 0 CHECK (min_disk >= 0),
    min_ram integer NOT NULL DEFAULT 0 CHECK (min_ram >= 0),
    -- every other property (vm_mode, hw_*, kernel_id, ramdisk_id, os_*...),
    -- string values only, as Glance stores them
    properties jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX image_owner ON image (owner) WHERE deleted_at IS NULL;
CREATE INDEX image_name ON image (name) WHERE deleted_at IS NULL;

CREATE TABLE image_tag (
    image_id uuid NOT NULL REFERENCES image (id) ON DELETE CASCADE,
    tag text NOT NULL CHECK (length(tag) BETWEEN 1 AND 255),
    PRIMARY KEY (image_id, tag)
);

-- Sharing of visibility 'shared' images with other projects.
CREATE TABLE image_member (
    image_id uuid NOT NULL REFERENCES image (id) ON DELETE CASCADE,
    member text NOT NULL, -- project id
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, member)
);
