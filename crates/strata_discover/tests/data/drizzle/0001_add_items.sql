ALTER TABLE "ditems" ADD COLUMN "name" text;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ditems_name" ON "ditems" ("name");
