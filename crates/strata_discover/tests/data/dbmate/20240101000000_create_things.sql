-- migrate:up
create table things (id int, label text default '-- migrate:down');

-- migrate:down
drop table things;
