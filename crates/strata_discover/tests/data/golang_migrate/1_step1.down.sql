drop table g1;
