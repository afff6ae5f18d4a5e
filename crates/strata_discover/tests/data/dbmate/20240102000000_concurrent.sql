-- migrate:up transaction:false
create index concurrently things_id on things (id);

-- migrate:down transaction:false
drop index concurrently things_id;
