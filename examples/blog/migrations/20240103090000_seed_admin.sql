-- strata:up
INSERT INTO users (email) VALUES ('admin@example.com');
-- A semicolon inside a string does not end the statement; this trigger's body holds two.
CREATE TRIGGER users_stamp AFTER INSERT ON users
BEGIN
    UPDATE users SET created_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
    SELECT 'still; one statement';
END;

-- strata:down
DROP TRIGGER users_stamp;
DELETE FROM users WHERE email = 'admin@example.com';
