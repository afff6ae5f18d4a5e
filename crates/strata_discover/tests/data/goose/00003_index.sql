-- +goose NO TRANSACTION
-- +goose Up
create index concurrently gusers_id on gusers (id);
-- +goose Down
drop index concurrently gusers_id;
