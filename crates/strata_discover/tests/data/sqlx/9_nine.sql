alter table users add column nine int;
