-- no-transaction
create index concurrently users_id on users (id);
