//! Reads a PostgreSQL database's schema into [`strata_schema::Schema`]:
//! one catalog query per kind of object (never one per table), in one
//! read-only snapshot, with names and definitions as the server prints
//! them for the search path `public`.

use crate::PgDriver;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use strata_driver::{Cells, DriverError, Result, Session, cell as col, cell_text as text};
use strata_schema::{
    Column, Composite, Constraint, ConstraintKind, Definition, Domain, Enum, Extension, Function,
    Grant, Index, Name, Policy, Schema, Sequence, Table, View,
};

/// Namespaces of the user's objects: not the system's, not an
/// extension's.
const USER_NAMESPACE: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_%'";

/// `alias` (a pg_class row) is not an extension's member.
fn not_extension_member(alias: &str, catalog: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend member WHERE member.classid = '{catalog}'::regclass \
         AND member.objid = {alias}.oid AND member.deptype = 'e')"
    )
}

/// Reads the schema; tables named in `skip` (strata's own, other tools'
/// history) are left out, with what belongs to them.
pub(crate) async fn read(driver: &mut PgDriver<'_>, skip: &[String]) -> Result<Schema> {
    driver
        .batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = public")
        .await?;
    let read = read_in_snapshot(driver, skip).await;
    let end = driver.batch("COMMIT").await;
    let schema = read?;
    end?;
    Ok(schema)
}

fn flag<R: Cells + ?Sized>(row: &R, i: usize) -> bool {
    col(row, i).as_deref() == Some("t")
}

fn int<R: Cells + ?Sized>(row: &R, i: usize) -> Result<i64> {
    text(row, i).parse().map_err(|_| {
        DriverError::Database(format!("catalog value `{}` is not a number", text(row, i)))
    })
}

/// (schema, name, the name as SQL) in columns `i`, `i + 1`, `i + 2`.
fn name<R: Cells + ?Sized>(row: &R, i: usize) -> Name {
    Name {
        schema: col(row, i),
        name: text(row, i + 1),
        sql: text(row, i + 2),
    }
}

async fn read_in_snapshot(driver: &mut PgDriver<'_>, skip: &[String]) -> Result<Schema> {
    let skipped = |relname: &str| skip.iter().any(|s| s == relname);
    let mut schema = Schema::default();

    for r in &driver
        .text_rows(&format!(
            "SELECT NULL, n.nspname, quote_ident(n.nspname) FROM pg_namespace n \
             WHERE {USER_NAMESPACE} AND n.nspname <> 'public' AND {}",
            not_extension_member("n", "pg_namespace")
        ))
        .await?
    {
        schema.schemas.push(name(&r, 0));
    }

    for r in &driver
        .text_rows(
            "SELECT x.extname, n.nspname, \
         format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I;', x.extname, n.nspname) \
         FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace \
         WHERE x.extname <> 'plpgsql'",
        )
        .await?
    {
        schema.extensions.push(Extension {
            name: text(&r, 0),
            schema: text(&r, 1),
            sql: text(&r, 2),
        });
    }

    let mut enums: BTreeMap<String, Enum> = BTreeMap::new();
    for r in &driver
        .text_rows(&format!(
            "SELECT n.nspname, t.typname, t.oid::regtype::text, l.enumlabel \
             FROM pg_enum l JOIN pg_type t ON t.oid = l.enumtypid \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE {USER_NAMESPACE} AND {} ORDER BY t.oid, l.enumsortorder",
            not_extension_member("t", "pg_type")
        ))
        .await?
    {
        enums
            .entry(text(&r, 2))
            .or_insert_with(|| Enum {
                name: name(&r, 0),
                labels: Vec::new(),
            })
            .labels
            .push(text(&r, 3));
    }
    schema.enums = enums.into_values().collect();

    for r in &driver
        .text_rows(&format!(
            "SELECT n.nspname, c.relname, c.oid::regclass::text, format_type(s.seqtypid, NULL), \
             s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
             o.refobjid::regclass::text || '.' || quote_ident(a.attname), t.relname \
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = c.oid \
                  AND o.refclassid = 'pg_class'::regclass AND o.deptype = 'a' \
             LEFT JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid \
             LEFT JOIN pg_class t ON t.oid = o.refobjid \
             WHERE {USER_NAMESPACE} AND {} AND NOT EXISTS (SELECT 1 FROM pg_depend i \
                  WHERE i.classid = 'pg_class'::regclass AND i.objid = c.oid AND i.deptype = 'i')",
            not_extension_member("c", "pg_class")
        ))
        .await?
    {
        if col(&r, 11).is_some_and(|owner| skipped(&owner)) {
            continue;
        }
        schema.sequences.push(Sequence {
            name: name(&r, 0),
            data_type: text(&r, 3),
            start: int(&r, 4)?,
            increment: int(&r, 5)?,
            min: int(&r, 6)?,
            max: int(&r, 7)?,
            cache: int(&r, 8)?,
            cycle: flag(&r, 9),
            owned_by: col(&r, 10),
        });
    }

    // Tables by oid, then their columns, constraints and indexes.
    let mut tables: HashMap<String, Table> = HashMap::new();
    for r in &driver
        .text_rows(&format!(
            "SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text, c.relpersistence = 'u', \
             CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, \
             CASE WHEN c.relispartition THEN (SELECT i.inhparent::regclass::text \
                  FROM pg_inherits i WHERE i.inhrelid = c.oid) END, \
             CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, \
             c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND {USER_NAMESPACE} AND {}",
            not_extension_member("c", "pg_class")
        ))
        .await?
    {
        if skipped(&text(&r, 2)) {
            continue;
        }
        tables.insert(
            text(&r, 0),
            Table {
                name: name(&r, 1),
                unlogged: flag(&r, 4),
                partition_by: col(&r, 5),
                partition_of: col(&r, 6).zip(col(&r, 7)),
                columns: Vec::new(),
                constraints: Vec::new(),
                indexes: Vec::new(),
                row_security: flag(&r, 8),
                force_row_security: flag(&r, 9),
                policies: Vec::new(),
                triggers: Vec::new(),
                comment: col(&r, 10),
            },
        );
    }

    for r in &driver
        .text_rows(&format!(
            "SELECT a.attrelid, a.attname, quote_ident(a.attname), \
         format_type(a.atttypid, a.atttypmod), \
         CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END, \
         a.attnotnull, CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, \
         CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END, \
         CASE a.attgenerated WHEN 's' THEN '(' || pg_get_expr(d.adbin, d.adrelid) || ') STORED' \
              WHEN 'v' THEN '(' || pg_get_expr(d.adbin, d.adrelid) || ') VIRTUAL' END, \
         col_description(a.attrelid, a.attnum), a.attislocal \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') \
              AND {USER_NAMESPACE} ORDER BY a.attrelid, a.attnum"
        ))
        .await?
    {
        let Some(table) = tables.get_mut(&text(&r, 0)) else {
            continue;
        };
        // A partition's columns are its parent's.
        if table.partition_of.is_some() && !flag(&r, 10) {
            continue;
        }
        table.columns.push(Column {
            name: text(&r, 1),
            sql_name: text(&r, 2),
            data_type: text(&r, 3),
            collation: col(&r, 4),
            not_null: flag(&r, 5),
            default: col(&r, 6),
            identity: col(&r, 7),
            generated: col(&r, 8),
            comment: col(&r, 9),
        });
    }

    for r in &driver
        .text_rows(
            "SELECT co.conrelid, co.conname, quote_ident(co.conname), co.contype, \
         pg_get_constraintdef(co.oid) FROM pg_constraint co \
         WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND co.conislocal AND co.conrelid <> 0",
        )
        .await?
    {
        let Some(table) = tables.get_mut(&text(&r, 0)) else {
            continue;
        };
        let kind = match text(&r, 3).as_str() {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "f" => ConstraintKind::ForeignKey,
            "c" => ConstraintKind::Check,
            _ => ConstraintKind::Exclusion,
        };
        table.constraints.push(Constraint {
            name: text(&r, 1),
            sql_name: text(&r, 2),
            kind,
            definition: text(&r, 4),
        });
    }

    let mut view_indexes: HashMap<String, Vec<Index>> = HashMap::new();
    for r in &driver
        .text_rows(&format!(
            "SELECT x.indrelid, i.relname, pg_get_indexdef(x.indexrelid) \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = i.relnamespace \
             WHERE NOT i.relispartition AND {USER_NAMESPACE} AND NOT EXISTS (SELECT 1 \
                  FROM pg_constraint co WHERE co.conindid = x.indexrelid \
                  AND co.conrelid = x.indrelid AND co.contype IN ('p', 'u', 'x'))"
        ))
        .await?
    {
        let index = Index {
            name: text(&r, 1),
            definition: text(&r, 2),
        };
        match tables.get_mut(&text(&r, 0)) {
            Some(table) => table.indexes.push(index),
            // A materialized view's, kept for it below.
            None => view_indexes.entry(text(&r, 0)).or_default().push(index),
        }
    }
    read_table_parts(driver, &mut tables).await?;
    schema.tables = tables.into_values().collect();
    read_types(driver, &mut schema).await?;
    read_routines(driver, &mut schema, &skipped).await?;

    // Views, each after the views it reads.
    let mut views: BTreeMap<String, View> = BTreeMap::new();
    let mut named: HashMap<String, String> = HashMap::new();
    for r in &driver
        .text_rows(&format!(
            "SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text, c.relkind = 'm', \
             pg_get_viewdef(c.oid, true), array_to_string(c.reloptions, chr(31)) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {USER_NAMESPACE} AND {}",
            not_extension_member("c", "pg_class")
        ))
        .await?
    {
        named.insert(text(&r, 0), text(&r, 3));
        views.insert(
            text(&r, 3),
            View {
                name: name(&r, 1),
                materialized: flag(&r, 4),
                query: text(&r, 5),
                options: text(&r, 6)
                    .split('\u{1f}')
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect(),
                indexes: view_indexes.remove(&text(&r, 0)).unwrap_or_default(),
            },
        );
    }
    let mut reads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &driver
        .text_rows(
            "SELECT DISTINCT w.ev_class, d.refobjid FROM pg_rewrite w \
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid \
              AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> w.ev_class",
        )
        .await?
    {
        if let (Some(view), Some(read)) = (named.get(&text(&r, 0)), named.get(&text(&r, 1))) {
            reads.entry(view.clone()).or_default().insert(read.clone());
        }
    }
    schema.views = strata_schema::dependency_order(views, &reads);
    schema.sort();
    Ok(schema)
}

/// Policies and triggers of `tables` (by oid).
async fn read_table_parts(
    driver: &mut PgDriver<'_>,
    tables: &mut HashMap<String, Table>,
) -> Result<()> {
    for r in &driver
        .text_rows(
            "SELECT p.polrelid, p.polname, quote_ident(p.polname), p.polpermissive, \
         CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
         (SELECT string_agg(g, ', ' ORDER BY g) FROM (SELECT CASE WHEN o = 0 THEN 'PUBLIC' \
              ELSE quote_ident(pg_get_userbyid(o)) END AS g FROM unnest(p.polroles) o) roles), \
         pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) \
         FROM pg_policy p",
        )
        .await?
    {
        if let Some(table) = tables.get_mut(&text(&r, 0)) {
            table.policies.push(Policy {
                name: text(&r, 1),
                sql_name: text(&r, 2),
                permissive: flag(&r, 3),
                command: text(&r, 4),
                roles: text(&r, 5).split(", ").map(str::to_string).collect(),
                using: col(&r, 6),
                with_check: col(&r, 7),
            });
        }
    }
    for r in &driver
        .text_rows(
            "SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid, true) FROM pg_trigger t \
         WHERE NOT t.tgisinternal AND t.tgparentid = 0",
        )
        .await?
    {
        if let Some(table) = tables.get_mut(&text(&r, 0)) {
            table.triggers.push(Definition {
                name: text(&r, 1),
                sql: text(&r, 2),
            });
        }
    }
    Ok(())
}

/// Domains (with their checks) and composite types.
async fn read_types(driver: &mut PgDriver<'_>, schema: &mut Schema) -> Result<()> {
    let mut domains: HashMap<String, Domain> = HashMap::new();
    for r in &driver.text_rows(
        &format!(
            "SELECT t.oid, n.nspname, t.typname, t.oid::regtype::text, \
             format_type(t.typbasetype, t.typtypmod), \
             CASE WHEN t.typcollation <> b.typcollation THEN t.typcollation::regcollation::text END, \
             pg_get_expr(t.typdefaultbin, 0), t.typnotnull \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             JOIN pg_type b ON b.oid = t.typbasetype \
             WHERE t.typtype = 'd' AND {USER_NAMESPACE} AND {}",
            not_extension_member("t", "pg_type")
        ),
    )
    .await?
    {
        domains.insert(
            text(&r, 0),
            Domain {
                name: name(&r, 1),
                data_type: text(&r, 4),
                collation: col(&r, 5),
                default: col(&r, 6),
                not_null: flag(&r, 7),
                constraints: Vec::new(),
            },
        );
    }
    for r in &driver
        .text_rows(
            "SELECT co.contypid, co.conname, quote_ident(co.conname), pg_get_constraintdef(co.oid) \
         FROM pg_constraint co WHERE co.contypid <> 0 AND co.contype = 'c'",
        )
        .await?
    {
        if let Some(domain) = domains.get_mut(&text(&r, 0)) {
            domain.constraints.push(Constraint {
                name: text(&r, 1),
                sql_name: text(&r, 2),
                kind: ConstraintKind::Check,
                definition: text(&r, 3),
            });
        }
    }
    schema.domains = domains.into_values().collect();

    let mut composites: BTreeMap<String, Composite> = BTreeMap::new();
    for r in &driver
        .text_rows(&format!(
            "SELECT t.oid, n.nspname, t.typname, t.oid::regtype::text \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             JOIN pg_class c ON c.oid = t.typrelid \
             WHERE t.typtype = 'c' AND c.relkind = 'c' AND {USER_NAMESPACE} AND {}",
            not_extension_member("t", "pg_type")
        ))
        .await?
    {
        composites.insert(
            text(&r, 0),
            Composite {
                name: name(&r, 1),
                attributes: Vec::new(),
            },
        );
    }
    for r in &driver
        .text_rows(
            "SELECT c.reltype, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attrelid, a.attnum",
        )
        .await?
    {
        if let Some(composite) = composites.get_mut(&text(&r, 0)) {
            composite.attributes.push((text(&r, 1), text(&r, 2)));
        }
    }
    schema.composites = composites.into_values().collect();
    Ok(())
}

/// Functions and procedures, event triggers, grants and publications.
async fn read_routines(
    driver: &mut PgDriver<'_>,
    schema: &mut Schema,
    skipped: &(dyn Fn(&str) -> bool + Sync),
) -> Result<()> {
    for r in &driver
        .text_rows(&format!(
            "SELECT n.nspname, p.proname, p.oid::regprocedure::text, pg_get_functiondef(p.oid) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.prokind IN ('f', 'p', 'w') AND {USER_NAMESPACE} AND {}",
            not_extension_member("p", "pg_proc")
        ))
        .await?
    {
        schema.functions.push(Function {
            name: name(&r, 0),
            definition: text(&r, 3),
        });
    }

    for r in &driver.text_rows(
        &format!(
            "SELECT e.evtname, format('CREATE EVENT TRIGGER %I ON %I%s EXECUTE FUNCTION %s();', \
                  e.evtname, e.evtevent, \
                  CASE WHEN e.evttags IS NOT NULL THEN format(' WHEN TAG IN (%s)', \
                       (SELECT string_agg(quote_literal(g), ', ' ORDER BY g) FROM unnest(e.evttags) g)) \
                  ELSE '' END, e.evtfoid::regproc) \
             || CASE e.evtenabled WHEN 'D' THEN format(E'\\nALTER EVENT TRIGGER %I DISABLE;', e.evtname) \
                ELSE '' END \
             FROM pg_event_trigger e WHERE {}",
            not_extension_member("e", "pg_event_trigger")
        ),
    )
    .await?
    {
        schema.event_triggers.push(Definition {
            name: text(&r, 0),
            sql: text(&r, 1),
        });
    }

    let grantee =
        "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END";
    for r in &driver.text_rows(
        &format!(
            "SELECT kind || ' ' || obj, cols, grantee, string_agg(privilege, ', ' ORDER BY privilege), \
                  grantable, rel FROM ( \
             SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, \
                  c.oid::regclass::text AS obj, NULL::text AS cols, {grantee} AS grantee, \
                  a.privilege_type AS privilege, a.is_grantable AS grantable, c.relname AS rel \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {USER_NAMESPACE} \
                  AND a.grantee <> c.relowner AND {class} \
             UNION ALL \
             SELECT 'TABLE', c.oid::regclass::text, quote_ident(t.attname), {grantee}, \
                  a.privilege_type, a.is_grantable, c.relname \
             FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid \
                  JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(t.attacl) a \
             WHERE t.attacl IS NOT NULL AND {USER_NAMESPACE} AND a.grantee <> c.relowner \
             UNION ALL \
             SELECT 'SCHEMA', quote_ident(n.nspname), NULL, {grantee}, a.privilege_type, \
                  a.is_grantable, NULL \
             FROM pg_namespace n, aclexplode(n.nspacl) a \
             WHERE {USER_NAMESPACE} AND a.grantee <> n.nspowner AND {namespace} \
             UNION ALL \
             SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, \
                  p.oid::regprocedure::text, NULL, {grantee}, a.privilege_type, a.is_grantable, NULL \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a \
             WHERE {USER_NAMESPACE} AND a.grantee <> p.proowner AND {proc} \
             ) g GROUP BY kind, obj, cols, grantee, grantable, rel",
            class = not_extension_member("c", "pg_class"),
            namespace = not_extension_member("n", "pg_namespace"),
            proc = not_extension_member("p", "pg_proc"),
        ),
    )
    .await?
    {
        if col(&r, 5).is_some_and(|rel| skipped(&rel)) {
            continue;
        }
        schema.grants.push(Grant {
            on: text(&r, 0),
            columns: col(&r, 1),
            grantee: text(&r, 2),
            privileges: text(&r, 3),
            grantable: flag(&r, 4),
        });
    }

    for r in &driver.text_rows(
        "SELECT p.pubname, format('CREATE PUBLICATION %I%s WITH (publish = %L);', p.pubname, \
              CASE WHEN p.puballtables THEN ' FOR ALL TABLES' ELSE coalesce(' FOR TABLE ' || \
                   (SELECT string_agg(r.prrelid::regclass::text \
                        || coalesce(' WHERE (' || pg_get_expr(r.prqual, r.prrelid) || ')', ''), \
                        ', ' ORDER BY r.prrelid::regclass::text) \
                    FROM pg_publication_rel r WHERE r.prpubid = p.oid), '') END, \
              concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, \
                   CASE WHEN p.pubupdate THEN 'update' END, CASE WHEN p.pubdelete THEN 'delete' END, \
                   CASE WHEN p.pubtruncate THEN 'truncate' END)) \
         FROM pg_publication p",
    )
    .await?
    {
        schema.publications.push(Definition {
            name: text(&r, 0),
            sql: text(&r, 1),
        });
    }
    Ok(())
}
