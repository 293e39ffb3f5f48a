INSERT INTO items (id, qty, bonus, code, serial_no) VALUES (100, 4, 5, 9, 100); SELECT doubled, plus_one FROM items;
