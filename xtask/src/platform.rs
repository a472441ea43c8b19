//! The platforms a release can carry, and building the provider for one.
//!
//! The host platform is built with plain `cargo build --release`. Any other
//! platform needs two things that a machine may or may not have: Rust's
//! standard library for the target (`rustup target add <triple>`) and a
//! cross linker and C compiler (aws-lc, under rustls, is C), for which this
//! uses `cargo zigbuild` (PyPI: `pip install cargo-zigbuild`, which brings
//! zig). When either is missing, or the build fails, the platform is
//! reported as skipped with the reason.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// One Terraform platform (`<os>_<arch>`) and the Rust target that builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub os: &'static str,
    pub arch: &'static str,
    pub triple: &'static str,
}

/// Every platform a release may carry, in the order they are built.
pub const ALL: &[Platform] = &[
    Platform {
        os: "linux",
        arch: "amd64",
        triple: "x86_64-unknown-linux-gnu",
    },
    Platform {
        os: "linux",
        arch: "arm64",
        triple: "aarch64-unknown-linux-gnu",
    },
    Platform {
        os: "darwin",
        arch: "amd64",
        triple: "x86_64-apple-darwin",
    },
    Platform {
        os: "darwin",
        arch: "arm64",
        triple: "aarch64-apple-darwin",
    },
    Platform {
        os: "windows",
        arch: "amd64",
        triple: "x86_64-pc-windows-gnu",
    },
];

impl Platform {
    /// `linux_amd64`, as Terraform names platforms.
    pub fn name(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }

    pub fn parse(name: &str) -> Result<Platform> {
        ALL.iter()
            .find(|p| p.name() == name)
            .copied()
            .with_context(|| {
                format!(
                    "unknown platform {name:?}; known: all, {}",
                    ALL.iter()
                        .map(Platform::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The platform this tool runs on, if a release can carry it.
    pub fn host() -> Option<Platform> {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            _ => return None,
        };
        ALL.iter().find(|p| p.os == os && p.arch == arch).copied()
    }

    pub fn exe_suffix(&self) -> &'static str {
        if self.os == "windows" { ".exe" } else { "" }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why a platform was not built (a skip, not an error, unless it was asked for).
#[derive(Debug)]
pub struct Skip(pub String);

/// What a build needs to know about the workspace.
pub struct BuildContext<'a> {
    pub workspace_root: &'a Path,
    pub target_dir: &'a Path,
    pub package: &'a str,
    pub bin: &'a str,
    pub log_dir: &'a Path,
}

/// Builds the provider for `platform` in release mode and returns the
/// binary's path.
pub fn build(ctx: &BuildContext<'_>, platform: Platform, host: bool) -> Result<PathBuf, Skip> {
    let mut cmd = if host {
        let mut c = Command::new(cargo());
        c.args([
            "build",
            "--release",
            "--locked",
            "-p",
            ctx.package,
            "--bin",
            ctx.bin,
        ]);
        c
    } else {
        check_std_installed(platform)?;
        check_zigbuild()?;
        check_macos_sdk(platform)?;
        let mut c = Command::new(cargo());
        c.args([
            "zigbuild",
            "--release",
            "--locked",
            "-p",
            ctx.package,
            "--bin",
            ctx.bin,
            "--target",
            platform.triple,
        ]);
        c
    };
    cmd.current_dir(ctx.workspace_root);
    let bin = if host {
        ctx.target_dir.join("release").join(ctx.bin)
    } else {
        ctx.target_dir
            .join(platform.triple)
            .join("release")
            .join(format!("{}{}", ctx.bin, platform.exe_suffix()))
    };
    eprintln!("release: building {platform} ({})", platform.triple);
    if host {
        // The host build is the one people wait for: show cargo's progress.
        let status = cmd
            .status()
            .map_err(|e| Skip(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(Skip(format!("cargo build failed ({status})")));
        }
    } else {
        std::fs::create_dir_all(ctx.log_dir).map_err(|e| Skip(e.to_string()))?;
        let log_path = ctx.log_dir.join(format!("build-{platform}.log"));
        let log = File::create(&log_path).map_err(|e| Skip(e.to_string()))?;
        let status = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .status()
            .map_err(|e| Skip(format!("cannot run cargo zigbuild: {e}")))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(Skip(format!(
                "cargo zigbuild failed: {} (full log: {})",
                first_error(&text),
                log_path.display()
            )));
        }
    }
    if !bin.is_file() {
        return Err(Skip(format!(
            "the build succeeded but {} is missing",
            bin.display()
        )));
    }
    Ok(bin)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Rust's standard library for the target must be in the sysroot.
fn check_std_installed(platform: Platform) -> Result<(), Skip> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| Skip(format!("cannot run {rustc}: {e}")))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let lib = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(platform.triple)
        .join("lib");
    let has_std = std::fs::read_dir(&lib)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libstd-") && name.ends_with(".rlib")
            })
        })
        .unwrap_or(false);
    if has_std {
        Ok(())
    } else {
        Err(Skip(format!(
            "Rust's standard library for {} is not installed (rustup target add {})",
            platform.triple, platform.triple
        )))
    }
}

/// `cargo zigbuild` links (and compiles aws-lc's C) for other platforms.
fn check_zigbuild() -> Result<(), Skip> {
    let ok = Command::new("cargo-zigbuild")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(Skip(
            "cargo-zigbuild is not installed (pip install cargo-zigbuild, which brings zig)"
                .to_owned(),
        ))
    }
}

/// zig ships libSystem for macOS but not Apple's frameworks, and the
/// provider links Security and CoreFoundation (rustls-platform-verifier, to
/// trust the macOS keychain). Without an SDK (`SDKROOT`) the link fails after
/// minutes of compiling, so say so up front.
fn check_macos_sdk(platform: Platform) -> Result<(), Skip> {
    if platform.os != "darwin" || std::env::consts::OS == "macos" {
        return Ok(());
    }
    match std::env::var_os("SDKROOT") {
        Some(sdk) if Path::new(&sdk).join("System/Library/Frameworks").is_dir() => Ok(()),
        Some(sdk) => Err(Skip(format!(
            "SDKROOT={} has no System/Library/Frameworks",
            Path::new(&sdk).display()
        ))),
        None => Err(Skip(
            "linking for macOS needs the macOS SDK's Security and CoreFoundation frameworks \
             (rustls-platform-verifier); set SDKROOT to a MacOSX.sdk"
                .to_owned(),
        )),
    }
}

/// The first `error...` line of a cargo log and the line after it, for a
/// one-line reason; the log keeps the rest.
fn first_error(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    match lines
        .iter()
        .position(|l| l.trim_start().starts_with("error"))
    {
        Some(i) => {
            let mut s = lines[i].trim().to_owned();
            // The linker's own complaint, when there is one.
            if let Some(detail) = lines[i + 1..].iter().take(200).map(|l| l.trim()).find(|l| {
                l.contains("error:") || l.contains("unable to find") || l.contains("not found")
            }) {
                s.push_str(": ");
                s.push_str(detail);
            }
            s.chars().take(400).collect()
        }
        None => lines.last().copied().unwrap_or("no output").to_owned(),
    }
}

/// Checks the executable's header: ELF, Mach-O or PE, for the platform's
/// CPU. A cross build that silently produced a host binary fails here.
pub fn check_executable(path: &Path, platform: Platform) -> Result<()> {
    let mut f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut head = [0u8; 64];
    f.read_exact(&mut head)
        .with_context(|| format!("{} is too short for an executable", path.display()))?;
    let found = match (platform.os, platform.arch) {
        ("linux", arch) => {
            if &head[..4] != b"\x7fELF" {
                bail!("{} is not an ELF executable", path.display());
            }
            // e_machine, little-endian on both supported CPUs.
            let machine = u16::from_le_bytes([head[18], head[19]]);
            (machine == 0x3e && arch == "amd64") || (machine == 0xb7 && arch == "arm64")
        }
        ("darwin", arch) => {
            let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            if magic != 0xfeed_facf {
                bail!("{} is not a 64-bit Mach-O executable", path.display());
            }
            let cpu = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            (cpu == 0x0100_0007 && arch == "amd64") || (cpu == 0x0100_000c && arch == "arm64")
        }
        ("windows", arch) => {
            if &head[..2] != b"MZ" {
                bail!("{} is not a PE executable", path.display());
            }
            let pe = u32::from_le_bytes([head[60], head[61], head[62], head[63]]);
            let mut sig = [0u8; 6];
            f.seek(SeekFrom::Start(u64::from(pe)))?;
            f.read_exact(&mut sig)?;
            if &sig[..4] != b"PE\0\0" {
                bail!("{} has no PE header", path.display());
            }
            let machine = u16::from_le_bytes([sig[4], sig[5]]);
            machine == 0x8664 && arch == "amd64"
        }
        _ => false,
    };
    if !found {
        bail!(
            "{} is not an executable for {platform} (wrong CPU in its header)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for p in ALL {
            assert_eq!(Platform::parse(&p.name()).unwrap(), *p);
        }
        assert!(Platform::parse("plan9_amd64").is_err());
    }

    #[test]
    fn this_test_binary_is_a_host_executable() {
        let host = Platform::host().expect("tests run on a supported host");
        let exe = std::env::current_exe().unwrap();
        check_executable(&exe, host).unwrap();
        let other = ALL
            .iter()
            .find(|p| p.os == host.os && p.arch != host.arch)
            .unwrap();
        assert!(check_executable(&exe, *other).is_err());
    }

    #[test]
    fn first_error_takes_the_linkers_complaint() {
        let log = "   Compiling x\nerror: linking with `cc` failed: exit status: 1\n  |\n  = note: some args\n  = note: ld: error: unable to find framework Security\n";
        let e = first_error(log);
        assert!(e.starts_with("error: linking with"), "{e}");
        assert!(e.contains("framework Security"), "{e}");
    }
}
