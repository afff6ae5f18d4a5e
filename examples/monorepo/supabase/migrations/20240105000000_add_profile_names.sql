alter table profiles add column display_name text;
update profiles set display_name = split_part(email, '@', 1) where display_name is null;
