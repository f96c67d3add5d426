//! File events, debounced: `notify` (inotify on Linux) behind `notify-debouncer-full`, delivered as batches of
//! changed paths on a tokio channel. Reads are not changes: the events of a file or folder being opened or read
//! (which inotify reports, and which starting a function causes) are dropped, while the close of a file written
//! is kept.
//!
//! Folders are watched one by one, not recursively, so that the ignored folders (`target/` above all, with its
//! many thousands of folders) cost no inotify watch. A folder created later is watched when its creation is seen.
//! A file is watched through its folder, because editors that save by renaming a new file over the old one would
//! otherwise leave the watch on a deleted inode.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use super::targets::is_ignored;

/// How long the files must be quiet before a batch is delivered: long enough to take an editor's save (its
/// writes, renames and attribute changes land within a few milliseconds) as one change, short enough to keep an
/// interpreted function's reload under 200 ms. A longer burst, such as a `git checkout`, may make two batches;
/// the second then finds little or nothing to rebuild.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// Watches folders and delivers their changes; dropping it stops the watching.
pub struct Watcher {
    debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    watched: BTreeSet<PathBuf>,
}

impl Watcher {
    pub fn new() -> Result<(Self, mpsc::UnboundedReceiver<Vec<PathBuf>>), notify::Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        let debouncer =
            new_debouncer(
                DEBOUNCE,
                None,
                move |events: DebounceEventResult| match events {
                    Ok(events) => {
                        let paths: Vec<PathBuf> = events
                            .into_iter()
                            .filter(|e| is_change(&e.kind))
                            .flat_map(|e| e.event.paths)
                            .collect();
                        if !paths.is_empty() {
                            let _ = tx.send(paths);
                        }
                    }
                    Err(errors) => {
                        for e in errors {
                            tracing::warn!("watch: {e}");
                        }
                    }
                },
            )?;
        Ok((
            Self {
                debouncer,
                watched: BTreeSet::new(),
            },
            rx,
        ))
    }

    /// Watches `path`: a folder with every folder under it that is not ignored, or a file through its folder.
    pub fn watch(&mut self, path: &Path) {
        if path.is_dir() {
            let mut todo = vec![path.to_path_buf()];
            while let Some(dir) = todo.pop() {
                let below = dir.strip_prefix(path).unwrap_or(&dir);
                if is_ignored(below) || !self.watch_one(&dir) {
                    continue;
                }
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    todo.extend(
                        entries
                            .flatten()
                            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                            .map(|e| e.path()),
                    );
                }
            }
        } else if let Some(dir) = path.parent() {
            self.watch_one(dir);
        }
    }

    /// Watches newly created folders among `changed`, when they are under a folder already watched.
    pub fn follow(&mut self, changed: &[PathBuf]) {
        for p in changed {
            if p.is_dir()
                && !p.file_name().is_some_and(|n| is_ignored(Path::new(n)))
                && !self.watched.contains(p)
                && p.parent().is_some_and(|d| self.watched.contains(d))
            {
                self.watch(p);
            }
        }
    }

    /// Whether `dir` is watched now (it may have been already).
    fn watch_one(&mut self, dir: &Path) -> bool {
        if self.watched.contains(dir) {
            return true;
        }
        match self.debouncer.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                true
            }
            Err(e) => {
                tracing::warn!("watch: cannot watch {}: {e}", dir.display());
                false
            }
        }
    }

    /// How many folders are watched.
    pub fn len(&self) -> usize {
        self.watched.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }
}

/// Whether an event changed something, rather than only read it.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind};

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }
}
