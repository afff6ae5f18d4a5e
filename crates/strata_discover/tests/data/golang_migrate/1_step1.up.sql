create table g1 (id int);
