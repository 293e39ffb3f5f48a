INSERT INTO users (email) VALUES ('old@x.y');
SELECT email FROM emails;
SELECT domain FROM domains;
