//! `cargo xtask release`: builds terraform-provider-mto in release mode and
//! writes everything needed to install it like any provider: the zips and
//! SHA256SUMS a registry serves (signed with `--gpg-key`), a filesystem
//! mirror and a network mirror. See the README's "Installing" section.

mod artifacts;
mod platform;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::artifacts::MirrorArchive;
use crate::platform::{BuildContext, Platform, Skip};

/// The provider's source address: `<host>/<namespace>/<type>`, as in
/// `provider/src/lib.rs`.
const HOST: &str = "registry.terraform.io";
const NAMESPACE: &str = "mto-provider";
const TYPE: &str = "mto";
const PACKAGE: &str = "terraform-provider-mto";

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "Project tasks for terraform-provider-mto")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build release zips, SHA256SUMS (signed with --gpg-key), the registry
    /// manifest, a filesystem mirror and a network mirror.
    Release(ReleaseArgs),
}

#[derive(Debug, clap::Args)]
struct ReleaseArgs {
    /// Platforms to build, comma-separated or repeated: `all` (the default)
    /// or any of linux_amd64, linux_arm64, darwin_amd64, darwin_arm64,
    /// windows_amd64. With `all`, the host platform must build and the
    /// others are skipped, with the reason, when this machine cannot build
    /// them; a platform named explicitly must build.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    platform: Vec<String>,

    /// Output directory [default: <cargo target dir>/dist].
    #[arg(long)]
    out: Option<PathBuf>,

    /// Sign SHA256SUMS with this GnuPG key (id, fingerprint or e-mail):
    /// writes the binary detached signature `..._SHA256SUMS.sig` that
    /// registries want, and the public key as `..._signing-key.asc`.
    /// GNUPGHOME is honoured.
    #[arg(long, value_name = "KEY")]
    gpg_key: Option<String>,

    /// Package this binary as the host platform's instead of building it
    /// (it must print this version for --version). For tests that already
    /// have a build; a release is built by the command itself.
    #[arg(long, value_name = "PATH")]
    prebuilt: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Release(args) => release(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("release: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What `cargo metadata` tells about the workspace.
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    version: String,
}

fn workspace() -> Result<Workspace> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .with_context(|| format!("run {cargo} metadata"))?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let version = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == PACKAGE))
        .and_then(|p| p["version"].as_str())
        .with_context(|| format!("package {PACKAGE} is not in the workspace"))?
        .to_owned();
    let path = |key: &str| -> Result<PathBuf> {
        meta[key]
            .as_str()
            .map(PathBuf::from)
            .with_context(|| format!("cargo metadata has no {key}"))
    };
    Ok(Workspace {
        root: path("workspace_root")?,
        target_dir: path("target_directory")?,
        version,
    })
}

/// The platforms to build, and whether each must build.
fn selection(names: &[String], host: Option<Platform>) -> Result<Vec<(Platform, bool)>> {
    let mut out: Vec<(Platform, bool)> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if name == "all" {
            for p in platform::ALL {
                if !out.iter().any(|(q, _)| q == p) {
                    out.push((*p, Some(*p) == host));
                }
            }
        } else {
            let p = Platform::parse(name)?;
            match out.iter_mut().find(|(q, _)| *q == p) {
                Some(entry) => entry.1 = true,
                None => out.push((p, true)),
            }
        }
    }
    if out.is_empty() {
        bail!("no platform selected");
    }
    Ok(out)
}

fn release(args: ReleaseArgs) -> Result<()> {
    let started = Instant::now();
    let ws = workspace()?;
    let version = ws.version.clone();
    let host = Platform::host();
    let selected = selection(&args.platform, host)?;
    if let Some(p) = &args.prebuilt {
        let host = host.context("--prebuilt needs a host platform a release can carry")?;
        if !selected.iter().any(|(q, _)| *q == host) {
            bail!(
                "--prebuilt {} is the host's ({host}) binary, but {host} is not selected",
                p.display()
            );
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ws.target_dir.join("dist"));
    let manifest_src = ws.root.join("terraform-registry-manifest.json");
    let manifest_text = fs::read_to_string(&manifest_src)
        .with_context(|| format!("read {}", manifest_src.display()))?;
    check_manifest(&manifest_text)?;
    let ctx = BuildContext {
        workspace_root: &ws.root,
        target_dir: &ws.target_dir,
        package: PACKAGE,
        bin: PACKAGE,
        log_dir: &ws.target_dir.join("xtask-logs"),
    };

    // Build (or take) every selected platform's binary.
    let mut built: Vec<(Platform, PathBuf)> = Vec::new();
    let mut skipped: Vec<(Platform, String)> = Vec::new();
    for (p, required) in &selected {
        let is_host = Some(*p) == host;
        let t = Instant::now();
        let result = match (&args.prebuilt, is_host) {
            (Some(path), true) => Ok(path.clone()),
            _ => platform::build(&ctx, *p, is_host),
        }
        .and_then(|bin| {
            verify_binary(&bin, *p, is_host, &version).map_err(|e| Skip(format!("{e:#}")))?;
            Ok(bin)
        });
        match result {
            Ok(bin) => {
                eprintln!(
                    "release: {p}: {} ({:.0} s)",
                    bin.display(),
                    t.elapsed().as_secs_f64()
                );
                built.push((*p, bin));
            }
            Err(Skip(reason)) if !required => {
                eprintln!("release: {p}: skipped: {reason}");
                skipped.push((*p, reason));
            }
            Err(Skip(reason)) => bail!("{p} was asked for but cannot be built: {reason}"),
        }
    }

    if built.is_empty() {
        bail!("no platform could be built");
    }

    // The release directory: what a registry (or a release page) serves.
    let release_dir = out.join(&version);
    fs::create_dir_all(&release_dir)?;
    remove_version_files(&release_dir, &version)?;
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    let mut archives: Vec<MirrorArchive> = Vec::new();
    for (p, bin) in &built {
        let zip_name = format!("{PACKAGE}_{version}_{p}.zip");
        let inner = format!("{PACKAGE}_v{version}{}", p.exe_suffix());
        let zip_path = release_dir.join(&zip_name);
        artifacts::write_zip(bin, &zip_path, &inner)?;
        let sha256 = artifacts::sha256_file(&zip_path)?;
        sums.insert(zip_name.clone(), sha256.clone());
        archives.push(MirrorArchive {
            platform: p.name(),
            file_name: zip_name,
            h1: artifacts::h1_of_zip(&zip_path)?,
            sha256,
        });
    }
    let manifest_name = format!("{PACKAGE}_{version}_manifest.json");
    fs::write(release_dir.join(&manifest_name), &manifest_text)?;
    sums.insert(
        manifest_name.clone(),
        artifacts::sha256_file(&release_dir.join(&manifest_name))?,
    );
    let sums_name = format!("{PACKAGE}_{version}_SHA256SUMS");
    let sums_path = release_dir.join(&sums_name);
    fs::write(&sums_path, artifacts::sha256sums(&sums))?;
    if let Some(key) = &args.gpg_key {
        sign(
            &sums_path,
            key,
            &release_dir.join(format!("{PACKAGE}_{version}_signing-key.asc")),
        )?;
    }

    // The filesystem mirror, packed layout: what `terraform providers mirror`
    // writes and a `filesystem_mirror` block reads.
    let fs_mirror = out.join("mirror");
    let fs_dir = fs_mirror.join(HOST).join(NAMESPACE).join(TYPE);
    fs::create_dir_all(&fs_dir)?;
    remove_version_files(&fs_dir, &version)?;
    for a in &archives {
        fs::copy(release_dir.join(&a.file_name), fs_dir.join(&a.file_name))?;
    }

    // The network mirror: static files for any https server.
    let net_mirror = out.join("network-mirror");
    let net_dir = net_mirror.join(HOST).join(NAMESPACE).join(TYPE);
    fs::create_dir_all(&net_dir)?;
    remove_version_files(&net_dir, &version)?;
    for a in &archives {
        fs::copy(release_dir.join(&a.file_name), net_dir.join(&a.file_name))?;
    }
    artifacts::write_json(
        &net_dir.join(format!("{version}.json")),
        &artifacts::network_mirror_version_json(&archives),
    )?;
    let index_path = net_dir.join("index.json");
    let existing = fs::read_to_string(&index_path).ok();
    artifacts::write_json(
        &index_path,
        &artifacts::network_mirror_index_json(existing.as_deref(), &version)?,
    )?;

    // The summary.
    println!("{PACKAGE} {version}");
    println!("release files:     {}", release_dir.display());
    for name in sums.keys() {
        println!("  {name}");
    }
    println!("  {sums_name}");
    if args.gpg_key.is_some() {
        println!("  {sums_name}.sig");
        println!("  {PACKAGE}_{version}_signing-key.asc (not listed in SHA256SUMS)");
    }
    println!("lock file hashes:");
    for a in &archives {
        println!("  {}: {} zh:{}", a.platform, a.h1, a.sha256);
    }
    println!("filesystem mirror: {}", fs_mirror.display());
    println!(
        "network mirror:    {} (serve over https)",
        net_mirror.display()
    );
    println!(
        "built:   {}",
        built
            .iter()
            .map(|(p, _)| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (p, reason) in &skipped {
        println!("skipped: {p}: {reason}");
    }
    println!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The registry manifest must say protocol 6.0: that is what tfplugin serves.
fn check_manifest(text: &str) -> Result<()> {
    let v: serde_json::Value =
        serde_json::from_str(text).context("terraform-registry-manifest.json is not JSON")?;
    if v["version"] != 1 || v["metadata"]["protocol_versions"] != serde_json::json!(["6.0"]) {
        bail!(
            "terraform-registry-manifest.json must be {{\"version\": 1, \"metadata\": {{\"protocol_versions\": [\"6.0\"]}}}}"
        );
    }
    Ok(())
}

/// The header matches the platform; a host binary also runs and reports
/// the version being released (a stale --prebuilt fails here).
fn verify_binary(bin: &Path, p: Platform, is_host: bool, version: &str) -> Result<()> {
    platform::check_executable(bin, p)?;
    if is_host {
        let out = Command::new(bin)
            .arg("--version")
            .output()
            .with_context(|| format!("run {} --version", bin.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let expected = format!("{HOST}/{NAMESPACE}/{TYPE} {version}");
        if !out.status.success() || text.trim() != expected {
            bail!(
                "{} --version printed {:?}, expected {expected:?}",
                bin.display(),
                text.trim()
            );
        }
    }
    Ok(())
}

/// Removes this version's zips (and signature) left by an earlier run, so a
/// directory holds exactly the platforms built now.
fn remove_version_files(dir: &Path, version: &str) -> Result<()> {
    let prefix = format!("{PACKAGE}_{version}_");
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// `gpg --detach-sign`: a binary signature, which is what registries take.
fn sign(sums: &Path, key: &str, public_key: &Path) -> Result<()> {
    let sig = sums.with_file_name(format!(
        "{}.sig",
        sums.file_name().unwrap().to_string_lossy()
    ));
    let gpg = |args: &[&std::ffi::OsStr]| -> Result<std::process::Output> {
        let out = Command::new("gpg")
            .arg("--batch")
            .args(args)
            .output()
            .context("run gpg (install GnuPG: apt-get install gnupg)")?;
        if !out.status.success() {
            bail!(
                "gpg failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    };
    gpg(&[
        "--yes".as_ref(),
        "--local-user".as_ref(),
        key.as_ref(),
        "--output".as_ref(),
        sig.as_os_str(),
        "--detach-sign".as_ref(),
        sums.as_os_str(),
    ])?;
    gpg(&["--verify".as_ref(), sig.as_os_str(), sums.as_os_str()])
        .context("the new signature does not verify")?;
    let armored = gpg(&["--armor".as_ref(), "--export".as_ref(), key.as_ref()])?;
    if armored.stdout.is_empty() {
        bail!("gpg exported no public key for {key}");
    }
    fs::write(public_key, armored.stdout)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sel: &[(Platform, bool)]) -> Vec<String> {
        sel.iter()
            .map(|(p, req)| format!("{p}{}", if *req { "!" } else { "" }))
            .collect()
    }

    #[test]
    fn all_requires_only_the_host() {
        let host = Platform::parse("linux_amd64").ok();
        let sel = selection(&["all".to_owned()], host).unwrap();
        assert_eq!(
            names(&sel),
            [
                "linux_amd64!",
                "linux_arm64",
                "darwin_amd64",
                "darwin_arm64",
                "windows_amd64"
            ]
        );
    }

    #[test]
    fn named_platforms_are_required() {
        let host = Platform::parse("linux_amd64").ok();
        let sel = selection(&["linux_amd64".into(), "windows_amd64".into()], host).unwrap();
        assert_eq!(names(&sel), ["linux_amd64!", "windows_amd64!"]);
        let sel = selection(&["all".into(), "darwin_arm64".into()], host).unwrap();
        assert!(names(&sel).contains(&"darwin_arm64!".to_owned()));
        assert!(selection(&["linux_s390x".into()], host).is_err());
    }

    #[test]
    fn the_repository_manifest_says_protocol_6() {
        let text = include_str!("../../terraform-registry-manifest.json");
        check_manifest(text).unwrap();
        assert!(
            check_manifest(r#"{"version":1,"metadata":{"protocol_versions":["5.0"]}}"#).is_err()
        );
    }
}
