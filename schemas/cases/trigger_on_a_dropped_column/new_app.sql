INSERT INTO profiles (id, bio) VALUES (1001, 'b'); UPDATE profiles SET bio = 'c' WHERE id = 1001;
