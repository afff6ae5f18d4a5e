create index concurrently posts_title on posts (title);
