BEGIN; UPDATE seats SET position = position + 1000000; COMMIT; SELECT id FROM seats WHERE position > 0 LIMIT 1;
