//! The one way strata spreads work over the cores.

/// Maps `items` on every core (up to 8), keeping their order: reading and
/// hashing thousands of files, linting them. Fewer than 64 items are mapped
/// on the calling thread.
pub fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
) -> impl Iterator<Item = R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || items.len() < 64 {
        return vec![items.into_iter().map(f).collect::<Vec<R>>()]
            .into_iter()
            .flatten();
    }
    // Small batches taken in turn, so a thread that drew the slow items
    // (a big file, a long parse) does not leave the others idle at the end.
    let batch = (items.len() / (threads * 4)).max(8);
    let mut batches: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        batches.push(items.by_ref().take(batch).collect());
    }
    let queue = std::sync::Mutex::new(batches.into_iter().enumerate());
    let f = &f;
    let mut done: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((i, batch)) = next else { break };
                        mine.push((i, batch.into_iter().map(f).collect::<Vec<R>>()));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    // Handed over batch by batch, not copied into one vector first: ten
    // thousand migrations are megabytes, and fresh memory is not free.
    done.into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_the_items() {
        for n in [0, 1, 63, 64, 65, 1000, 10_007] {
            let items: Vec<usize> = (0..n).collect();
            let mapped: Vec<usize> = super::parallel_map(items, |i| i * 2).collect();
            assert_eq!(mapped, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "n = {n}");
        }
    }
}
