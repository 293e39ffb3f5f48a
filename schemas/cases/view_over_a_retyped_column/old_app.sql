INSERT INTO players (name, score) VALUES ('old', 10);
SELECT name, score FROM leaderboard;
