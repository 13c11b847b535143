-- Glance's os_hidden (a core image attribute since Rocky): hidden images are
-- left out of image lists unless the caller asks for them (?os_hidden=true).
ALTER TABLE image ADD COLUMN os_hidden boolean NOT NULL DEFAULT false;
