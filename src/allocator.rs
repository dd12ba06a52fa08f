//! The C allocator under a long-running node. glibc's malloc gives the
//! threads that allocate up to eight arenas per core, and keeps what is
//! freed inside an arena for later instead of handing it back: once a node
//! had swept every expired token from memory, it still held some 50 MiB
//! more than it used (docs/BENCHMARKS.md, "Memory under a steady load").
//! So a serving node uses one arena per core, and hands freed memory back
//! after its sweeps. (Other platforms' allocators are left as they are.)

/// One arena per core (at least two), set before any other thread starts.
/// An operator's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` wins.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set_by_operator = ["MALLOC_ARENA_MAX", "GLIBC_TUNABLES"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        if set_by_operator {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes a tuning parameter of the allocator,
        // and runs at the start of `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Hands the pages that are free inside the arenas back to the system.
/// It walks every arena under its lock (some 35 ms for 40 MiB of heap on
/// the reference machine, during which threads allocating from the arena
/// being walked wait), so it runs on a blocking thread, after sweeps, at
/// most every housekeeping interval.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
