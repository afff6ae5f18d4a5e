create or replace function diesel_manage_updated_at(_tbl regclass) returns void as $$
begin
  execute format('select 1; select 2');
end;
$$ language plpgsql;
