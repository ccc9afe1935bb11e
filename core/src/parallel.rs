//! One way to spread small file operations over a few threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Maps `each` over `items` on up to `max_threads` threads (and the machine's
/// cores), answering in the order given. Scanning Homes and Session
/// directories is dominated by small file operations, so a few threads overlap
/// them; fewer than `per_thread_min` items per thread run inline, where a
/// thread would cost more than it saves. A worker's panic is re-raised, so a
/// failure can never silently shorten the answer.
///
/// Items are handed out one at a time from a shared counter rather than in
/// fixed chunks, so a thread slowed down (a Home on a slow disk, a busy
/// machine) never leaves the others idle at the end; the calling thread
/// works too instead of only waiting.
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
    map_in_order_with(
        items,
        per_thread_min,
        max_threads,
        || (),
        |(), item| each(item),
    )
}

/// [`map_in_order`] with a working state per thread: `init` makes it when
/// the thread takes its first item, and `each` gets it for every item the
/// thread maps. For work whose set-up costs as much as an item (a PNG's
/// deflate compressor: ~330 KB of tables, each page faulted in when new).
pub fn map_in_order_with<T, S, R, I, F>(
    items: &[T],
    per_thread_min: usize,
    max_threads: usize,
    init: I,
    each: F,
) -> Vec<R>
where
    T: Sync,
    R: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &T) -> R + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(max_threads)
        .min(items.len() / per_thread_min.max(1));
    if threads <= 1 {
        let mut state = None;
        return items
            .iter()
            .map(|item| each(state.get_or_insert_with(&init), item))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        let mut state = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, each(state.get_or_insert_with(&init), item)));
        }
    };
    let work = &work;
    let finished: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mine = work();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .chain([mine])
            .collect()
    });
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (i, r) in finished.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{map_in_order, map_in_order_with};
    use rstest::rstest;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[rstest]
    #[case(0)]
    #[case(5)]
    #[case(1000)]
    fn keeps_the_order_given(#[case] n: usize) {
        let items: Vec<usize> = (0..n).collect();
        let doubled = map_in_order(&items, 8, 8, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    /// Each thread makes its state once, and only when it maps something.
    #[test]
    fn state_is_made_once_per_thread_that_works() {
        let items: Vec<usize> = (0..1000).collect();
        let made = AtomicUsize::new(0);
        let answers = map_in_order_with(
            &items,
            1,
            4,
            || {
                made.fetch_add(1, Ordering::Relaxed);
                0usize
            },
            |seen, i| {
                *seen += 1;
                (i * 2, *seen)
            },
        );
        let threads = made.load(Ordering::Relaxed);
        assert!((1..=4).contains(&threads), "{threads}");
        assert_eq!(
            answers.iter().map(|a| a.0).collect::<Vec<_>>(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        // Every state saw a run 1, 2, …: the counts restart once per state.
        assert_eq!(answers.iter().filter(|a| a.1 == 1).count(), threads);
        let none: Vec<usize> = map_in_order_with(
            &[],
            1,
            4,
            || made.fetch_add(1, Ordering::Relaxed),
            |_, i: &usize| *i,
        );
        assert!(none.is_empty());
        assert_eq!(made.load(Ordering::Relaxed), threads);
    }
}
