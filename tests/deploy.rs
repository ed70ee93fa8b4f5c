//! The deploy files (`Containerfile`, `contrib/`) are part of the product: no container engine
//! or systemd runs on CI machines, so these tests check what can be checked without one — the
//! image builds the way CI builds, its runtime is unprivileged, every file it copies exists,
//! the configs it ships pass `check-config`, and the systemd unit passes
//! `systemd-analyze verify` with its hardening in place.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::binary::newshound;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The Containerfile's instructions, one `(KEYWORD, arguments)` per instruction, with `\`
/// continuations joined and comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (keyword, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
        out.push((keyword.to_uppercase(), rest.trim().to_string()));
        pending.clear();
    }
    out
}

#[test]
fn the_container_image_builds_like_ci_and_runs_unprivileged() {
    let steps = instructions(&read("Containerfile"));
    let stages: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let (build, runtime) = steps.split_at(stages[1]);

    // The binary is built exactly as the README and CI build it: locked, release.
    assert!(
        build
            .iter()
            .any(|(k, a)| k == "RUN" && a.contains("cargo build --release --locked")),
        "the build stage runs `cargo build --release --locked`"
    );
    // The runtime stage has no toolchain and drops root.
    assert!(
        !runtime[0].1.contains("rust"),
        "runtime base is not the build image: {}",
        runtime[0].1
    );
    let user = runtime
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .map(|(_, a)| a.clone())
        .expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as {user}"
    );
    // The database is on a volume, and the runtime user owns its mount point.
    assert!(runtime
        .iter()
        .any(|(k, a)| k == "VOLUME" && a.contains("/var/lib/newshound")));
    assert!(runtime.iter().any(|(k, a)| k == "COPY"
        && a.contains("--chown=65532")
        && a.ends_with("/var/lib/newshound")));
    // No token is baked in: no ENV or ARG mentions it.
    assert!(!steps
        .iter()
        .any(|(k, a)| (k == "ENV" || k == "ARG") && a.contains("TOKEN")));

    // Every file copied from the build context exists in the repository.
    for (keyword, args) in &steps {
        if keyword != "COPY" || args.contains("--from=") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(
                repo(source).exists(),
                "Containerfile copies `{source}`, which is not in the repository"
            );
        }
    }
    // Every file the crate compiles in (include_bytes!/include_str! outside tests) is copied.
    let copied: Vec<String> = steps
        .iter()
        .filter(|(k, a)| k == "COPY" && !a.contains("--from="))
        .flat_map(|(_, a)| a.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for dir in ["src", "config"] {
        assert!(copied.iter().any(|c| c == dir), "`{dir}` is copied");
    }
    for dir in compiled_in_dirs() {
        assert!(
            copied.contains(&dir),
            "the crate compiles in files from `{dir}/` (include_bytes!/include_str!), so the image must copy it"
        );
    }
}

/// Top-level folders (other than `src`, `tests`) that `src/` compiles files in from.
fn compiled_in_dirs() -> Vec<String> {
    let mut dirs = Vec::new();
    let mut stack = vec![repo("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for part in text
                .split("include_bytes!(\"")
                .chain(text.split("include_str!(\""))
                .skip(1)
            {
                let Some(rel) = part.split('"').next() else {
                    continue;
                };
                let Some(parent) = path.parent() else {
                    continue;
                };
                let target = parent.join(rel);
                let Ok(target) = target.canonicalize() else {
                    continue;
                };
                let Ok(inside) = target.strip_prefix(repo("").canonicalize().expect("repo")) else {
                    continue;
                };
                if let Some(top) = inside.components().next() {
                    let top = top.as_os_str().to_string_lossy().into_owned();
                    if top != "src" && top != "tests" && !dirs.contains(&top) {
                        dirs.push(top);
                    }
                }
            }
        }
    }
    dirs
}

#[test]
fn the_shipped_configs_pass_check_config() {
    // The container's config as shipped.
    let out = newshound(&[
        "check-config",
        "--config",
        repo("contrib/container.toml").to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "contrib/container.toml: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The systemd config names the unit's credential; with that file present it is valid, and
    // without it check-config (the unit's ExecStartPre) says which key and what to do.
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("discord-token");
    std::fs::write(&token, "not-a-real-token").expect("write token");
    let text = read("contrib/systemd.toml");
    assert!(text.contains("/run/credentials/newshound.service/discord-token"));
    let present = dir.path().join("present.toml");
    std::fs::write(
        &present,
        text.replace(
            "/run/credentials/newshound.service/discord-token",
            token.to_str().expect("utf-8 path"),
        ),
    )
    .expect("write config");
    let out = newshound(&[
        "check-config",
        "--config",
        present.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let absent = dir.path().join("absent.toml");
    std::fs::write(
        &absent,
        text.replace(
            "/run/credentials/newshound.service/discord-token",
            dir.path().join("missing").to_str().expect("utf-8 path"),
        ),
    )
    .expect("write config");
    let out = newshound(&[
        "check-config",
        "--config",
        absent.to_str().expect("utf-8 path"),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("discord.token_file") && stderr.contains("DISCORD_TOKEN"),
        "{stderr}"
    );
}

/// The unit with its paths pointed at files that exist here, as `systemd-analyze verify`
/// checks that executables and credential files exist.
fn unit_for_verify(dir: &Path, text: &str) -> PathBuf {
    let token = dir.join("discord-token");
    std::fs::write(&token, "x").expect("write token");
    let unit = dir.join("newshound.service");
    std::fs::write(
        &unit,
        text.replace("/usr/local/bin/newshound", env!("CARGO_BIN_EXE_newshound"))
            .replace(
                "/etc/newshound/discord-token",
                token.to_str().expect("utf-8 path"),
            ),
    )
    .expect("write unit");
    unit
}

fn verify(unit: &Path) -> Option<(bool, String)> {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let text = read("contrib/newshound.service");
    for key in [
        "DynamicUser=yes",
        "StateDirectory=newshound",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "LoadCredential=discord-token:",
        "ExecStartPre=/usr/local/bin/newshound check-config",
    ] {
        assert!(
            text.lines().any(|l| l.trim().starts_with(key)),
            "the unit sets {key}"
        );
    }
    // The unit and the config it reads agree on where the database and token live.
    let config = read("contrib/systemd.toml");
    assert!(config.contains("path = \"/var/lib/newshound/")); // StateDirectory=newshound
    assert!(!text.contains("DISCORD_TOKEN="), "no token in the unit");

    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_for_verify(dir.path(), &text);
    let Some((ok, stderr)) = verify(&unit) else {
        eprintln!("SKIPPED: systemd-analyze is not installed; the unit was checked by key only");
        return;
    };
    assert!(
        ok && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    // The check can fail: a mistyped value is reported.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    let unit = unit_for_verify(
        &broken,
        &text.replace("ProtectSystem=strict", "ProtectSystem=strictly"),
    );
    let (_, stderr) = verify(&unit).expect("ran before");
    assert!(
        stderr.contains("ProtectSystem") || stderr.contains("protect system"),
        "{stderr}"
    );
}

#[test]
fn release_builds_strip_symbols() {
    let manifest: toml::Value = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let strip = manifest
        .get("profile")
        .and_then(|p| p.get("release"))
        .and_then(|r| r.get("strip"));
    assert!(
        matches!(strip, Some(toml::Value::Boolean(true)))
            || matches!(strip, Some(toml::Value::String(s)) if s == "symbols"),
        "[profile.release] strip = true (found {strip:?})"
    );
}
