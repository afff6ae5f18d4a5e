use super::*;

fn project(toml_text: &str) -> Result<Project, EngineError> {
    let dir = std::env::temp_dir().join(format!(
        "strata-config-{}-{}",
        std::process::id(),
        toml_text.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, toml_text).unwrap();
    let p = Project::load(&path);
    let _ = std::fs::remove_dir_all(&dir);
    p
}

#[test]
fn the_initial_config_loads() {
    let app = NewSource {
        name: "app".into(),
        path: "migrations".into(),
        format: "strata".into(),
        priority: 0,
        engine: None,
        task: false,
    };
    let p = project(&initial_config(&[app], "sqlite://strata.db")).unwrap();
    assert_eq!(p.config.sources[0].name, "app");
    assert_eq!(p.env_name(None).unwrap().as_deref(), Some("development"));
}

#[test]
fn errors_name_the_line() {
    let err = project("[project]\nhistory_table = \"h\"\n\n[env.prod]\nurl = 3\n").unwrap_err();
    assert!(err.to_string().contains("line 5"), "{err}");
    let err = project("[env.prod]\nlock_timeout = \"soon\"\n").unwrap_err();
    assert!(
        err.to_string().contains("`soon` is not a duration"),
        "{err}"
    );
    let err =
        project("[[source]]\nname = \"a\"\npath = \"m\"\n[[source]]\nname = \"a\"\npath = \"n\"\n")
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("two [[source]] entries are named `a`"),
        "{err}"
    );
    let err = project("[projekt]\n").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn expands_variables() {
    let mut p = project("").unwrap();
    p.dotenv
        .insert("STRATA_TEST_ONLY_IN_DOTENV".into(), "x".into());
    assert_eq!(
        p.expand("a${STRATA_TEST_ONLY_IN_DOTENV}b", "url").unwrap(),
        "axb"
    );
    let err = p
        .expand("${STRATA_TEST_SURELY_UNSET}", "env.prod.url")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("${STRATA_TEST_SURELY_UNSET}, which is not set"),
        "{err}"
    );
}
