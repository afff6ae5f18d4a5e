//! The history statements ([`HistorySql`]) on a PostgreSQL session: on a
//! session that stays ours (the advisory-lock mode) they are prepared once,
//! which saves the server planning them for every migration; in lease mode,
//! where a transaction-mode pooler may hand each transaction to another
//! server session, they go as unnamed statements with their types.

use futures_util::future::{BoxFuture, FutureExt};
use strata_driver::history::{HistorySql, Param, delete_params, log_params, upsert_params};
use strata_driver::{HistoryWrite, Result};
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

/// The history statements, prepared once the session is known to be ours.
pub(crate) struct Writes {
    pub sql: std::sync::Arc<HistorySql>,
    /// `upsert`, `delete`, `log`, prepared.
    prepared: Option<[tokio_postgres::Statement; 3]>,
}

/// Which statement of [`Writes`] a value list is for.
#[derive(Clone, Copy)]
enum Which {
    Upsert = 0,
    Delete = 1,
    Log = 2,
}

impl Writes {
    pub fn new(sql: HistorySql) -> Self {
        Writes {
            sql: std::sync::Arc::new(sql),
            prepared: None,
        }
    }

    pub fn is_prepared(&self) -> bool {
        self.prepared.is_some()
    }

    pub async fn prepare(&mut self, client: &Client) -> Result<()> {
        let (u, d, l) = tokio::try_join!(
            client.prepare(&self.sql.upsert),
            client.prepare(&self.sql.delete),
            client.prepare(&self.sql.log)
        )
        .map_err(crate::db_err)?;
        self.prepared = Some([u, d, l]);
        Ok(())
    }

    fn text(&self, which: Which) -> &str {
        match which {
            Which::Upsert => &self.sql.upsert,
            Which::Delete => &self.sql.delete,
            Which::Log => &self.sql.log,
        }
    }
}

/// A value, owned, with the type PostgreSQL is told.
type Owned = (Box<dyn ToSql + Sync + Send>, Type);

pub(crate) fn owned(params: Vec<Param>) -> Vec<Owned> {
    params
        .into_iter()
        .map(|p| -> Owned {
            match p {
                Param::Text(t) => (Box::new(t), Type::TEXT),
                Param::Int(n) => (Box::new(n), Type::INT8),
                Param::Bool(b) => (Box::new(b), Type::BOOL),
                Param::Time(t) => (Box::new(t.map(|t| t.unix_millis())), Type::INT8),
            }
        })
        .collect()
}

/// The values of one history write, owned so that the futures writing it
/// can borrow them while pipelined with others.
pub(crate) struct Bound {
    statements: Vec<(Which, Vec<Owned>)>,
    /// Another tool's history rows: every value text.
    foreign: Vec<(String, Vec<Owned>)>,
}

impl Bound {
    pub fn new(w: &HistoryWrite) -> Bound {
        let mut statements = Vec::new();
        if let Some(r) = &w.upsert {
            statements.push((Which::Upsert, owned(upsert_params(r))));
        }
        if let Some(id) = &w.delete {
            statements.push((Which::Delete, owned(delete_params(id))));
        }
        statements.push((Which::Log, owned(log_params(&w.log))));
        let foreign = w
            .foreign
            .iter()
            .map(|f| {
                let values = f.params.iter().cloned().map(Param::Text).collect();
                (f.sql.clone(), owned(values))
            })
            .collect();
        Bound {
            statements,
            foreign,
        }
    }

    /// The futures that write it, to be pipelined with others.
    pub fn ops<'a>(
        &'a self,
        client: &'a Client,
        writes: &'a Writes,
    ) -> Vec<BoxFuture<'a, std::result::Result<(), tokio_postgres::Error>>> {
        let mut ops = Vec::new();
        for (which, values) in &self.statements {
            let op = match &writes.prepared {
                Some(p) => client
                    .execute_raw(
                        &p[*which as usize],
                        values.iter().map(|(v, _)| as_sql(v.as_ref())),
                    )
                    .boxed(),
                None => execute(client, writes.text(*which), values).boxed(),
            };
            ops.push(op.map(|r| r.map(drop)).boxed());
        }
        for (sql, values) in &self.foreign {
            ops.push(execute(client, sql, values).map(|r| r.map(drop)).boxed());
        }
        ops
    }
}

fn as_sql(v: &(dyn ToSql + Sync + Send)) -> &(dyn ToSql + Sync) {
    v
}

pub(crate) async fn execute(
    client: &Client,
    sql: &str,
    values: &[Owned],
) -> std::result::Result<u64, tokio_postgres::Error> {
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = values
        .iter()
        .map(|(v, t)| (as_sql(v.as_ref()), t.clone()))
        .collect();
    client.execute_typed(sql, &typed).await
}
