INSERT INTO profiles (id, bio, legacy_flag) VALUES (1000, 'b', true); UPDATE profiles SET bio = 'c', legacy_flag = false WHERE id = 1000;
