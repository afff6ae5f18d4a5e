create table posts (id serial primary key, title text not null);
