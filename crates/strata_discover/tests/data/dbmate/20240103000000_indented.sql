  -- migrate:up
insert into things values (1, 'x');
  -- migrate:down
delete from things;
