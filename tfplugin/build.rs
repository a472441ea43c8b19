//! Generates the tfplugin6 and go-plugin gRPC code from `proto/` at build
//! time. `protox` parses the `.proto` files in pure Rust, so a fresh machine
//! needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = [
        proto_dir.join("tfplugin6.proto"),
        proto_dir.join("plugin.proto"),
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let descriptors = protox::compile(&files, [&proto_dir])?;
    tonic_prost_build::configure()
        // The client half is used only by this crate's own tests (a fake
        // Terraform that exercises the server over real TLS).
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
