create table g2 (id int);
