drop table g2;
