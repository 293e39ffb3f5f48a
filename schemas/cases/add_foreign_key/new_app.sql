INSERT INTO teams (id) VALUES (77);
INSERT INTO users (email, name, team_id) VALUES ('new@x.y', 'New', 77);
SELECT team_id FROM users;
