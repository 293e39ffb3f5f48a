INSERT INTO accounts (name, score) VALUES ('old', 1);
SELECT id, name, score FROM account_scores;
