create table g9 (id int);
