use std::fmt;
use strata_sql::Dialect;

/// Quotes an SQL identifier with double quotes, doubling any inside. Every
/// identifier strata puts into SQL text goes through here; values never do,
/// they are passed as parameters.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// [`quote_ident`] in `dialect`: MySQL quotes identifiers with backquotes
/// (double quotes make a string there unless `ANSI_QUOTES` is on).
pub fn quote_ident_for(dialect: Dialect, ident: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
        Dialect::Postgres | Dialect::Sqlite => quote_ident(ident),
    }
}

/// A possibly schema-qualified table name from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub table: String,
}

/// What strata's own tables add to the history table's name: the history
/// itself, its log, the lock, the task runs, the schema fingerprint.
pub const OWN_SUFFIXES: [&str; 5] = ["", "_log", "_lock", "_task_runs", "_schema"];

impl TableName {
    /// Parses `table` or `schema.table`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid = |p: &str| {
            !p.is_empty()
                && p.len() <= 63
                && p.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        };
        let (schema, table) = match s.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, s),
        };
        if !valid(table) || schema.is_some_and(|s| !valid(s)) {
            return Err(format!(
                "`{s}` is not a table name: use letters, digits and underscores, optionally as schema.table"
            ));
        }
        Ok(TableName {
            schema: schema.map(str::to_string),
            table: table.to_string(),
        })
    }

    /// The same schema with `suffix` added to the table name.
    /// The names (unqualified) of strata's own tables beside this history
    /// table: it, its log, its lock and its task runs, which resetting a
    /// schema keeps.
    pub fn own_tables(&self) -> Vec<String> {
        OWN_SUFFIXES
            .iter()
            .map(|s| self.with_suffix(s).table)
            .collect()
    }

    pub fn with_suffix(&self, suffix: &str) -> Self {
        TableName {
            schema: self.schema.clone(),
            table: format!("{}{suffix}", self.table),
        }
    }

    pub fn quoted(&self) -> String {
        self.quoted_for(Dialect::Postgres)
    }

    pub fn quoted_for(&self, dialect: Dialect) -> String {
        let q = |i: &str| quote_ident_for(dialect, i);
        match &self.schema {
            Some(s) => format!("{}.{}", q(s), q(&self.table)),
            None => q(&self.table),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_parses() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        let t = TableName::parse("ops.strata_history").unwrap();
        assert_eq!(t.quoted(), "\"ops\".\"strata_history\"");
        assert_eq!(t.with_suffix("_log").to_string(), "ops.strata_history_log");
        assert_eq!(t.quoted_for(Dialect::Mysql), "`ops`.`strata_history`");
        assert_eq!(quote_ident_for(Dialect::Mysql, "a`b"), "`a``b`");
        assert!(TableName::parse("a;drop").is_err());
        assert!(TableName::parse("").is_err());
        assert!(TableName::parse("a.b.c").is_err());
    }
}
