INSERT INTO memberships (org_id, user_id, since) VALUES (8, 80, 'new');
INSERT INTO roles (id, org_id, user_id, role) VALUES (80, 8, 80, 'owner');
SELECT count(*) FROM memberships m JOIN roles r USING (org_id, user_id);
