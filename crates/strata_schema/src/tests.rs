use crate::*;
use sha2::Digest;

fn name(schema: &str, name: &str, sql: &str) -> Name {
    Name {
        schema: Some(schema.into()),
        name: name.into(),
        sql: sql.into(),
    }
}

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        sql_name: name.into(),
        data_type: data_type.into(),
        collation: None,
        not_null: false,
        default: None,
        identity: None,
        generated: None,
        comment: None,
    }
}

fn table(n: &str, columns: Vec<Column>, constraints: Vec<Constraint>) -> Table {
    Table {
        name: name("public", n, n),
        unlogged: false,
        partition_by: None,
        partition_of: None,
        columns,
        constraints,
        indexes: Vec::new(),
        row_security: false,
        force_row_security: false,
        policies: Vec::new(),
        triggers: Vec::new(),
        comment: None,
    }
}

fn constraint(name: &str, kind: ConstraintKind, definition: &str) -> Constraint {
    Constraint {
        name: name.into(),
        sql_name: name.into(),
        kind,
        definition: definition.into(),
    }
}

fn sample() -> Schema {
    let mut orders = table(
        "orders",
        vec![
            Column {
                identity: Some("ALWAYS".into()),
                not_null: true,
                ..column("id", "bigint")
            },
            Column {
                not_null: true,
                ..column("customer_id", "bigint")
            },
            Column {
                default: Some("'new'::status".into()),
                comment: Some("where the order is; it's an enum".into()),
                ..column("state", "status")
            },
        ],
        vec![
            constraint(
                "orders_customer_id_fkey",
                ConstraintKind::ForeignKey,
                "FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE",
            ),
            constraint(
                "orders_pkey",
                ConstraintKind::PrimaryKey,
                "PRIMARY KEY (id)",
            ),
        ],
    );
    orders.indexes.push(Index {
        name: "orders_state".into(),
        definition: "CREATE INDEX orders_state ON public.orders USING btree (state)".into(),
    });
    orders.row_security = true;
    let customers = table(
        "customers",
        vec![
            Column {
                default: Some("nextval('customers_id_seq'::regclass)".into()),
                not_null: true,
                ..column("id", "integer")
            },
            Column {
                collation: Some("\"C\"".into()),
                ..column("email", "text")
            },
        ],
        vec![
            constraint(
                "customers_pkey",
                ConstraintKind::PrimaryKey,
                "PRIMARY KEY (id)",
            ),
            constraint(
                "customers_email_check",
                ConstraintKind::Check,
                "CHECK ((email ~~ '%@%'::text))",
            ),
        ],
    );
    let mut schema = Schema {
        schemas: vec![name("sales", "sales", "sales")],
        enums: vec![Enum {
            name: name("public", "status", "status"),
            labels: vec!["new".into(), "shipped".into(), "it's done".into()],
        }],
        sequences: vec![Sequence {
            name: name("public", "customers_id_seq", "customers_id_seq"),
            data_type: "integer".into(),
            start: 1,
            increment: 1,
            min: 1,
            max: 2147483647,
            cache: 1,
            cycle: false,
            owned_by: Some("customers.id".into()),
        }],
        tables: vec![orders, customers],
        views: vec![View {
            name: name("public", "open_orders", "open_orders"),
            materialized: false,
            query: " SELECT id\n   FROM orders\n  WHERE state = 'new'::status;".into(),
            options: Vec::new(),
            indexes: Vec::new(),
        }],
        ..Schema::default()
    };
    schema.sort();
    schema
}

#[test]
fn dumps_in_an_order_that_applies_to_an_empty_database() {
    insta::assert_snapshot!(dump(&sample()));
}

#[test]
fn the_same_schema_built_in_another_order_dumps_the_same() {
    let a = sample();
    let mut b = sample();
    b.tables.reverse();
    for t in &mut b.tables {
        t.constraints.reverse();
    }
    b.sort();
    assert_eq!(dump(&a), dump(&b));
    assert_eq!(a.fingerprint(), b.fingerprint());
    // The hash of the dump, taken object by object.
    let whole: String = sha2::Sha256::digest(dump(&a).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(a.fingerprint(), whole);
    let mut c = sample();
    c.tables[0].columns[0].not_null = false;
    assert_ne!(a.fingerprint(), c.fingerprint());
}

#[test]
fn partitions_come_after_their_parent() {
    let mut parent = table("events", vec![column("at", "date")], Vec::new());
    parent.partition_by = Some("RANGE (at)".into());
    let mut part = table("a_events_2024", Vec::new(), Vec::new());
    part.partition_of = Some((
        "events".into(),
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')".into(),
    ));
    let mut schema = Schema {
        tables: vec![part, parent],
        ..Schema::default()
    };
    schema.sort();
    let text = dump(&schema);
    assert!(
        text.find("CREATE TABLE events").unwrap() < text.find("PARTITION OF events").unwrap(),
        "{text}"
    );
}

#[test]
fn diff_names_each_object_and_what_changed_in_a_table() {
    let a = sample();
    assert!(diff(&a, &a).is_empty());
    let mut b = sample();
    // customers: email becomes varchar and NOT NULL, a column is added,
    // the check is dropped; orders loses its index; a view is added.
    let customers = b
        .tables
        .iter_mut()
        .find(|t| t.name.name == "customers")
        .unwrap();
    customers.columns[1].data_type = "character varying(100)".into();
    customers.columns[1].not_null = true;
    customers.columns.push(column("nickname", "text"));
    customers
        .constraints
        .retain(|c| c.kind != ConstraintKind::Check);
    b.tables
        .iter_mut()
        .find(|t| t.name.name == "orders")
        .unwrap()
        .indexes
        .clear();
    b.views.push(View {
        name: name("public", "all_orders", "all_orders"),
        materialized: false,
        query: "SELECT id FROM orders".into(),
        options: Vec::new(),
        indexes: Vec::new(),
    });
    let found: Vec<String> = diff(&a, &b)
        .iter()
        .map(|d| {
            format!(
                "{:?} {} {}: {}",
                d.change,
                d.kind,
                d.name,
                d.details.join("; ")
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "Removed index orders.orders_state: ",
            "Changed table customers: column email: type text -> character varying(100); column email: not null false -> true; column nickname added; constraint customers_email_check removed",
            "Added view all_orders: ",
        ]
    );
    let back = diff(&b, &a);
    assert_eq!(back.len(), 3);
    assert_eq!(back[0].change, Change::Removed);
    assert_eq!(back[0].kind, "view");
}

#[test]
fn a_changed_enum_says_which_values() {
    let a = sample();
    let mut b = sample();
    b.enums[0].labels = vec!["new".into(), "paid".into(), "shipped".into()];
    let found: Vec<Difference> = diff(&a, &b);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].details,
        vec!["value 'it's done' removed", "value 'paid' added"]
    );
    // The SQL to get there recreates the type (a value goes) and converts
    // the columns that use it.
    let script = migration(&a, &b, strata_sql::Dialect::Postgres).script();
    assert!(
        script.contains("ALTER TYPE status RENAME TO \"status__strata_old\";"),
        "{script}"
    );
    assert!(script.contains("USING state::text::status;"), "{script}");
}
