INSERT INTO measurement (logdate, peaktemp) VALUES ('2006-02-03', 5), ('2007-01-01', 7);
UPDATE measurement SET peaktemp = peaktemp + 1 WHERE logdate = '2006-02-03';
DELETE FROM measurement WHERE logdate = '2007-01-01';
INSERT INTO event (id, at, body) VALUES (1000, '2006-05-01', 'x'), (1001, '2010-05-01', 'y');
UPDATE event SET at = '2011-01-01' WHERE id = 1000;
SELECT count(*) FROM recent_measurement;
INSERT INTO event (at, body) VALUES ('2006-06-06', 'z');
INSERT INTO measurement (logdate, peaktemp) VALUES ('2006-02-09', 500);
SELECT 1 / (peaktemp = 100)::int FROM measurement WHERE logdate = '2006-02-09';
