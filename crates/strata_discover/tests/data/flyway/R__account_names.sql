create or replace view account_names as select id, name from accounts;
