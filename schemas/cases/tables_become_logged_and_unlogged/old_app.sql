SELECT count(*) FROM sessions; INSERT INTO imports (id) VALUES (100001);
