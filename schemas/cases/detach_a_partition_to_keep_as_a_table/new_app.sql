INSERT INTO measurement (city_id, logdate, peaktemp, extra) VALUES (3, '2006-02-06', 11, 'x');
