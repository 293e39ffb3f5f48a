SELECT id, team FROM documents WHERE published; INSERT INTO audit (id, actor) VALUES (100001, current_user); SELECT id FROM notes;
