INSERT INTO teams (id) VALUES (101); INSERT INTO users (id, team_id, age, score) VALUES (101, 101, 31, 2);
