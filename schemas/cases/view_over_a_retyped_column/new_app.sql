INSERT INTO players (name, score) VALUES ('new', 20);
SELECT name, score FROM leaderboard;
