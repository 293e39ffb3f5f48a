INSERT INTO accounts (id, email, nickname) VALUES (1000, 'a@b.c', 'n'); UPDATE accounts SET email = 'x@y.z' WHERE id = 1000;
