//! Finding circuit files: a path as given, or a directory's `*.qasm` files, recursively.
//!
//! The walk follows symbolic links but visits each directory once (by its canonical path), so
//! a link back up the tree (`ln -s . d/self`) neither repeats files nor loops; entries that are
//! not regular files (FIFOs, sockets, devices) are skipped, since opening a FIFO blocks until
//! something writes to it (#28).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A path that could not be searched.
#[derive(Debug, thiserror::Error)]
// The cause is the source, not in the message: `{:#}` prints the chain, which would say it
// twice.
#[error("cannot read {}", path.display())]
pub struct DiscoverError {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: std::io::Error,
}

/// Most directories one search visits: a bound on a tree built to exhaust the walk.
pub const MAX_DIRECTORIES: usize = 100_000;

/// Each path of `inputs` as is when it is not a directory (a missing path is an error), and
/// every `*.qasm` regular file under each directory, in sorted order within a directory. A
/// file reached twice (through two inputs or two links) is listed once.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut walk = Walk::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| DiscoverError {
            path: input.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk.dir(input)?;
        } else {
            walk.file(input);
        }
    }
    Ok(walk.out)
}

#[derive(Default)]
struct Walk {
    out: Vec<PathBuf>,
    dirs: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
}

impl Walk {
    fn file(&mut self, path: &Path) {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.files.insert(key) {
            self.out.push(path.to_path_buf());
        }
    }

    fn dir(&mut self, path: &Path) -> Result<(), DiscoverError> {
        let err = |source| DiscoverError {
            path: path.to_path_buf(),
            source,
        };
        let canonical = std::fs::canonicalize(path).map_err(err)?;
        if !self.dirs.insert(canonical) {
            return Ok(());
        }
        if self.dirs.len() > MAX_DIRECTORIES {
            return Err(err(std::io::Error::other(format!(
                "more than {MAX_DIRECTORIES} directories to search"
            ))));
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        entries.sort();
        for p in entries {
            // Followed through links; a dangling link is skipped like any non-file.
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                self.dir(&p)?;
            } else if meta.is_file() && p.extension().is_some_and(|e| e == "qasm") {
                self.file(&p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let e = discover(&[PathBuf::from("/no/such/circuit.qasm")]).unwrap_err();
        assert_eq!(e.to_string(), "cannot read /no/such/circuit.qasm");
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn link_cycles_are_visited_once() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("c");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.qasm"), "").unwrap();
        std::fs::write(root.join("sub/b.qasm"), "").unwrap();
        std::fs::write(root.join("notes.txt"), "").unwrap();
        std::os::unix::fs::symlink(".", root.join("self")).unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        let found = discover(std::slice::from_ref(&root)).unwrap();
        assert_eq!(found, vec![root.join("a.qasm"), root.join("sub/b.qasm")]);
    }
}

/// Source and family of a circuit from its path, as the corpus names them: the parent
/// directory is the source and the file stem up to the first size field (`n16`, `d10`, `16`)
/// the family: `mqtbench/qft_16.qasm` → (`mqtbench`, `qft`),
/// `clifford/cliff_layered_n100_d10.qasm` → (`clifford`, `cliff_layered`). Telemetry records
/// them, and models are evaluated leaving whole families out.
pub fn corpus_tags(path: &Path) -> (Option<String>, Option<String>) {
    let source = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let family = stem.map(|s| {
        s.split('_')
            .take_while(|p| {
                let digits = p.trim_start_matches(['n', 'd']);
                digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit())
            })
            .collect::<Vec<_>>()
            .join("_")
    });
    (source, family)
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn corpus_tags_cut_the_stem_at_the_first_size_field() {
        let tag = |p: &str| corpus_tags(Path::new(p));
        assert_eq!(
            tag("mqtbench/qft_16.qasm"),
            (Some("mqtbench".into()), Some("qft".into()))
        );
        assert_eq!(
            tag("x/clifford/cliff_layered_n100_d10.qasm"),
            (Some("clifford".into()), Some("cliff_layered".into()))
        );
        // `dj` and `n` alone are words, not sizes.
        assert_eq!(tag("dj_n.qasm"), (None, Some("dj_n".into())));
    }
}
