drop function if exists diesel_manage_updated_at(_tbl regclass);
