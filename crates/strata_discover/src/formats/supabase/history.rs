//! `supabase_migrations.schema_migrations`: one row per applied version.

use crate::formats::{Change, ForeignWrite, Recorded, ToolHistory};
use strata_model::Migration;
use strata_sql::Dialect;

pub(crate) struct SupabaseHistory;

impl ToolHistory for SupabaseHistory {
    fn table(&self) -> &'static str {
        "schema_migrations"
    }

    fn own_schema(&self) -> Option<&'static str> {
        Some("supabase_migrations")
    }

    fn query(&self, _: Dialect) -> String {
        "SELECT version FROM supabase_migrations.schema_migrations".into()
    }

    fn read(&self, rows: &[Vec<Option<String>>], _: &[Migration], _: &str) -> Recorded {
        Recorded::versions(rows)
    }

    fn record(&self, change: &Change<'_>) -> Vec<ForeignWrite> {
        let mut writes = ForeignWrite::create(&[
            "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
            "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text)",
        ]);
        let version = Some(change.id.version.to_string());
        writes.push(if change.applying {
            ForeignWrite::new(
                "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)",
                vec![version, Some(change.name.to_string())],
            )
        } else {
            ForeignWrite::new(
                "DELETE FROM supabase_migrations.schema_migrations WHERE version = $1",
                vec![version],
            )
        });
        writes
    }
}
