-- not a migration
select 1;
