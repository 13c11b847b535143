-- Keystone gaps: project hierarchy (parent_id; NULL = a top-level project,
-- whose parent is its domain), project tags, and deleting a domain deletes
-- what it owns (Keystone's domain delete), once it has been disabled.
ALTER TABLE project ADD COLUMN parent_id text REFERENCES project (id);
CREATE INDEX project_parent ON project (parent_id);

CREATE TABLE project_tag (
    project_id text NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    PRIMARY KEY (project_id, name)
);
CREATE INDEX project_tag_name ON project_tag (name);

ALTER TABLE project DROP CONSTRAINT project_domain_id_fkey,
    ADD CONSTRAINT project_domain_id_fkey FOREIGN KEY (domain_id) REFERENCES domain (id)
        ON DELETE CASCADE;
ALTER TABLE identity_user DROP CONSTRAINT identity_user_domain_id_fkey,
    ADD CONSTRAINT identity_user_domain_id_fkey FOREIGN KEY (domain_id) REFERENCES domain (id)
        ON DELETE CASCADE;
