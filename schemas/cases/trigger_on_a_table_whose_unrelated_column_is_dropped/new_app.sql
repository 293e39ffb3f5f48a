INSERT INTO accounts (id, email) VALUES (1001, 'a@b.c'); UPDATE accounts SET email = 'x@y.z' WHERE id = 1001;
