create table g10 (id int);
