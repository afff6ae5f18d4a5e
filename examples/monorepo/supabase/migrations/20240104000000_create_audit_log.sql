create table audit_log (
  id bigint generated always as identity primary key,
  actor uuid references profiles(id),
  action text not null,
  at timestamptz not null default now()
);
create index audit_log_at on audit_log (at);
