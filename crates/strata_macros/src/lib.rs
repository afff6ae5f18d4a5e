//! The compile-time half of `strata::embed!`. Use that macro, not this
//! crate: it names the types the files become.

#![deny(missing_docs)]

use proc_macro::{Delimiter, TokenStream, TokenTree};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `embed_files!("migrations")`: the project file (`strata.toml`, looked
/// for from the folder upward) and every file under the folder (hidden
/// ones left out), as `(config, &[(path, bytes, sha256)])`, paths relative
/// to the project. Relative folders start at the crate's `Cargo.toml`.
#[proc_macro]
pub fn embed_files(input: TokenStream) -> TokenStream {
    let expanded = folder(input).and_then(|dir| expand(&dir));
    match expanded {
        Ok(code) => code.parse().expect("the expansion is valid Rust"),
        Err(message) => format!("::core::compile_error!({message:?})")
            .parse()
            .expect("a compile_error! call"),
    }
}

/// The folder the one string literal of `input` names.
fn folder(input: TokenStream) -> Result<PathBuf, String> {
    let mut tokens: Vec<TokenTree> = input.into_iter().collect();
    // A literal passed on by `macro_rules!` arrives in an invisible group.
    while let [TokenTree::Group(g)] = &tokens[..] {
        if g.delimiter() != Delimiter::None {
            break;
        }
        tokens = g.stream().into_iter().collect();
    }
    let [TokenTree::Literal(literal)] = &tokens[..] else {
        return Err(
            "strata::embed! takes one string: the migrations folder, such as \"migrations\"".into(),
        );
    };
    let text = literal.to_string();
    let path = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('\\'))
        .or_else(|| text.strip_prefix("r\"").and_then(|t| t.strip_suffix('"')))
        .ok_or(
            "strata::embed! takes a plain string literal without escapes, such as \"migrations\"",
        )?;
    let base = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| "strata::embed! needs CARGO_MANIFEST_DIR: build with cargo")?;
    let dir = Path::new(&base).join(path);
    if !dir.is_dir() {
        return Err(format!(
            "strata::embed!: {} is not a folder (the path is taken from the folder of the crate's Cargo.toml)",
            dir.display()
        ));
    }
    dir.canonicalize()
        .map_err(|e| format!("strata::embed!: {}: {e}", dir.display()))
}

fn expand(dir: &Path) -> Result<String, String> {
    let config = project_file(dir);
    let root = match &config {
        Some(file) => file.parent().expect("a file has a folder").to_path_buf(),
        None => dir.parent().unwrap_or(dir).to_path_buf(),
    };
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut out = String::from("(");
    match &config {
        Some(file) => out.push_str(&format!(
            "::core::option::Option::Some(::core::include_str!({:?})), ",
            utf8(file)?
        )),
        None => out.push_str("::core::option::Option::None, "),
    }
    out.push_str(&format!("{:?}, &[", relative(dir, &root)?));
    for file in &files {
        let bytes =
            std::fs::read(file).map_err(|e| format!("strata::embed!: {}: {e}", file.display()))?;
        let sha = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        out.push_str(&format!(
            "({:?}, ::core::include_bytes!({:?}), {sha:?}), ",
            relative(file, dir)?,
            utf8(file)?
        ));
    }
    out.push_str("])");
    Ok(out)
}

/// The `strata.toml` that `strata` run in `dir` would read: looked for
/// upward, no further than the workspace (the first folder with a
/// `Cargo.lock` or `.git`), so a file outside the project is never taken.
fn project_file(dir: &Path) -> Option<PathBuf> {
    for folder in dir.ancestors() {
        let file = folder.join("strata.toml");
        if file.is_file() {
            return Some(file);
        }
        if folder.join("Cargo.lock").exists() || folder.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Every file under `dir`, following links, leaving out hidden names.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("strata::embed!: {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("strata::embed!: {}: {e}", dir.display()))?
            .path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("strata::embed!: {} is not a UTF-8 path", path.display()))
}

/// `path` under `base`, with `/` between its parts.
fn relative(path: &Path, base: &Path) -> Result<String, String> {
    let rest = path.strip_prefix(base).map_err(|_| {
        format!(
            "strata::embed!: {} is outside {}",
            path.display(),
            base.display()
        )
    })?;
    let parts: Result<Vec<&str>, String> = rest
        .components()
        .map(|c| {
            c.as_os_str()
                .to_str()
                .ok_or_else(|| format!("strata::embed!: {} is not a UTF-8 path", path.display()))
        })
        .collect();
    Ok(parts?.join("/"))
}
