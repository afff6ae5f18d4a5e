create table invites (
  id uuid primary key default gen_random_uuid(),
  team_id uuid not null references teams(id) on delete cascade,
  email text not null,
  expires_at timestamptz not null default now() + interval '7 days'
);
