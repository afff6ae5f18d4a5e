-- +goose Up
create table gusers (id int);

-- +goose StatementBegin
create function gf() returns int language plpgsql as $$
begin
  return 1;
end;
$$;
-- +goose StatementEnd

-- +goose Down
drop function gf();
drop table gusers;
