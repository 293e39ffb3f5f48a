UPDATE accounts SET score = -5 WHERE id = 1; SELECT score FROM account_scores WHERE id = 1;
