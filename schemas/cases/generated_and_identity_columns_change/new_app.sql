INSERT INTO items (id, qty, serial_no) VALUES (101, 2, 101); SELECT doubled, bonus, plus_one, code FROM items;
