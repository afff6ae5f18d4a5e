alter table accounts add column created_at timestamptz default now();
