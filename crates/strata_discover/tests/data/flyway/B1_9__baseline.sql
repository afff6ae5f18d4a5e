-- what V1 to V1_9 built, for an empty database
create table accounts (id int primary key, email text, name text);
