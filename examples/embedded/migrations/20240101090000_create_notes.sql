-- strata:up
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);

-- strata:down
DROP TABLE notes;
