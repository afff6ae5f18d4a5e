create index concurrently g1_id on g1 (id);
