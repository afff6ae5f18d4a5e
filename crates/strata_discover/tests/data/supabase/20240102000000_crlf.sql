-- written on Windows
create table notes (id int);
insert into notes values (1);
