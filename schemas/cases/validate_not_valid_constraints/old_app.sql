INSERT INTO teams (id) VALUES (100); INSERT INTO users (id, team_id, age, score) VALUES (100, 100, 30, 1);
