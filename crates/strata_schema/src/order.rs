//! The one order objects are created in when some need others first.

use std::collections::{BTreeMap, BTreeSet};

/// `items` in an order where each comes after those `needs` says it
/// needs, the first by key where that leaves a choice. A need that is
/// not among `items` is met already; with a cycle (not possible in a valid
/// catalog), the first by key goes next anyway.
pub fn dependency_order<K: Ord + Clone, T>(
    mut items: BTreeMap<K, T>,
    needs: &BTreeMap<K, BTreeSet<K>>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    while !items.is_empty() {
        let ready = |key: &K| {
            needs
                .get(key)
                .is_none_or(|n| n.iter().all(|d| d == key || !items.contains_key(d)))
        };
        let next = items
            .keys()
            .find(|key| ready(key))
            .or_else(|| items.keys().next())
            .cloned()
            .expect("not empty");
        out.push(items.remove(&next).expect("just found"));
    }
    out
}
