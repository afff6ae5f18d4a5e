drop table g9;
