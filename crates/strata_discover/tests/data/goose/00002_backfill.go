package migrations

func init() { goose.AddMigration(upBackfill, downBackfill) }
