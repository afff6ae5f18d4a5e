CREATE TABLE IF NOT EXISTS "dthings" (
	"id" serial PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "ditems" (
	"id" serial PRIMARY KEY NOT NULL,
	"thing_id" integer
);
