INSERT INTO users (email, name, email_domain) VALUES ('new@x.y', 'New', 'x.y');
SELECT email_domain FROM users WHERE email_domain IS NOT NULL;
