//! The files a release is made of: zips, their hashes, SHA256SUMS, and the
//! mirror layouts Terraform reads.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of a file: the `zh:` hash Terraform records for a zip, and
/// the lines of SHA256SUMS.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    sha256_reader(&mut f).with_context(|| format!("read {}", path.display()))
}

fn sha256_reader(r: &mut impl Read) -> io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Terraform's `h1:` hash of a provider package: the Go modules "dirhash"
/// (version 1) of the zip's contents. It is SHA-256 over the lines
/// `"<sha256 hex of the file>  <path>\n"`, one per file sorted by path,
/// base64-encoded. It hashes what is inside the zip, so a re-packed zip of
/// the same binary keeps its `h1:` while its `zh:` changes.
pub fn h1_of_zip(path: &Path) -> Result<String> {
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(f).with_context(|| format!("read {}", path.display()))?;
    let mut files = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name()?.into_owned();
        if name.contains('\n') {
            bail!(
                "{}: a file name with a newline cannot be hashed",
                path.display()
            );
        }
        files.insert(name, sha256_reader(&mut entry)?);
    }
    Ok(h1_of_files(&files))
}

/// The dirhash of files already hashed: path -> hex SHA-256.
pub fn h1_of_files(files: &BTreeMap<String, String>) -> String {
    let mut summary = Sha256::new();
    for (name, sum) in files {
        summary.update(format!("{sum}  {name}\n").as_bytes());
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    )
}

/// Writes a zip holding one executable, `name`, with mode 0755 and a fixed
/// timestamp, so the same binary always gives the same zip (and `zh:`).
pub fn write_zip(binary: &Path, zip_path: &Path, name: &str) -> Result<()> {
    let tmp = zip_path.with_extension("zip.tmp");
    let out = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default())
        .large_file(fs::metadata(binary)?.len() >= u64::from(u32::MAX));
    zip.start_file(name, options)?;
    let mut input = File::open(binary).with_context(|| format!("open {}", binary.display()))?;
    io::copy(&mut input, &mut zip)?;
    zip.finish()?.flush()?;
    fs::rename(&tmp, zip_path)?;
    Ok(())
}

/// SHA256SUMS in the format `sha256sum` writes and registries read:
/// `<hex>  <file name>`, sorted by name.
pub fn sha256sums(files: &BTreeMap<String, String>) -> String {
    files
        .iter()
        .map(|(name, sum)| format!("{sum}  {name}\n"))
        .collect()
}

/// One archive in a network mirror's `<version>.json`.
pub struct MirrorArchive {
    pub platform: String,
    pub file_name: String,
    pub h1: String,
    /// SHA-256 of the zip, hex.
    pub sha256: String,
}

/// `<version>.json` of the provider network mirror protocol. URLs are
/// relative to this document, so the zips sit beside it. Each archive lists
/// its `h1:`, as `terraform providers mirror` writes. (A `zh:` would only
/// be checked, never recorded: Terraform records upstream hashes in lock
/// files only from a signed SHA256SUMS.)
pub fn network_mirror_version_json(archives: &[MirrorArchive]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for a in archives {
        map.insert(
            a.platform.clone(),
            serde_json::json!({ "url": a.file_name, "hashes": [a.h1] }),
        );
    }
    serde_json::json!({ "archives": map })
}

/// `index.json` of the network mirror protocol: the versions already in the
/// mirror (if it has an index) and this one.
pub fn network_mirror_index_json(
    existing: Option<&str>,
    version: &str,
) -> Result<serde_json::Value> {
    let mut versions = serde_json::Map::new();
    if let Some(text) = existing {
        let old: serde_json::Value =
            serde_json::from_str(text).context("the mirror's index.json is not JSON")?;
        if let Some(v) = old.get("versions").and_then(|v| v.as_object()) {
            versions.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    versions.insert(version.to_owned(), serde_json::json!({}));
    Ok(serde_json::json!({ "versions": versions }))
}

/// Writes JSON the way people read it, with a final newline.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_matches_go_dirhash() {
        // dirhash.Hash1 over {"a": "hello\n"}, computed by hand:
        // sha256("hello\n") = 5891b5b5...; summary line "<hex>  a\n".
        let mut files = BTreeMap::new();
        files.insert(
            "a".to_owned(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03".to_owned(),
        );
        let summary =
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  a\n".as_bytes();
        let expected = format!(
            "h1:{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary))
        );
        assert_eq!(h1_of_files(&files), expected);
    }

    #[test]
    fn zips_are_reproducible_and_hash_their_contents() {
        let dir = std::env::temp_dir().join(format!("xtask-zip-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("bin");
        fs::write(&bin, b"hello\n").unwrap();
        let (a, b) = (dir.join("a.zip"), dir.join("b.zip"));
        write_zip(&bin, &a, "a").unwrap();
        write_zip(&bin, &b, "a").unwrap();
        assert_eq!(sha256_file(&a).unwrap(), sha256_file(&b).unwrap());
        let mut files = BTreeMap::new();
        files.insert("a".to_owned(), sha256_file(&bin).unwrap());
        assert_eq!(h1_of_zip(&a).unwrap(), h1_of_files(&files));
        let mut zip = zip::ZipArchive::new(File::open(&a).unwrap()).unwrap();
        assert_eq!(
            zip.by_index(0).unwrap().unix_mode().map(|m| m & 0o777),
            Some(0o755)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn index_keeps_earlier_versions() {
        let v = network_mirror_index_json(Some(r#"{"versions":{"0.1.0":{}}}"#), "0.2.0").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"versions": {"0.1.0": {}, "0.2.0": {}}})
        );
        let v = network_mirror_index_json(None, "0.2.0").unwrap();
        assert_eq!(v, serde_json::json!({"versions": {"0.2.0": {}}}));
    }
}
