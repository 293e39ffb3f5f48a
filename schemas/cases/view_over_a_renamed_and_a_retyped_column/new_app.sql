INSERT INTO accounts (display_name, score) VALUES ('new', 2);
SELECT id, name, score FROM account_scores;
