SELECT id FROM documents WHERE published; INSERT INTO notes (id) VALUES (100001); SELECT id FROM notes;
