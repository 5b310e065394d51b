//! Giving back what a burst of cluster changes left in glibc's arenas.
//!
//! Scaling a lab from 100 to 1,000 pods makes the dashboard parse thousands of objects
//! and compute a snapshot every 50 ms. glibc keeps what each thread freed in that
//! thread's arena and returns pages only from the top of a heap, so after the burst
//! 15-20 MB stay resident that nothing uses; a room of laptops opening the page at
//! once does the same. Once the cluster and the viewers have been quiet for [`QUIET`],
//! [`trim_when_quiet`] asks glibc for them back (`malloc_trim`), once per burst.
//! [`tune_allocator`] keeps less of it in the first place.

use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Viewers' activity (a page rendered, a stream opened or closed) since the last trim.
pub static VIEWERS: Notify = Notify::const_new();

/// Notes that a viewer did something that allocates (and later frees) a lot.
pub fn viewer_activity() {
    VIEWERS.notify_one();
}

/// How long the cluster must be quiet before the arenas are trimmed.
pub const QUIET: Duration = Duration::from_secs(2);

/// Calls `trim` (in the server, [`release_free_memory`]) once after each burst of
/// cluster `changes` and `viewers`' activity (in the server, [`VIEWERS`]), when `quiet`
/// (in the server, [`QUIET`]) has passed without either, until `shutdown`.
pub async fn trim_when_quiet(
    mut changes: watch::Receiver<u64>,
    viewers: &'static Notify,
    mut shutdown: watch::Receiver<bool>,
    quiet: Duration,
    trim: fn() -> bool,
) {
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = viewers.notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        // Wait until a whole `quiet` passes without a change.
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = viewers.notified() => {}
                () = tokio::time::sleep(quiet) => break,
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
        // It walks and locks every arena: off the async workers.
        let trimmed = tokio::task::spawn_blocking(trim).await.unwrap_or(false);
        tracing::debug!(trimmed, "gave freed memory back to the system");
    }
}

/// The size from which glibc maps an allocation on its own and unmaps it when freed.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Sets glibc's allocator up for a server whose memory is a few long-lived stores plus
/// bursts: one arena for every thread (by default each runtime thread gets its own,
/// and each keeps its own freed memory), and a fixed [`MMAP_THRESHOLD`] (by default
/// glibc raises it, up to 32 MB, after the first large free, so a 1,000-pod
/// snapshot's 1.5 MB would then come from the heap and stay with the process). At
/// 1,000 pods and 200 viewers this is 6-10 MB less resident memory. Either setting is
/// left alone when its environment variable (`MALLOC_ARENA_MAX`,
/// `MALLOC_MMAP_THRESHOLD_`) is set. Call it before any other thread starts. Returns
/// whether glibc took the settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune_allocator() -> bool {
    let mut took = true;
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's parameters.
        took &= unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) } == 1;
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        let threshold = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
        // SAFETY: as above.
        took &= unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) } == 1;
    }
    took
}

/// Other allocators are left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() -> bool {
    false
}

/// Returns the free pages of every glibc arena to the system; whether any were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() -> bool {
    // SAFETY: malloc_trim takes no pointers and touches only glibc's own free lists,
    // under the arenas' locks.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators return large free blocks themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_goes_back_to_the_system() {
        // Many small blocks freed below one that lives on: glibc alone keeps them.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 1000]).collect();
        let keep = vec![1u8; 1000];
        drop(blocks);
        assert!(release_free_memory(), "20 MB freed, and glibc gave some back");
        assert_eq!(keep[999], 1);
    }

    /// This process's resident memory in KB, as the benchmarks read it (`VmRSS`), so
    /// the page size does not matter.
    fn resident_kb() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).expect("VmRSS");
        line.trim().trim_end_matches("kB").trim().parse().expect("VmRSS in kB")
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn large_blocks_go_back_as_soon_as_they_are_freed() {
        assert!(tune_allocator(), "glibc took the settings");
        // Untuned, glibc would raise its threshold to 4 MB at this free, and the 1 MB
        // blocks below would come from the heap, held in place by the small ones.
        drop(std::hint::black_box(vec![1u8; 4 << 20]));
        let (mut large, mut pinned) = (Vec::new(), Vec::new());
        for i in 0..16u8 {
            large.push(std::hint::black_box(vec![i; 1 << 20]));
            pinned.push(std::hint::black_box(vec![i; 64]));
        }
        let before = resident_kb();
        drop(large);
        let after = resident_kb();
        assert!(before.saturating_sub(after) >= 12 * 1024, "16 MB freed, resident {before} KB -> {after} KB");
        assert_eq!(pinned[15][63], 15);
    }

    static TRIMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count_trim() -> bool {
        TRIMS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    }

    fn trims() -> usize {
        TRIMS.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn trims_once_after_each_burst_goes_quiet() {
        let quiet = Duration::from_millis(500);
        let (changes, rx) = watch::channel(0u64);
        let (stop, stop_rx) = watch::channel(false);
        static ACTIVITY: Notify = Notify::const_new();
        let task = tokio::spawn(trim_when_quiet(rx, &ACTIVITY, stop_rx, quiet, count_trim));
        let until_trims = |n: usize| async move {
            for _ in 0..300 {
                if trims() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            trims()
        };
        for burst in 1..=3 {
            for i in 0..10 {
                // The cluster, then viewers, then both.
                match (burst, i % 2) {
                    (1, _) | (3, 0) => changes.send_modify(|n| *n += 1),
                    _ => ACTIVITY.notify_one(),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(trims(), burst - 1, "not while changes keep coming");
            assert_eq!(until_trims(burst).await, burst, "once after burst {burst}");
            tokio::time::sleep(quiet * 2).await;
            assert_eq!(trims(), burst, "not again while nothing changes");
        }
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(1), task).await.expect("ends on shutdown").expect("no panic");
    }
}
