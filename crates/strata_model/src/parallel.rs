//! The one way strata spreads work over the cores.

/// Maps `items` on every core (up to 8), keeping their order: reading and
/// hashing thousands of files, linting them. Fewer than 64 items are mapped
/// on the calling thread.
pub fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || items.len() < 64 {
        return items.into_iter().map(f).collect();
    }
    // Each result is written into its place in one vector: ten thousand
    // migrations are megabytes, and fresh memory (or a second copy) is not
    // free.
    let mut slots: Vec<Option<R>> = Vec::with_capacity(items.len());
    slots.resize_with(items.len(), || None);
    // Small batches taken in turn, so a thread that drew the slow items
    // (a big file, a long parse) does not leave the others idle at the end.
    let batch = (items.len() / (threads * 4)).max(8);
    let mut items = items.into_iter();
    let work: Vec<(Vec<T>, &mut [Option<R>])> = slots
        .chunks_mut(batch)
        .map(|out| (items.by_ref().take(out.len()).collect(), out))
        .collect();
    let queue = std::sync::Mutex::new(work.into_iter());
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((batch, out)) = next else { break };
                        for (item, slot) in batch.into_iter().zip(out) {
                            *slot = Some(f(item));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
    });
    slots
        .into_iter()
        .map(|r| r.expect("every batch is mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_the_items() {
        for n in [0, 1, 63, 64, 65, 1000, 10_007] {
            let items: Vec<usize> = (0..n).collect();
            let mapped: Vec<usize> = super::parallel_map(items, |i| i * 2);
            assert_eq!(mapped, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "n = {n}");
        }
    }
}
