SELECT name FROM active_users; SELECT n FROM user_count; SELECT name FROM names WHERE id = 1;
