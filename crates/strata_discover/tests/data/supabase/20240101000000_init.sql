create table profiles (id uuid primary key, bio text default 'a;b');
create function touch() returns trigger language plpgsql as $$
begin
  new.bio := coalesce(new.bio, ''); return new;
end;
$$;
