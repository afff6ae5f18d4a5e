use super::*;
use strata_model::{Timestamp, Version};

fn mig(source: &str, version: &str, name: &str, up: &str, down: Option<&str>) -> Migration {
    let path = PathBuf::from(format!("{source}/{version}_{name}.sql"));
    let body = |sql: &str| Body {
        sql: sql.to_string().into(),
        line: 2,
        path: path.clone(),
    };
    Migration {
        id: MigrationId::new(source, Version::parse(version).unwrap()),
        name: name.to_string(),
        kind: MigrationKind::Versioned,
        path: path.clone(),
        up: body(up),
        down: down.map(body),
        verify: None,
        tx_mode: TxMode::Transaction,
        checksum: Checksum::of_body(up),
        unsupported: None,
        requires: Vec::new(),
        description: None,
    }
}

fn row(m: &Migration, status: HistoryStatus, batch: i64, at: i64) -> HistoryRow {
    HistoryRow {
        id: m.id.clone(),
        name: m.name.clone(),
        kind: m.kind,
        checksum: m.checksum.clone(),
        status,
        batch,
        started_at: Timestamp::from_unix_millis(at),
        finished_at: Some(Timestamp::from_unix_millis(at + 1)),
        duration_ms: Some(1),
        applied_by: "me@here".into(),
        strata_version: "0".into(),
        environment: None,
        error: None,
        down_sql: m.down.as_ref().map(|b| b.sql.to_string()),
        out_of_order: false,
        progress: None,
    }
}

fn three() -> Vec<Migration> {
    vec![
        mig("app", "1", "a", "create table a();", Some("drop table a;")),
        mig("app", "2", "b", "create table b();", Some("drop table b;")),
        mig("app", "10", "c", "create table c();", Some("drop table c;")),
    ]
}

fn ids(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| format!("{} {}", s.action.as_str(), s.id))
        .collect()
}

#[test]
fn up_applies_pending_in_version_order_and_stops_at_to() {
    let ms = three();
    let history = vec![row(&ms[0], HistoryStatus::Applied, 1, 0)];
    let plan = plan_up(&ms, &history, &UpOptions::default()).unwrap();
    assert_eq!(ids(&plan), vec!["apply app/2", "apply app/10"]);
    let opts = UpOptions {
        to: Some("2".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&plan_up(&ms, &history, &opts).unwrap()),
        vec!["apply app/2"]
    );
    let opts = UpOptions {
        to: Some("7".into()),
        ..Default::default()
    };
    assert!(matches!(
        plan_up(&ms, &history, &opts),
        Err(PlanError::UnknownTarget(_))
    ));
}

#[test]
fn nothing_pending_is_an_empty_plan() {
    let ms = three();
    let history: Vec<_> = ms
        .iter()
        .map(|m| row(m, HistoryStatus::Applied, 1, 0))
        .collect();
    assert!(
        plan_up(&ms, &history, &UpOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn failed_and_reverted_migrations_are_applied_again() {
    let ms = three();
    let history = vec![
        row(&ms[0], HistoryStatus::Reverted, 1, 0),
        row(&ms[1], HistoryStatus::Failed, 2, 10),
    ];
    let plan = plan_up(&ms, &history, &UpOptions::default()).unwrap();
    assert_eq!(
        ids(&plan),
        vec!["apply app/1", "apply app/2", "apply app/10"]
    );
    assert!(!plan.steps[0].retry);
    assert!(plan.steps[1].retry);
}

#[test]
fn drift_blocks_up_and_names_both_checksums_and_repair() {
    let ms = three();
    let mut r = row(&ms[0], HistoryStatus::Applied, 1, 0);
    r.checksum = Checksum::of_body("create table a(x int);");
    let err = plan_up(&ms, &[r.clone()], &UpOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("app/1"), "{text}");
    assert!(text.contains(r.checksum.short()), "{text}");
    assert!(text.contains(ms[0].checksum.short()), "{text}");
    assert!(text.contains("strata repair app/1"), "{text}");
    assert_eq!(status(&ms, &[r])[0].state, MigrationState::Drifted);
}

#[test]
fn missing_files_block_up_unless_ignored() {
    let ms = three();
    let gone = mig("app", "0", "old", "select 1;", None);
    let history = vec![row(&gone, HistoryStatus::Applied, 1, 0)];
    let err = plan_up(&ms, &history, &UpOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("app/0 (old) is recorded as applied but its file is gone")
    );
    let opts = UpOptions {
        ignore_missing: true,
        ..Default::default()
    };
    assert_eq!(plan_up(&ms, &history, &opts).unwrap().steps.len(), 3);
    let st = status(&ms, &history);
    assert_eq!(st.last().unwrap().state, MigrationState::Missing);
}

#[test]
fn out_of_order_is_refused_unless_allowed_and_then_marked() {
    let ms = three();
    let history = vec![
        row(&ms[0], HistoryStatus::Applied, 1, 0),
        row(&ms[2], HistoryStatus::Applied, 1, 5),
    ];
    let err = plan_up(&ms, &history, &UpOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("app/2") && text.contains("version 10"),
        "{text}"
    );
    let opts = UpOptions {
        allow_out_of_order: true,
        ..Default::default()
    };
    let plan = plan_up(&ms, &history, &opts).unwrap();
    assert_eq!(ids(&plan), vec!["apply app/2"]);
    assert!(plan.steps[0].out_of_order);
}

#[test]
fn out_of_order_is_judged_per_source() {
    let ms = vec![
        mig("app", "5", "a", "select 1;", None),
        mig("data", "1", "b", "select 2;", None),
    ];
    let history = vec![row(&ms[0], HistoryStatus::Applied, 1, 0)];
    assert_eq!(
        ids(&plan_up(&ms, &history, &UpOptions::default()).unwrap()),
        vec!["apply data/1"]
    );
}

#[test]
fn down_reverts_the_last_batch_newest_first_by_default() {
    let ms = three();
    let history = vec![
        row(&ms[0], HistoryStatus::Applied, 1, 0),
        row(&ms[1], HistoryStatus::Applied, 2, 10),
        row(&ms[2], HistoryStatus::Applied, 2, 11),
    ];
    let plan = plan_down(&ms, &history, &DownTarget::LastBatch).unwrap();
    assert_eq!(ids(&plan), vec!["revert app/10", "revert app/2"]);
    assert_eq!(
        plan.steps[0].script.as_ref().unwrap().sql.as_str(),
        "drop table c;"
    );
    let plan = plan_down(&ms, &history, &DownTarget::Steps(1)).unwrap();
    assert_eq!(ids(&plan), vec!["revert app/10"]);
    let plan = plan_down(&ms, &history, &DownTarget::To("1".into())).unwrap();
    assert_eq!(ids(&plan), vec!["revert app/10", "revert app/2"]);
    let plan = plan_down(&ms, &history, &DownTarget::Batch(1)).unwrap();
    assert_eq!(ids(&plan), vec!["revert app/1"]);
}

#[test]
fn down_uses_history_when_the_file_is_gone_and_refuses_irreversible() {
    let ms = three();
    let history = vec![
        row(&ms[0], HistoryStatus::Applied, 1, 0),
        row(&ms[1], HistoryStatus::Applied, 1, 1),
    ];
    let plan = plan_down(&ms[..1], &history, &DownTarget::Steps(1)).unwrap();
    assert_eq!(
        plan.steps[0].script.as_ref().unwrap().sql.as_str(),
        "drop table b;"
    );
    assert!(plan.steps[0].path.is_none());

    let no_down = vec![
        mig("app", "1", "a", "create table a();", None),
        ms[1].clone(),
    ];
    let mut history = history;
    history[0].down_sql = None;
    let err = plan_down(&no_down, &history, &DownTarget::LastBatch).unwrap_err();
    assert!(matches!(err, PlanError::Irreversible(ref v) if v.len() == 1));
    assert!(
        err.to_string()
            .contains("nothing was reverted: migration app/1 (a)")
    );
}

#[test]
fn redo_reverts_and_reapplies_the_last_migration_even_when_edited() {
    let ms = three();
    let mut r = row(&ms[1], HistoryStatus::Applied, 1, 0);
    r.checksum = Checksum::of_body("old text");
    let plan = plan_redo(&ms, &[row(&ms[0], HistoryStatus::Applied, 1, 0), r], None).unwrap();
    assert_eq!(ids(&plan), vec!["revert app/2", "apply app/2"]);
    assert_eq!(plan.steps[1].checksum, ms[1].checksum);
}

#[test]
fn baseline_records_everything_up_to_the_version() {
    let ms = three();
    let plan = plan_baseline(&ms, &[], "2", false).unwrap();
    assert_eq!(ids(&plan), vec!["baseline app/1", "baseline app/2"]);
    assert!(plan.steps.iter().all(|s| s.script.is_none()));
}

#[test]
fn repair_accepts_drift_and_clears_failures() {
    let ms = three();
    let mut drifted = row(&ms[0], HistoryStatus::Applied, 1, 0);
    drifted.checksum = Checksum::of_body("old");
    let failed = row(&ms[1], HistoryStatus::Failed, 2, 5);
    let history = vec![drifted, failed];
    let plan = plan_repair(&ms, &history, &RepairOptions::default()).unwrap();
    assert_eq!(
        ids(&plan),
        vec!["accept_checksum app/1", "clear_failed app/2"]
    );
    assert_eq!(plan.steps[0].checksum, ms[0].checksum);
    let plan = plan_repair(&ms, &history, &only("app/2")).unwrap();
    assert_eq!(ids(&plan), vec!["clear_failed app/2"]);
    let ok = vec![row(&ms[0], HistoryStatus::Applied, 1, 0)];
    assert!(matches!(
        plan_repair(&ms, &ok, &only("1")),
        Err(PlanError::NothingToRepair(_))
    ));
}

fn only(target: &str) -> RepairOptions {
    RepairOptions {
        only: Some(target.into()),
        forget: false,
        statement: None,
    }
}

/// Regression: repairing a migration whose file is gone answered "needs no
/// repair: its checksum matches".
#[test]
fn repair_of_a_missing_file_offers_the_real_choices() {
    let ms = three();
    let mut gone = row(&ms[2], HistoryStatus::Applied, 1, 0);
    gone.id.version = Version::parse_any("11").unwrap();
    let history = vec![row(&ms[0], HistoryStatus::Applied, 1, 0), gone];
    let err = plan_repair(&ms, &history, &only("11")).unwrap_err();
    assert!(matches!(err, PlanError::RepairMissing(_)), "{err}");
    assert!(
        err.to_string().contains("`strata repair app/11 --forget`"),
        "{err}"
    );
    let forget = RepairOptions {
        only: Some("11".into()),
        forget: true,
        statement: None,
    };
    assert_eq!(
        ids(&plan_repair(&ms, &history, &forget).unwrap()),
        vec!["forget app/11"]
    );
    let wrong = RepairOptions {
        only: Some("1".into()),
        forget: true,
        statement: None,
    };
    assert!(matches!(
        plan_repair(&ms, &history, &wrong),
        Err(PlanError::NothingToForget(_))
    ));
    // Repairing everything leaves a missing file alone, and says so.
    let all = plan_repair(&ms, &history, &RepairOptions::default()).unwrap();
    assert!(all.steps.is_empty());
    assert!(
        all.warnings[0].contains("`strata repair app/11 --forget`"),
        "{:?}",
        all.warnings
    );
}

#[test]
fn plan_hash_is_stable_and_depends_on_steps() {
    let ms = three();
    let a = plan_up(&ms, &[], &UpOptions::default()).unwrap();
    let b = plan_up(&ms, &[], &UpOptions::default()).unwrap();
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.hash.len(), 16);
    let mut edited = ms.clone();
    edited[2] = mig("app", "10", "c", "create table c(x int);", None);
    assert_ne!(
        a.hash,
        plan_up(&edited, &[], &UpOptions::default()).unwrap().hash
    );
    assert_ne!(a.hash, plan_fresh(&ms).unwrap().hash);
}

#[test]
fn ambiguous_targets_ask_for_a_source() {
    let ms = vec![
        mig("app", "1", "a", "select 1;", None),
        mig("data", "1", "b", "select 2;", None),
    ];
    let err = plan_baseline(&ms, &[], "1", false).unwrap_err();
    assert!(matches!(err, PlanError::AmbiguousTarget { .. }), "{err}");
    // Regression: baselining one source's version marked the other
    // sources' migrations applied too. Only with --all-sources now.
    assert_eq!(
        ids(&plan_baseline(&ms, &[], "data/1", false).unwrap()),
        vec!["baseline data/1"]
    );
    assert_eq!(
        plan_baseline(&ms, &[], "data/1", true).unwrap().steps.len(),
        2
    );
}

#[test]
fn down_to_zero_and_all_revert_everything() {
    let ms = three();
    let history: Vec<HistoryRow> = ms
        .iter()
        .enumerate()
        .map(|(i, m)| row(m, HistoryStatus::Applied, i as i64 + 1, 0))
        .collect();
    for target in [DownTarget::To("0".into()), DownTarget::All] {
        assert_eq!(
            ids(&plan_down(&ms, &history, &target).unwrap()),
            vec!["revert app/10", "revert app/2", "revert app/1"]
        );
    }
}

#[test]
fn interrupted_rows_show_as_failed_with_a_way_out() {
    let ms = three();
    let st = status(&ms, &[row(&ms[0], HistoryStatus::Running, 1, 0)]);
    assert_eq!(st[0].state, MigrationState::Failed);
    assert!(
        st[0]
            .detail
            .as_ref()
            .unwrap()
            .contains("strata repair app/1")
    );
}

#[test]
fn a_migration_strata_cannot_run_stops_the_plan_before_anything_runs() {
    let mut ms = three();
    ms[1].unsupported = Some("a Go migration; run it with goose".into());
    let err = plan_up(&ms, &[], &UpOptions::default()).unwrap_err();
    assert!(matches!(err, PlanError::CannotRun { .. }), "{err}");
    assert!(
        err.to_string().contains("app/2") && err.to_string().contains("run it with goose"),
        "{err}"
    );
    let opts = UpOptions {
        to: Some("1".into()),
        ..Default::default()
    };
    assert_eq!(ids(&plan_up(&ms, &[], &opts).unwrap()), vec!["apply app/1"]);
    assert_eq!(plan_baseline(&ms, &[], "2", false).unwrap().steps.len(), 2);
    assert!(plan_fresh(&ms).is_err());
}

fn src(name: &str, priority: i64, requires: &[&str]) -> SourceOrder {
    SourceOrder {
        name: name.into(),
        priority,
        requires: requires.iter().map(|r| r.to_string()).collect(),
    }
}

fn known(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn order_of(ms: Vec<Migration>, sources: &[SourceOrder]) -> Result<Vec<String>, PlanError> {
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    Ok(order(ms, sources, &names)?
        .iter()
        .map(|m| m.id.to_string())
        .collect())
}

#[test]
fn order_follows_priority_then_version_then_requirements() {
    let ms = vec![
        mig("data", "1", "seed", "select 1;", None),
        mig("app", "2", "b", "select 1;", None),
        mig("app", "1", "a", "select 1;", None),
    ];
    assert_eq!(
        order_of(ms.clone(), &[src("app", 0, &[]), src("data", 10, &[])]).unwrap(),
        vec!["app/1", "app/2", "data/1"]
    );
    // data has the lower priority, but a migration of app requires it.
    let mut with_req = ms.clone();
    with_req[1]
        .requires
        .push(MigrationId::new("data", Version::parse("1").unwrap()));
    assert_eq!(
        order_of(with_req, &[src("app", -5, &[]), src("data", 10, &[])]).unwrap(),
        vec!["app/1", "data/1", "app/2"]
    );
    // A source that requires another starts after all of it.
    assert_eq!(
        order_of(ms, &[src("app", 0, &["data"]), src("data", 10, &[])]).unwrap(),
        vec!["data/1", "app/1", "app/2"]
    );
}

/// Without requirements, order takes a shortcut (a sort by the tie-break
/// key); it gives what the full ordering gives, which a requirement that
/// changes nothing (one of app's after an earlier one) makes it take.
#[test]
fn order_without_requirements_matches_the_full_ordering() {
    let sources = [src("app", 0, &[]), src("data", 10, &[]), src("aux", 0, &[])];
    let mut ms = Vec::new();
    for (i, source) in ["data", "app", "aux", "app", "data", "aux"]
        .iter()
        .enumerate()
    {
        for v in [7, 3, 11, 1] {
            let version = (v * 10 + i).to_string();
            ms.push(mig(source, &version, "m", "select 1;", None));
        }
    }
    let shortcut = order_of(ms.clone(), &sources).unwrap();
    let mut app: Vec<usize> = (0..ms.len())
        .filter(|&i| ms[i].id.source == "app")
        .collect();
    app.sort_by(|&a, &b| ms[a].id.version.cmp(&ms[b].id.version));
    let (first, later) = (app[0], app[2]);
    let required = ms[first].id.clone();
    ms[later].requires.push(required);
    assert_eq!(order_of(ms, &sources).unwrap(), shortcut);
    assert_eq!(shortcut.first().map(String::as_str), Some("app/11"));
    assert_eq!(shortcut.last().map(String::as_str), Some("data/114"));
}

#[test]
fn order_reports_cycles_and_missing_requirements_naming_both_ends() {
    let mut ms = vec![
        mig("app", "1", "a", "select 1;", None),
        mig("data", "1", "b", "select 1;", None),
    ];
    ms[0]
        .requires
        .push(MigrationId::new("data", Version::parse("1").unwrap()));
    ms[1]
        .requires
        .push(MigrationId::new("app", Version::parse("1").unwrap()));
    let err = order_of(ms.clone(), &[src("app", 0, &[]), src("data", 0, &[])]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("app/1") && text.contains("data/1") && text.contains("cycle"),
        "{text}"
    );

    ms[1].requires.clear();
    ms[0].requires = vec![MigrationId::new("data", Version::parse("9").unwrap())];
    let err = order_of(ms.clone(), &[src("app", 0, &[]), src("data", 0, &[])]).unwrap_err();
    assert!(
        err.to_string()
            .contains("app/1 requires data/9, which does not exist"),
        "{err}"
    );

    let err = order_of(
        ms.clone(),
        &[src("app", 0, &["nowhere"]), src("data", 0, &[])],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("requires source `nowhere`"),
        "{err}"
    );

    // A requirement on a configured source that is not selected is left alone.
    ms.retain(|m| m.id.source == "app");
    let ordered = order(ms, &[src("app", 0, &[])], &known(&["app", "data"])).unwrap();
    assert_eq!(ordered.len(), 1);
}

fn with_version(mut m: Migration, v: Version, kind: MigrationKind) -> Migration {
    m.id.version = v;
    m.kind = kind;
    m
}

#[test]
fn baselines_stand_in_on_an_empty_source_for_up_and_fresh_and_down_to_keeps_them() {
    let ms = vec![
        mig("fw", "1", "a", "create table a();", Some("drop table a;")),
        mig("fw", "2", "b", "create table b();", Some("drop table b;")),
        with_version(
            mig(
                "fw",
                "2",
                "base",
                "create table a(); create table b();",
                None,
            ),
            Version::baseline("2").unwrap(),
            MigrationKind::Baseline,
        ),
        mig("fw", "3", "c", "create table c();", Some("drop table c;")),
    ];
    let up = plan_up(&ms, &[], &UpOptions::default()).unwrap();
    assert_eq!(
        ids(&up),
        vec![
            "apply fw/B2",
            "baseline fw/1",
            "baseline fw/2",
            "apply fw/3"
        ]
    );
    assert_eq!(ids(&plan_fresh(&ms).unwrap()), ids(&up));
    // Once the source has history, the baseline is not for it.
    let started = vec![row(&ms[0], HistoryStatus::Applied, 1, 0)];
    assert_eq!(
        ids(&plan_up(&ms, &started, &UpOptions::default()).unwrap()),
        vec!["apply fw/2", "apply fw/3"]
    );
    // down --to 2 reverts 3 only, not the baseline that stands for 1 and 2.
    let history: Vec<HistoryRow> = ms
        .iter()
        .map(|m| row(m, HistoryStatus::Applied, 1, 0))
        .collect();
    assert_eq!(
        ids(&plan_down(&ms, &history, &DownTarget::To("2".into())).unwrap()),
        vec!["revert fw/3"]
    );
}

#[test]
fn repeatables_rerun_when_changed_are_not_drift_and_are_not_reverted() {
    let r = with_version(
        mig("fw", "0", "views", "create view v as select 1;", None),
        Version::repeatable("views"),
        MigrationKind::Repeatable,
    );
    let ms = vec![
        mig("fw", "1", "a", "create table a();", Some("drop table a;")),
        r.clone(),
    ];
    let mut old = row(&ms[1], HistoryStatus::Applied, 1, 5);
    old.checksum = Checksum::of_body("create view v as select 0;");
    let history = vec![row(&ms[0], HistoryStatus::Applied, 1, 0), old];
    assert_eq!(
        ids(&plan_up(&ms, &history, &UpOptions::default()).unwrap()),
        vec!["apply fw/R__views"]
    );
    assert_eq!(status(&ms, &history)[1].state, MigrationState::Pending);
    assert_eq!(
        ids(&plan_down(&ms, &history, &DownTarget::Steps(1)).unwrap()),
        vec!["revert fw/1"]
    );
}

/// `backend/stores`, `backend/regions` (named, in that order) and
/// `supabase/1`, which `backend/regions` requires.
fn named() -> Vec<Migration> {
    let mut stores = mig("backend", "1", "stores", "up", Some("down"));
    stores.id.version = Version::named("stores", 0);
    let mut regions = mig("backend", "1", "regions", "up 2", Some("down 2"));
    regions.id.version = Version::named("regions", 1);
    let supa = mig(
        "supabase",
        "1",
        "users",
        "create table u();",
        Some("drop table u;"),
    );
    regions.requires = vec![supa.id.clone()];
    vec![stores, regions, supa]
}

#[test]
fn one_migration_is_applied_by_name_once_what_it_requires_is() {
    let ms = named();
    let only = |t: &str, history: &[HistoryRow]| {
        let opts = UpOptions {
            only: Some(t.into()),
            ..Default::default()
        };
        plan_up(&ms, history, &opts).map(|p| ids(&p))
    };
    assert_eq!(
        only("backend/stores", &[]).unwrap(),
        vec!["apply backend/stores"]
    );
    assert_eq!(only("stores", &[]).unwrap(), vec!["apply backend/stores"]);
    // Not before the pending ones of its source.
    let refused = only("regions", &[]).unwrap_err().to_string();
    assert!(
        refused.contains("comes after backend/stores of its source, still pending"),
        "{refused}"
    );
    let stores = vec![row(&ms[0], HistoryStatus::Applied, 1, 0)];
    let refused = only("regions", &stores).unwrap_err().to_string();
    assert!(
        refused.contains("requires supabase/1, which is not applied"),
        "{refused}"
    );
    let history = vec![stores[0].clone(), row(&ms[2], HistoryStatus::Applied, 1, 0)];
    assert_eq!(
        only("backend/regions", &history).unwrap(),
        vec!["apply backend/regions"]
    );
    // Out of order when asked for, and said so.
    let opts = UpOptions {
        only: Some("regions".into()),
        allow_out_of_order: true,
        ..Default::default()
    };
    let plan = plan_up(&ms, &[row(&ms[2], HistoryStatus::Applied, 1, 0)], &opts).unwrap();
    assert_eq!(ids(&plan), vec!["apply backend/regions"]);
    assert!(plan.steps[0].out_of_order);
    assert!(matches!(
        only("nowhere", &[]),
        Err(PlanError::UnknownTarget(_))
    ));
    // A history row is read by name only: placed, it matches its file.
    let mut read = row(&ms[0], HistoryStatus::Applied, 1, 0);
    read.id.version = Version::parse_recorded("stores").unwrap();
    let mut rows = vec![read];
    place(&mut rows, &ms);
    assert_eq!(only("stores", &rows).unwrap(), Vec::<String>::new());
}

#[test]
fn one_migration_is_reverted_alone_only_when_nothing_depends_on_it() {
    let ms = named();
    let history = vec![
        row(&ms[2], HistoryStatus::Applied, 1, 0),
        row(&ms[0], HistoryStatus::Applied, 1, 1),
        row(&ms[1], HistoryStatus::Applied, 1, 2),
    ];
    let down = |target: &str, cascade: bool| {
        let t = DownTarget::Only {
            target: target.into(),
            cascade,
        };
        plan_down(&ms, &history, &t).map(|p| ids(&p))
    };
    // Later in its source.
    let refused = down("backend/stores", false).unwrap_err().to_string();
    assert!(
        refused.contains("depend on it (backend/regions)"),
        "{refused}"
    );
    // Required by it.
    let refused = down("supabase/users", false).unwrap_err().to_string();
    assert!(refused.contains("(backend/regions)"), "{refused}");
    assert_eq!(
        down("supabase/1", true).unwrap(),
        vec!["revert backend/regions", "revert supabase/1"]
    );
    assert_eq!(
        down("regions", false).unwrap(),
        vec!["revert backend/regions"]
    );
    let redo = plan_redo(&ms, &history, Some("stores"))
        .unwrap_err()
        .to_string();
    assert!(redo.contains("cannot be reverted alone"), "{redo}");
    assert_eq!(
        ids(&plan_redo(&ms, &history, Some("regions")).unwrap()),
        vec!["revert backend/regions", "apply backend/regions"]
    );
    let not = plan_down(
        &ms,
        &history[..1],
        &DownTarget::Only {
            target: "stores".into(),
            cascade: false,
        },
    );
    assert!(matches!(not, Err(PlanError::NotApplied(_))));
}

#[test]
fn a_cascade_takes_what_depends_on_what_it_takes() {
    // s2/b requires s1/a; s2/c comes after s2/b.
    let a = mig("s1", "1", "a", "create table a();", Some("drop table a;"));
    let mut b = mig("s2", "1", "b", "create table b();", Some("drop table b;"));
    b.requires = vec![a.id.clone()];
    let c = mig("s2", "2", "c", "create table c();", Some("drop table c;"));
    let ms = vec![a, b, c];
    let history = vec![
        row(&ms[0], HistoryStatus::Applied, 1, 0),
        row(&ms[1], HistoryStatus::Applied, 1, 1),
        row(&ms[2], HistoryStatus::Applied, 1, 2),
    ];
    let t = DownTarget::Only {
        target: "s1/1".into(),
        cascade: true,
    };
    assert_eq!(
        ids(&plan_down(&ms, &history, &t).unwrap()),
        vec!["revert s2/2", "revert s2/1", "revert s1/1"]
    );
}
