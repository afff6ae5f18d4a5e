drop index concurrently posts_title;
