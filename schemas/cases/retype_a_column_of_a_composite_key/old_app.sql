INSERT INTO memberships (org_id, user_id, since) VALUES (7, 70, 'old');
INSERT INTO roles (id, org_id, user_id, role) VALUES (70, 7, 70, 'admin');
SELECT m.since, r.role FROM memberships m JOIN roles r USING (org_id, user_id);
