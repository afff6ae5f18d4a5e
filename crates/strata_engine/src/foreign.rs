//! `keep_foreign_history`: while a team moves to strata, every migration
//! strata applies or reverts also updates the history table of the tool
//! the source came from, in the same transaction, so that tool still sees
//! the truth and can be used alongside.

use crate::adopt::Tool;
use sha2::{Digest, Sha256, Sha384};
use strata_driver::ForeignWrite;
use strata_model::{Timestamp, Version, hex};
use strata_plan::{Step, StepAction};

/// The tools whose tables strata can keep up to date. Flyway is not among
/// them: it checks a CRC32 of every script it recorded.
pub fn supported(format: &str) -> bool {
    Tool::parse(format).is_some_and(|t| t != Tool::Flyway)
}

fn write(sql: &str, params: Vec<Option<String>>) -> ForeignWrite {
    ForeignWrite {
        sql: sql.to_string(),
        params,
    }
}

/// The statements that record `step` in `tool`'s table. `text` is the
/// migration file as the tool hashes it; `current` the version a
/// golang-migrate table should hold afterwards (it keeps one row).
pub fn writes(
    tool: Tool,
    step: &Step,
    sqlite: bool,
    current: Option<&Version>,
) -> Vec<ForeignWrite> {
    let applying = step.action == StepAction::Apply;
    let version = step.id.version.to_string();
    let text = step
        .script
        .as_ref()
        .map(|b| b.sql.as_str())
        .unwrap_or_default();
    let v = || Some(version.clone());
    match tool {
        Tool::Supabase if applying => vec![write(
            "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ($1, $2)",
            vec![v(), Some(step.name.clone())],
        )],
        Tool::Supabase => vec![write(
            "DELETE FROM supabase_migrations.schema_migrations WHERE version = $1",
            vec![v()],
        )],
        Tool::Prisma if applying => {
            let checksum = hex(&Sha256::digest(text.as_bytes()));
            let seed = hex(&Sha256::digest(
                format!("{}{}", step.id, Timestamp::now().unix_millis()).as_bytes(),
            ));
            let id = format!(
                "{}-{}-4{}-8{}-{}",
                &seed[..8],
                &seed[8..12],
                &seed[13..16],
                &seed[17..20],
                &seed[20..32]
            );
            vec![write(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, CURRENT_TIMESTAMP, $3, CURRENT_TIMESTAMP, 1)",
                vec![
                    Some(id),
                    Some(checksum),
                    Some(format!("{version}_{}", step.name)),
                ],
            )]
        }
        Tool::Prisma => vec![write(
            "UPDATE _prisma_migrations SET rolled_back_at = CURRENT_TIMESTAMP WHERE migration_name = $1 AND rolled_back_at IS NULL",
            vec![Some(format!("{version}_{}", step.name))],
        )],
        Tool::Drizzle => {
            let table = if sqlite {
                "__drizzle_migrations"
            } else {
                "drizzle.__drizzle_migrations"
            };
            let hash = Some(hex(&Sha256::digest(text.as_bytes())));
            if applying {
                vec![write(
                    &format!(
                        "INSERT INTO {table} (hash, created_at) VALUES ($1, CAST($2 AS BIGINT))"
                    ),
                    vec![hash, Some(Timestamp::now().unix_millis().to_string())],
                )]
            } else {
                vec![write(
                    &format!("DELETE FROM {table} WHERE hash = $1"),
                    vec![hash],
                )]
            }
        }
        Tool::Sqlx if applying => {
            let checksum = Some(hex(&Sha384::digest(text.as_bytes())));
            let decode = if sqlite {
                "unhex($3)"
            } else {
                "decode($3, 'hex')"
            };
            vec![write(
                &format!(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (CAST($1 AS BIGINT), $2, TRUE, {decode}, 0)"
                ),
                vec![v(), Some(step.name.replace('_', " ")), checksum],
            )]
        }
        Tool::Sqlx => vec![write(
            "DELETE FROM _sqlx_migrations WHERE version = CAST($1 AS BIGINT)",
            vec![v()],
        )],
        Tool::GolangMigrate => {
            let mut w = vec![write("DELETE FROM schema_migrations", Vec::new())];
            if let Some(current) = current {
                w.push(write(
                    "INSERT INTO schema_migrations (version, dirty) VALUES (CAST($1 AS BIGINT), FALSE)",
                    vec![Some(current.canonical())],
                ));
            }
            w
        }
        Tool::Dbmate if applying => vec![write(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            vec![v()],
        )],
        Tool::Dbmate => vec![write(
            "DELETE FROM schema_migrations WHERE version = $1",
            vec![v()],
        )],
        Tool::Goose => vec![write(
            &format!(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (CAST($1 AS BIGINT), {})",
                if applying { "TRUE" } else { "FALSE" }
            ),
            vec![Some(step.id.version.canonical())],
        )],
        Tool::Diesel => {
            let digits: String = version.chars().filter(char::is_ascii_digit).collect();
            if applying {
                vec![write(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)",
                    vec![Some(digits)],
                )]
            } else {
                vec![write(
                    "DELETE FROM __diesel_schema_migrations WHERE version = $1",
                    vec![Some(digits)],
                )]
            }
        }
        Tool::Flyway => Vec::new(),
    }
}
