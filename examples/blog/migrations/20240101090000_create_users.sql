-- strata:up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- strata:down
DROP TABLE users;

-- strata:verify
SELECT id, email FROM users LIMIT 0;
