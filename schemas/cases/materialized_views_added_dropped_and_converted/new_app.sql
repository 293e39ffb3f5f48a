SELECT name FROM active_users; SELECT user_name FROM inactive_users; SELECT name FROM names WHERE id = 1;
