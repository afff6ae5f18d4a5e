//! The order migrations run in: a topological order of the dependency
//! graph, ties broken by (source priority, version, source name).
//!
//! Edges: each migration follows the previous one of its source; a source
//! with `requires = ["other"]` starts after the last migration of `other`;
//! `-- strata:requires <source>/<version>` puts a migration after that one.

use crate::PlanError;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use strata_model::{Migration, MigrationId};

/// A source as the ordering sees it.
#[derive(Debug, Clone)]
pub struct SourceOrder {
    pub name: String,
    pub priority: i64,
    /// Sources whose migrations all come before this one's.
    pub requires: Vec<String>,
}

/// Orders `migrations` (of the selected `sources`). `known` lists every
/// configured source: a requirement on a known source that is not
/// selected (`--source`) is left to that source's own runs.
pub fn order(
    migrations: Vec<Migration>,
    sources: &[SourceOrder],
    known: &[String],
) -> Result<Vec<Migration>, PlanError> {
    let n = migrations.len();
    let priority: FxHashMap<&str, i64> = sources
        .iter()
        .map(|s| (s.name.as_str(), s.priority))
        .collect();
    // The tie-break: priority, then version, then source.
    let tie_break = |a: &Migration, b: &Migration| {
        let prio = |m: &Migration| priority.get(m.id.source.as_str()).copied().unwrap_or(0);
        (prio(a), &a.id.version, &a.id.source).cmp(&(prio(b), &b.id.version, &b.id.source))
    };
    if sources.iter().all(|s| s.requires.is_empty())
        && migrations.iter().all(|m| m.requires.is_empty())
    {
        // Nothing but each source's own sequence: the order is the
        // tie-break's (which keeps each source in version order), and a
        // sort finds what is read in that order already sorted at once.
        let mut migrations = migrations;
        migrations.sort_by(tie_break);
        return Ok(migrations);
    }
    // Only requirements look migrations up by id.
    let index: FxHashMap<&MigrationId, usize> = if migrations.iter().any(|m| !m.requires.is_empty())
    {
        migrations
            .iter()
            .enumerate()
            .map(|(i, m)| (&m.id, i))
            .collect()
    } else {
        FxHashMap::default()
    };
    let mut by_source: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, m) in migrations.iter().enumerate() {
        by_source.entry(m.id.source.as_str()).or_default().push(i);
    }
    for list in by_source.values_mut() {
        list.sort_by(|a, b| migrations[*a].id.version.cmp(&migrations[*b].id.version));
    }

    // (before, after) pairs.
    let mut edges: Vec<(usize, usize)> = Vec::with_capacity(n);
    for list in by_source.values() {
        for pair in list.windows(2) {
            edges.push((pair[0], pair[1]));
        }
    }
    for source in sources {
        for required in &source.requires {
            if !known.contains(required) {
                return Err(PlanError::UnknownSourceRequirement {
                    source_name: source.name.clone(),
                    requires: required.clone(),
                });
            }
            let (Some(before), Some(after)) = (
                by_source.get(required.as_str()).and_then(|l| l.last()),
                by_source.get(source.name.as_str()).and_then(|l| l.first()),
            ) else {
                continue;
            };
            edges.push((*before, *after));
        }
    }
    for (i, m) in migrations.iter().enumerate() {
        for req in &m.requires {
            match index.get(req) {
                Some(&j) => edges.push((j, i)),
                None if known.contains(&req.source)
                    && !priority.contains_key(req.source.as_str()) => {}
                None => {
                    return Err(PlanError::MissingRequirement {
                        migration: m.id.to_string(),
                        requires: req.to_string(),
                    });
                }
            }
        }
    }

    // Rank every migration once by the tie-break key, so the queue holds
    // plain numbers.
    let mut by_key: Vec<usize> = (0..n).collect();
    by_key.sort_by(|&a, &b| tie_break(&migrations[a], &migrations[b]));
    let mut rank = vec![0usize; n];
    for (r, &i) in by_key.iter().enumerate() {
        rank[i] = r;
    }
    let mut waiting = vec![0usize; n];
    for &(_, after) in &edges {
        waiting[after] += 1;
    }
    // Successors of `i`: `succs[start[i]..start[i + 1]]`.
    edges.sort_unstable();
    let succs: Vec<usize> = edges.iter().map(|&(_, after)| after).collect();
    let mut start = vec![0usize; n + 1];
    for &(before, _) in &edges {
        start[before + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((rank[i], i)))
        .collect();
    let mut sequence = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        sequence.push(i);
        for &s in &succs[start[i]..start[i + 1]] {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                ready.push(Reverse((rank[s], s)));
            }
        }
    }
    if sequence.len() < n {
        // Some migration still waits: it and one of its waiting
        // requirements are on a cycle (or behind one).
        let stuck = (0..n)
            .find(|&i| waiting[i] > 0)
            .expect("some migration waits");
        let blocker = edges
            .iter()
            .find(|&&(before, after)| after == stuck && waiting[before] > 0)
            .map_or(stuck, |&(before, _)| before);
        return Err(PlanError::Cycle {
            migration: migrations[stuck].id.to_string(),
            requires: migrations[blocker].id.to_string(),
        });
    }
    if sequence.iter().enumerate().all(|(place, &i)| place == i) {
        // Already in order (one source, read in version order): nothing
        // to move.
        return Ok(migrations);
    }
    let mut slots: Vec<Option<Migration>> = migrations.into_iter().map(Some).collect();
    Ok(sequence
        .into_iter()
        .map(|i| slots[i].take().expect("each once"))
        .collect())
}
