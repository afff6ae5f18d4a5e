//! Asking the catalog whether what a statement in doubt creates is there.

use crate::{PgDriver, db_err};
use strata_driver::{CatalogObject, Result};

impl PgDriver<'_> {
    /// Whether the catalog shows `object` ([`strata_driver::Driver::catalog_has`]).
    pub(crate) async fn lookup(&mut self, object: &CatalogObject<'_>) -> Result<Option<bool>> {
        use strata_sql::ObjectKind as K;
        let (sql, name, schema, extra) = match *object {
            CatalogObject::Object { kind, name } => {
                let sql = match kind {
                    K::Table | K::View | K::MaterializedView | K::Sequence => {
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Index => {
                        "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND x.indisvalid AND $3::text IS NULL"
                    }
                    K::Type => {
                        "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Function | K::Procedure => {
                        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND n.nspname = coalesce($2, current_schema()) AND $3::text IS NULL"
                    }
                    K::Schema => {
                        "SELECT count(*) FROM pg_namespace WHERE nspname = $1 AND $2::text IS NULL AND $3::text IS NULL"
                    }
                    K::Extension => {
                        "SELECT count(*) FROM pg_extension WHERE extname = $1 AND $2::text IS NULL AND $3::text IS NULL"
                    }
                    // Triggers and policies are named per table; the
                    // statement's table is not at hand here.
                    K::Trigger | K::Policy => return Ok(None),
                };
                (sql, name.key.clone(), name.schema_key(), None)
            }
            CatalogObject::Column { table, column } => (
                "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND a.attname = $3 AND NOT a.attisdropped",
                table.key.clone(),
                table.schema_key(),
                Some(column.key.clone()),
            ),
            CatalogObject::Constraint { table, name } => (
                "SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema()) AND k.conname = $3",
                table.key.clone(),
                table.schema_key(),
                Some(name.key.clone()),
            ),
        };
        let row = self
            .client
            .query_one(sql, &[&name, &schema, &extra])
            .await
            .map_err(db_err)?;
        let n: i64 = row.get(0);
        Ok(Some(n > 0))
    }
}
