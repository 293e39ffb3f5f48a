INSERT INTO measurement (logdate, peaktemp) VALUES ('2006-02-04', 3), ('2008-08-08', 9);
SELECT 1 / count(*)::int FROM measurement WHERE logdate >= '2006-02-04';
INSERT INTO event (at, body) VALUES ('2011-11-11', 'new');
UPDATE event SET body = 'seen' WHERE at = '2011-11-11';
