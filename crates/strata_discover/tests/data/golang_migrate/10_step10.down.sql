drop table g10;
