BEGIN; UPDATE seats SET id = id + 1000000; UPDATE seats SET id = id - 1000000; COMMIT;
