INSERT INTO measurement (city_id, logdate, peaktemp) VALUES (1, '2006-03-05', 20), (2, '2006-02-05', 10);
