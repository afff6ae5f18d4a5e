drop index concurrently g1_id;
