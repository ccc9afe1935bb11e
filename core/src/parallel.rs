//! One way to spread small file operations over a few threads.

/// Maps `each` over `items` on up to `max_threads` threads (and the machine's
/// cores), answering in the order given. Scanning Homes and Session
/// directories is dominated by small file operations, so a few threads overlap
/// them; fewer than `per_thread_min` items per thread run inline, where a
/// thread would cost more than it saves. A worker's panic is re-raised, so a
/// failure can never silently shorten the answer.
pub fn map_in_order<T, R, F>(
    items: &[T],
    per_thread_min: usize,
    max_threads: usize,
    each: F,
) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(max_threads)
        .min(items.len() / per_thread_min.max(1));
    if threads <= 1 {
        return items.iter().map(&each).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let each = &each;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(each).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::map_in_order;
    use rstest::rstest;

    #[rstest]
    #[case(0)]
    #[case(5)]
    #[case(1000)]
    fn keeps_the_order_given(#[case] n: usize) {
        let items: Vec<usize> = (0..n).collect();
        let doubled = map_in_order(&items, 8, 8, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}
