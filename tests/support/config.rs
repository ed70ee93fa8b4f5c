//! Temporary config directories: a config file and the database it points to.

use std::path::PathBuf;

/// A temporary directory holding a config file and the database it points to.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database every config written here uses.
    pub fn db_path(&self) -> PathBuf {
        self.path("state/newshound.db")
    }

    /// Writes `newshound.toml` with a short fetch timeout, no jitter, and `body` appended.
    pub fn write_config(&self, body: &str) -> PathBuf {
        let path = self.path("newshound.toml");
        let text = format!(
            "[storage]\npath = \"state/newshound.db\"\n\n[fetch]\ntimeout_secs = 3\nconnect_timeout_secs = 2\njitter_secs = 0\n\n{body}"
        );
        std::fs::write(&path, text).expect("write config");
        path
    }
}
